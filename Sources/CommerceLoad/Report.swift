import Foundation

/// What a run measured, as a table for people or JSON for scripts.
struct Report: Sendable {
    var label: String
    var scenario: String
    var concurrency: Int
    var connections: Int
    var openLoopRate: Double?
    var result: LoadResult

    func table() -> String {
        var lines = [
            "\(self.label): \(self.concurrency) callers on \(self.connections) connection(s), "
                + (self.openLoopRate.map { "open loop at \(Int($0))/s" } ?? "closed loop")
                + String(format: ", %.1f s measured", self.result.seconds),
            "method                        count     rate/s   errors      p50      p90      p99    p99.9      max   (µs)",
        ]
        for (method, stats) in self.result.methods.sorted(by: { $0.key < $1.key }) {
            let h = stats.latency
            let errors = stats.errors.values.reduce(0, +)
            lines.append(String(
                format: "%@ %8d %10.0f %8d %8llu %8llu %8llu %8llu %8llu",
                method.padding(toLength: 26, withPad: " ", startingAt: 0) as NSString, stats.count, Double(stats.count) / self.result.seconds, errors,
                h.valueAtPercentile(50), h.valueAtPercentile(90), h.valueAtPercentile(99), h.valueAtPercentile(99.9), h.max))
            for (reason, count) in stats.errors.sorted(by: { $0.value > $1.value }) {
                lines.append("    \(reason): \(count)")
            }
        }
        return lines.joined(separator: "\n")
    }

    func json(invariantsBroken: [String], checked: Bool) throws -> String {
        var methods: [String: Any] = [:]
        for (method, stats) in self.result.methods {
            let h = stats.latency
            methods[method] = [
                "count": stats.count,
                "rate_per_s": Double(stats.count) / self.result.seconds,
                "errors": stats.errors,
                "latency_us": [
                    "p50": h.valueAtPercentile(50), "p90": h.valueAtPercentile(90), "p99": h.valueAtPercentile(99),
                    "p99_9": h.valueAtPercentile(99.9), "max": h.max, "mean": h.mean,
                ],
            ]
        }
        let total = self.result.methods.values.reduce(0) { $0 + $1.count }
        let object: [String: Any] = [
            "label": self.label, "scenario": self.scenario, "concurrency": self.concurrency,
            "connections": self.connections, "open_loop_rate": self.openLoopRate ?? NSNull(),
            "seconds": self.result.seconds, "total": total, "rate_per_s": Double(total) / self.result.seconds,
            "methods": methods,
            "invariants": checked ? (invariantsBroken.isEmpty ? "hold" : "broken") : "not checked",
            "invariants_broken": invariantsBroken,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
