import CommerceClient
import CommercePostgres
import CommerceProto
import CommerceSQLite
import CommerceServerRuntime
import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import Synchronization
import Testing

/// A PostgreSQL server of the test's own (not the shared one: this test stops it), in a temporary folder.
struct OwnPostgres {
    let directory: String
    let port: Int
    var url: String { "postgres://postgres@127.0.0.1:\(self.port)/postgres" }
    var script: String { packageRoot.appendingPathComponent("scripts/postgres.sh").path }

    init() {
        self.directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("commerce-pg-\(UUID().uuidString)").path
        self.port = 40_000 + Int.random(in: 0..<9_000)
    }

    func start() async throws {
        let status = try await self.script(["start", self.directory, "\(self.port)"])
        guard status == 0 else {
            throw TestSetupError(message: "could not start PostgreSQL (exit \(status)), see \(self.directory)")
        }
    }

    func stop() async throws {
        _ = try await self.script(["stop", self.directory])
    }

    /// Runs the script with its output in a file, not a pipe: the server it starts would inherit
    /// the pipe's other end, and reading the pipe to its end would never end.
    private func script(_ arguments: [String]) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [self.script] + arguments
        let log = self.directory + ".script.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Polled, not `waitUntilExit()`: that waits on a run loop which, called from a task's
        // thread after the first time, did not see the script end.
        let deadline = ContinuousClock.now + .seconds(90)
        while process.isRunning, !Self.exited(process.processIdentifier), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.isRunning ? 0 : process.terminationStatus
    }

    /// Whether the process is gone or a zombie (exited, not yet reaped).
    private static func exited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    /// Stops the server (blocking: for a `defer`, also when the test failed) and removes its folder.
    func removeNow() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [self.script, "stop", self.directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        if (try? process.run()) != nil {
            for _ in 0..<600 where process.isRunning { usleep(50_000) }
        }
        try? FileManager.default.removeItem(atPath: self.directory)
        try? FileManager.default.removeItem(atPath: self.directory + ".script.log")
    }

}

@Suite(
    "PostgreSQL restarted under load",
    .serialized,
    .timeLimit(.minutes(5)),
    .enabled(if: StoreKind.postgresServer != nil)
)
struct PostgresRestartTests {
    @Test(
        "while PostgreSQL is down calls fail UNAVAILABLE / STORAGE_UNAVAILABLE; the server reconnects by itself; no acknowledged order is lost; audit clean"
    )
    func restartUnderLoad() async throws {
        let postgres = OwnPostgres()
        defer { postgres.removeNow() }
        try await postgres.start()
        var configuration = CommerceServerConfiguration(
            rpc: ServerConfiguration(host: "127.0.0.1", port: 0),
            store: StoreConfiguration(path: "unused"),
            auth: testAuth,
            adminToken: adminToken
        )
        configuration.postgres = PostgresStoreConfiguration(url: postgres.url)
        let server = try await CommerceServer.start(configuration)
        let client = CommerceClient(
            configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 4),
            token: serviceToken,
            adminToken: adminToken
        )
        let product = try await client.createProduct(name: "restocked often", price: 100, initialStock: 1_000_000)
        var buyers: [Int64] = []
        for index in 0..<8 { buyers.append(try await fundedUser(client, 1_000_000, name: "buyer \(index)")) }
        let options = CallOptions(timeout: .seconds(10), idempotent: true)

        /// Orders from every buyer at once; the acknowledged ones, and the refusals by code and reason.
        func burst(_ round: Int) async -> (orders: [Int64], refusals: [String]) {
            await withTaskGroup(of: (Int64?, String?).self) { group in
                for buyer in buyers {
                    group.addTask {
                        do {
                            let receipt = try await client.placeOrder(
                                userID: buyer,
                                items: [(product.id, 1)],
                                idempotencyKey: "\(buyer)-\(round)",
                                options: options
                            )
                            return (receipt.order.id, nil)
                        } catch let error as RPCError {
                            return (nil, "\(error.code.name) \(error.reason)")
                        } catch {
                            return (nil, "\(error)")
                        }
                    }
                }
                var result: (orders: [Int64], refusals: [String]) = ([], [])
                for await (order, refusal) in group {
                    if let order { result.orders.append(order) }
                    if let refusal { result.refusals.append(refusal) }
                }
                return result
            }
        }

        var acknowledged: [Int64] = []
        for round in 0..<10 {
            let (orders, refusals) = await burst(round)
            #expect(refusals.isEmpty, "\(refusals)")
            acknowledged += orders
        }
        // Down: every call is refused, retryably and by name, within the connection wait (2 s), not its deadline.
        try await postgres.stop()
        var refusals: [String] = []
        for round in 10..<13 {
            let (orders, refused) = await burst(round)
            acknowledged += orders
            refusals += refused
        }
        #expect(!refusals.isEmpty)
        #expect(Set(refusals) == ["UNAVAILABLE STORAGE_UNAVAILABLE"], "\(refusals)")
        await expectRPCError(.unavailable, "STORAGE_UNAVAILABLE") { _ = try await client.getBalance(userID: buyers[0]) }
        // Back: the server reconnects by itself.
        try await postgres.start()
        var round = 13
        let deadline = ContinuousClock.now + .seconds(60)
        var servedAgain = false
        while !servedAgain, ContinuousClock.now < deadline {
            let (orders, _) = await burst(round)
            acknowledged += orders
            servedAgain = orders.count == buyers.count
            round += 1
            if !servedAgain { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(servedAgain, "every buyer served again after the restart")
        // Every acknowledged order is there, paid; the ledgers add up.
        for order in acknowledged {
            #expect(
                try await client.getOrder(orderID: order, options: CallOptions(timeout: .seconds(10))).status == .paid
            )
        }
        #expect(try await server.store.checkInvariants().isEmpty)
        await client.close()
        try await server.shutdownGracefully()
    }
}
