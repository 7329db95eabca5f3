import ArgumentParser
import CommerceClient
import FrameRPC
import FrameRPCClient
import Foundation
import NIOPosix

@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commerce-load",
        abstract: "Load generator for the commerce service, built on CommerceClient.",
        discussion: """
            Closed loop by default: each of --concurrency callers sends its next call when the last one is answered.
            With --rate the load is open: calls start on a fixed schedule whatever the latency, and latency is
            measured from the scheduled start (no coordinated omission).

            Scenarios:
              get-balance   GetBalance of a few users (the trivial RPC of the benchmarks)
              read          GetProduct / GetBalance mix, 80/20
              charge        ChargeBalance of many users, every 10th call reusing an idempotency key
            """
    )

    @Option(help: "Scenario: get-balance, read, charge.") var scenario: Scenario = .getBalance
    @Option(help: "Server address.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 7070
    @Option(help: "Connections in the client pool.") var connections = 1
    @Option(help: "Concurrent callers.") var concurrency = 1
    @Option(help: "Seconds of measured load.") var duration: Double = 10
    @Option(help: "Seconds of unmeasured warm-up before it.") var warmup: Double = 2
    @Option(help: "Stop after this many measured calls instead of --duration.") var requests: Int?
    @Option(help: "Open loop: total calls per second (default: closed loop).") var rate: Double?
    @Option(help: "Users to create in set-up.") var users = 100
    @Option(help: "Admin token, for scenarios that create products.") var adminToken: String?
    @Option(help: "Label for this run in the JSON report.") var label: String?
    @Flag(help: "Print the report as JSON on stdout.") var json = false
    @Flag(help: "No live progress line.") var quiet = false

    func run() async throws {
        // One event loop for every connection, and the callers' tasks run on it: like
        // redis-benchmark's single event loop, a call costs no thread hand-off on this side.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let client = CommerceClient(
            configuration: ClientConfiguration(host: self.host, port: self.port, connections: self.connections),
            adminToken: self.adminToken, group: loop)
        let fixture = try await Fixture.prepare(client: client, scenario: self.scenario, users: self.users)
        let workload = self.scenario.workload(client: client, fixture: fixture)

        let runner = LoadRunner(
            executor: EventLoopTaskExecutor(loop),
            concurrency: self.concurrency, rate: self.rate, warmup: self.warmup, duration: self.duration,
            requests: self.requests, progress: !self.quiet && !self.json)
        let result = try await runner.run(workload)
        await client.close()

        let report = Report(
            label: self.label ?? "\(self.scenario.rawValue) c=\(self.concurrency)", scenario: self.scenario.rawValue,
            concurrency: self.concurrency, connections: self.connections, openLoopRate: self.rate, result: result)
        if self.json {
            print(try report.json())
        } else {
            print(report.table())
        }
    }
}

enum Scenario: String, ExpressibleByArgument, CaseIterable, Sendable {
    case getBalance = "get-balance"
    case read
    case charge
}
