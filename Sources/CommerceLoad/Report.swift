import Foundation

/// What a run measured, as a table for people or JSON for scripts.
struct Report: Sendable {
    var label: String
    var scenario: String
    var concurrency: Int
    var connections: Int
    var openLoopRate: Double?
    var result: LoadResult
    /// Balances topped up during the run (see ``TopUps``).
    var topUps = 0

    var ok: Int { self.result.methods.values.reduce(0) { $0 + $1.ok } }
    var failed: Int { self.result.methods.values.reduce(0) { $0 + $1.failed } }
    var unknown: Int { self.result.methods.values.reduce(0) { $0 + $1.unknown } }

    /// The headline: successful calls per second, with the others beside it.
    var summary: String {
        var text = String(format: "%.0f ok/s (%d ok, %d failed, %d unknown", Double(self.ok) / self.result.seconds, self.ok, self.failed, self.unknown)
        if let schedule = self.result.schedule {
            let started = self.result.methods.values.reduce(0) { $0 + $1.count }
            text += String(format: "; open loop: %.0f/s planned, %.0f/s started, %d started late, %d not started",
                           schedule.targetPerSecond, Double(started) / self.result.seconds, schedule.late, max(0, schedule.planned - started))
        }
        if self.topUps > 0 { text += "; \(self.topUps) balances topped up" }
        if self.result.drainExpired { text += "; calls still unanswered after the drain were cancelled (unknown)" }
        return text + ")"
    }

    func table() -> String {
        var lines = [
            "\(self.label): \(self.concurrency) callers on \(self.connections) connection(s), "
                + (self.openLoopRate.map { "open loop at \(Int($0))/s" } ?? "closed loop")
                + String(format: ", %.1f s measured", self.result.seconds),
            self.summary,
            "method                        count       ok/s   errors      p50      p90      p99    p99.9      max   (µs)",
        ]
        for (method, stats) in self.result.methods.sorted(by: { $0.key < $1.key }) {
            let h = stats.latency
            let errors = stats.errors.values.reduce(0, +)
            lines.append(String(
                format: "%@ %8d %10.0f %8d %8llu %8llu %8llu %8llu %8llu",
                method.padding(toLength: 26, withPad: " ", startingAt: 0) as NSString, stats.count, Double(stats.ok) / self.result.seconds, errors,
                h.valueAtPercentile(50), h.valueAtPercentile(90), h.valueAtPercentile(99), h.valueAtPercentile(99.9), h.max))
            for (reason, count) in stats.errors.sorted(by: { $0.value > $1.value }) {
                lines.append("    \(reason): \(count)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// - Parameter invariants: "hold", "broken", "not checked", or why they could not be checked.
    func json(invariantsBroken: [String], invariants: String) throws -> String {
        var methods: [String: Any] = [:]
        for (method, stats) in self.result.methods {
            let h = stats.latency
            methods[method] = [
                "count": stats.count, "ok": stats.ok, "failed": stats.failed, "unknown": stats.unknown,
                "rate_per_s": Double(stats.ok) / self.result.seconds,
                "errors": stats.errors,
                "latency_us": [
                    "p50": h.valueAtPercentile(50), "p90": h.valueAtPercentile(90), "p99": h.valueAtPercentile(99),
                    "p99_9": h.valueAtPercentile(99.9), "max": h.max, "mean": h.mean,
                ],
            ]
        }
        let total = self.result.methods.values.reduce(0) { $0 + $1.count }
        var object: [String: Any] = [
            "label": self.label, "scenario": self.scenario, "concurrency": self.concurrency,
            "connections": self.connections, "open_loop_rate": self.openLoopRate ?? NSNull(),
            "seconds": self.result.seconds, "total": total,
            "ok": self.ok, "failed": self.failed, "unknown": self.unknown,
            "rate_per_s": Double(self.ok) / self.result.seconds, "failed_per_s": Double(self.failed + self.unknown) / self.result.seconds,
            "top_ups": self.topUps, "drain_expired": self.result.drainExpired,
            "methods": methods,
            "invariants": invariants,
            "invariants_broken": invariantsBroken,
        ]
        if let schedule = self.result.schedule {
            object["open_loop"] = [
                "planned_per_s": schedule.targetPerSecond, "planned": schedule.planned, "started": total,
                "started_per_s": Double(total) / self.result.seconds, "started_late": schedule.late,
                "not_started": max(0, schedule.planned - total),
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
