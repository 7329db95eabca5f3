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
        var text = String(
            format: "%.0f ok/s (%d ok, %d failed, %d unknown",
            Double(self.ok) / self.result.seconds,
            self.ok,
            self.failed,
            self.unknown
        )
        if let schedule = self.result.schedule {
            let started = self.result.methods.values.reduce(0) { $0 + $1.count }
            text += String(
                format: "; open loop: %.0f/s planned, %.0f/s started, %d started late, %d not started",
                schedule.targetPerSecond,
                Double(started) / self.result.seconds,
                schedule.late,
                max(0, schedule.planned - started)
            )
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
            lines.append(
                String(
                    format: "%@ %8d %10.0f %8d %8llu %8llu %8llu %8llu %8llu",
                    method.padding(toLength: 26, withPad: " ", startingAt: 0) as NSString,
                    stats.count,
                    Double(stats.ok) / self.result.seconds,
                    errors,
                    h.valueAtPercentile(50),
                    h.valueAtPercentile(90),
                    h.valueAtPercentile(99),
                    h.valueAtPercentile(99.9),
                    h.max
                )
            )
            for (reason, count) in stats.errors.sorted(by: { $0.value > $1.value }) {
                lines.append("    \(reason): \(count)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// - Parameter invariants: "hold", "broken", "not checked", or why they could not be checked.
    func json(invariantsBroken: [String], invariants: String) throws -> String {
        let seconds = self.result.seconds
        let total = self.result.methods.values.reduce(0) { $0 + $1.count }
        let document = ReportDocument(
            label: self.label,
            scenario: self.scenario,
            concurrency: self.concurrency,
            connections: self.connections,
            openLoopRate: self.openLoopRate,
            seconds: seconds,
            total: total,
            ok: self.ok,
            failed: self.failed,
            unknown: self.unknown,
            ratePerSecond: Double(self.ok) / seconds,
            failedPerSecond: Double(self.failed + self.unknown) / seconds,
            topUps: self.topUps,
            drainExpired: self.result.drainExpired,
            methods: self.result.methods.mapValues { stats in
                let h = stats.latency
                return ReportDocument.Method(
                    count: stats.count,
                    ok: stats.ok,
                    failed: stats.failed,
                    unknown: stats.unknown,
                    ratePerSecond: Double(stats.ok) / seconds,
                    errors: stats.errors,
                    latency: .init(
                        p50: h.valueAtPercentile(50),
                        p90: h.valueAtPercentile(90),
                        p99: h.valueAtPercentile(99),
                        p99_9: h.valueAtPercentile(99.9),
                        max: h.max,
                        mean: h.mean
                    )
                )
            },
            invariants: invariants,
            invariantsBroken: invariantsBroken,
            openLoop: self.result.schedule.map { schedule in
                .init(
                    plannedPerSecond: schedule.targetPerSecond,
                    planned: schedule.planned,
                    started: total,
                    startedPerSecond: Double(total) / seconds,
                    startedLate: schedule.late,
                    notStarted: max(0, schedule.planned - total)
                )
            }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }
}

/// The JSON report (`--json`): what the benchmark scripts read.
struct ReportDocument: Encodable {
    struct Latency: Encodable {
        var p50, p90, p99, p99_9, max: UInt64
        var mean: Double
    }

    struct Method: Encodable {
        var count, ok, failed, unknown: Int
        var ratePerSecond: Double
        var errors: [String: Int]
        var latency: Latency

        enum CodingKeys: String, CodingKey {
            case count, ok, failed, unknown, errors
            case ratePerSecond = "rate_per_s"
            case latency = "latency_us"
        }
    }

    struct OpenLoop: Encodable {
        var plannedPerSecond: Double
        var planned, started: Int
        var startedPerSecond: Double
        var startedLate, notStarted: Int

        enum CodingKeys: String, CodingKey {
            case planned, started
            case plannedPerSecond = "planned_per_s"
            case startedPerSecond = "started_per_s"
            case startedLate = "started_late"
            case notStarted = "not_started"
        }
    }

    var label, scenario: String
    var concurrency, connections: Int
    /// `null` for a closed loop.
    var openLoopRate: Double?
    var seconds: Double
    var total, ok, failed, unknown: Int
    var ratePerSecond, failedPerSecond: Double
    var topUps: Int
    var drainExpired: Bool
    var methods: [String: Method]
    var invariants: String
    var invariantsBroken: [String]
    /// Only for an open loop.
    var openLoop: OpenLoop?

    enum CodingKeys: String, CodingKey {
        case label, scenario, concurrency, connections, seconds, total, ok, failed, unknown, methods, invariants
        case openLoopRate = "open_loop_rate"
        case ratePerSecond = "rate_per_s"
        case failedPerSecond = "failed_per_s"
        case topUps = "top_ups"
        case drainExpired = "drain_expired"
        case invariantsBroken = "invariants_broken"
        case openLoop = "open_loop"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.label, forKey: .label)
        try container.encode(self.scenario, forKey: .scenario)
        try container.encode(self.concurrency, forKey: .concurrency)
        try container.encode(self.connections, forKey: .connections)
        try container.encode(self.openLoopRate, forKey: .openLoopRate)  // null when closed: scripts read the key
        try container.encode(self.seconds, forKey: .seconds)
        try container.encode(self.total, forKey: .total)
        try container.encode(self.ok, forKey: .ok)
        try container.encode(self.failed, forKey: .failed)
        try container.encode(self.unknown, forKey: .unknown)
        try container.encode(self.ratePerSecond, forKey: .ratePerSecond)
        try container.encode(self.failedPerSecond, forKey: .failedPerSecond)
        try container.encode(self.topUps, forKey: .topUps)
        try container.encode(self.drainExpired, forKey: .drainExpired)
        try container.encode(self.methods, forKey: .methods)
        try container.encode(self.invariants, forKey: .invariants)
        try container.encode(self.invariantsBroken, forKey: .invariantsBroken)
        try container.encodeIfPresent(self.openLoop, forKey: .openLoop)
    }
}
