import Foundation
import Testing

/// The load generator reports what happened, not what was asked: the real `commerce-load` binary
/// against a real `commerce-server` process, which the tests refuse, kill and freeze.
@Suite("The load generator's report", .serialized)
struct LoadGeneratorTests {
    /// Runs commerce-load with `arguments` against `port`; returns its exit status and JSON report.
    static func load(port: Int, _ arguments: [String]) async throws -> (status: Int32, report: [String: Any]) {
        let binary = packageRoot.appendingPathComponent(".build/debug/commerce-load").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestSetupError(message: "no \(binary): run `swift build` before `swift test`")
        }
        let (status, output) = try await Task.detached {
            try await run(
                binary,
                ["--port", "\(port)", "--token", serviceToken, "--admin-token", adminToken, "--json", "--quiet"]
                    + arguments
            )
        }.value
        guard let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw TestSetupError(message: "commerce-load printed no report (exit \(status)): \(output)")
        }
        return (status, report)
    }

    static func int(_ report: [String: Any], _ key: String) -> Int { (report[key] as? NSNumber)?.intValue ?? -1 }
    static func double(_ report: [String: Any], _ key: String) -> Double {
        (report[key] as? NSNumber)?.doubleValue ?? -1
    }

    @Test("the headline rate counts successful calls: 10 units for 60 buyers is 10 ok and 50 failed, not 60 orders")
    func headlineCountsSuccesses() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        let (status, report) = try await Self.load(
            port: server.rpcPort,
            [
                "--scenario", "hot-product", "--users", "60", "--stock", "10", "--requests", "60", "--concurrency", "8",
                "--warmup", "0",
            ]
        )
        #expect(await server.terminate() == 0)
        #expect(status == 0)
        #expect(Self.int(report, "ok") == 10 && Self.int(report, "failed") == 50 && Self.int(report, "unknown") == 0)
        let seconds = Self.double(report, "seconds")
        #expect(
            abs(Self.double(report, "rate_per_s") - 10 / seconds) < 0.01,
            "rate_per_s is the successful calls' rate"
        )
        let placeOrder = try #require((report["methods"] as? [String: Any])?["PlaceOrder"] as? [String: Any])
        #expect((placeOrder["errors"] as? [String: Int]) == ["FAILED_PRECONDITION/OUT_OF_STOCK": 50])
        #expect(report["invariants"] as? String == "hold")
    }

    @Test("a long order run on small balances tops them up and keeps measuring orders")
    func ordersTopUpBalances() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        // 2 buyers with 1,000,000 each buy 1,000 units at 1,000: refused after 2,000 orders without top-ups.
        let (status, report) = try await Self.load(
            port: server.rpcPort,
            [
                "--scenario", "order", "--users", "2", "--requests", "3000", "--concurrency", "8", "--connections", "2",
                "--warmup", "0",
            ]
        )
        #expect(await server.terminate() == 0)
        #expect(status == 0)
        #expect(Self.int(report, "top_ups") >= 1)
        #expect(Self.int(report, "ok") >= 2_980, "a few refusals per buyer while its top-up is in flight: \(report)")
        #expect(report["invariants"] as? String == "hold")
    }

    @Test(
        "a run cut off with its writes still queued on the server (--drain 0) checks the invariants once they have landed: they hold"
    )
    func invariantsAfterAbandonedWrites() async throws {
        let database = temporaryDatabasePath()
        // Every commit fsyncs: a longer tail of orders still landing after the run stops.
        let server = try await ServerProcess.launch(database: database, extra: ["--synchronous", "full"])
        // 4,000 callers on 500 users: at the end a backlog of orders is still queued, unanswered,
        // and lands while the invariants are read user by user.
        let (status, report) = try await Self.load(
            port: server.rpcPort,
            [
                "--scenario", "order", "--users", "500", "--duration", "2", "--warmup", "0", "--drain", "0",
                "--concurrency", "4000", "--connections", "20",
            ]
        )
        #expect(await server.terminate() == 0)
        #expect(Self.int(report, "unknown") > 0, "calls were still in flight when the run stopped: \(report)")
        #expect(status == 0)
        #expect(report["invariants"] as? String == "hold", "\(report["invariants_broken"] ?? "")")
        let audit = try await run(try serverBinary(), ["audit", "--db", database])
        #expect(audit.status == 0, "\(audit.output)")
    }

    @Test("a server killed mid-run: the report still comes, with calls acknowledged, failed and unknown; exit 4")
    func serverDiesMidRun() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        async let outcome = Self.load(
            port: server.rpcPort,
            [
                "--scenario", "order", "--users", "20", "--duration", "3", "--concurrency", "8", "--warmup", "0",
            ]
        )
        try await Task.sleep(for: .seconds(1.5))
        await server.kill()
        let (status, report) = try await outcome
        #expect(status == 4, "the invariants could not be checked")
        #expect(Self.int(report, "ok") > 0)
        #expect(Self.int(report, "failed") + Self.int(report, "unknown") > 0)
        #expect((report["invariants"] as? String)?.hasPrefix("not checked:") == true)
    }

    @Test("a frozen server: the run ends at --duration plus the drain, its calls in flight counted unknown")
    func frozenServerEndsOnTime() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        let started = ContinuousClock.now
        async let outcome = Self.load(
            port: server.rpcPort,
            [
                "--scenario", "get-balance", "--duration", "4", "--drain", "1", "--concurrency", "4", "--warmup", "0",
            ]
        )
        try await Task.sleep(for: .seconds(2))
        _ = Foundation.kill(server.pid, SIGSTOP)
        let (status, report) = try await outcome
        let took = ContinuousClock.now - started
        _ = Foundation.kill(server.pid, SIGCONT)
        #expect(await server.terminate() == 0)
        #expect(status == 0)
        #expect(took < .seconds(15), "set-up, 4 s measured, 1 s drain: took \(took)")
        #expect(report["drain_expired"] as? Bool == true)
        #expect(Self.int(report, "unknown") == 4, "the 4 callers' calls in flight when the server froze")
        #expect(Self.int(report, "ok") > 0)
    }

    @Test(
        "an open loop faster than the server: planned against started, late and not started calls, and it stops on time"
    )
    func openLoopReportsShortfall() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        let started = ContinuousClock.now
        let (status, report) = try await Self.load(
            port: server.rpcPort,
            [
                "--scenario", "get-balance", "--rate", "1000000", "--duration", "2", "--concurrency", "16", "--warmup",
                "0",
            ]
        )
        let took = ContinuousClock.now - started
        #expect(await server.terminate() == 0)
        #expect(status == 0)
        let loop = try #require(report["open_loop"] as? [String: Any])
        #expect(Self.int(loop, "planned") == 2_000_000)
        #expect(Self.int(loop, "started") < 1_000_000, "a debug server on 2 cores answers far fewer")
        #expect(Self.int(loop, "not_started") == 2_000_000 - Self.int(loop, "started"))
        #expect(Self.int(loop, "started_late") > 0)
        #expect(took < .seconds(20), "the run stops at its duration, not when the schedule is caught up: took \(took)")
    }
}
