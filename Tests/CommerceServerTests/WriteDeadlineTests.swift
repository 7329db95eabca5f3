import CommerceClient
import CommerceServerRuntime
import Foundation
import FrameRPC
import FrameRPCClient
import SocketTestSupport
import Testing

/// A deadline or a CANCEL that ends a commerce write leaves it either not started or committed,
/// never half done: retrying each abandoned call with its idempotency key finds it committed
/// (REPLAYED) or runs it now, and afterwards every key has taken effect exactly once.
@Suite("Deadlines and cancellation on writes")
struct WriteDeadlineTests {
    @Test(
        "ChargeBalance and PlaceOrder under deadlines mostly of 2 ms, 200 callers on one user's queue: each abandoned write was skipped or committed; the retries make every key count once"
    )
    func deadlines() async throws {
        try await withCommerceServer(connections: 4) { server, client in
            let user = try await client.createUser(name: "hurried").id
            let product = try await client.createProduct(name: "hurried", price: 10, initialStock: 10_000).id
            let (deadlined, committedBefore) = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        // Most calls get 2 ms, so their writes are abandoned; every 8th gets 1 s and is
                        // answered, so the retries below must also meet writes that did commit.
                        let options = CallOptions(timeout: .milliseconds(index % 8 == 0 ? 1_000 : 2))
                        do {
                            if index % 2 == 0 {
                                _ = try await client.chargeBalance(
                                    userID: user,
                                    amount: 1_000,
                                    idempotencyKey: "c\(index)",
                                    options: options
                                )
                            } else {
                                _ = try await client.placeOrder(
                                    userID: user,
                                    items: [(product, 1)],
                                    idempotencyKey: "o\(index)",
                                    options: options
                                )
                            }
                            return ("\(index)", true)
                        } catch let error as RPCError where error.code == .deadlineExceeded {
                            return ("\(index)", false)
                        } catch let error as RPCError where error.reason == "INSUFFICIENT_BALANCE" {
                            return ("\(index)", false)  // an order that came before enough charges: retried below
                        }
                    }
                }
                var results: [String: Bool] = [:]
                for try await (key, answered) in group { results[key] = answered }
                return (results.filter { !$0.value }.count, results.filter { $0.value }.count)
            }
            #expect(deadlined > 0, "some writes were abandoned by their deadline (\(committedBefore) answered in time)")
            // Every charge first, with its key and no deadline: REPLAYED if the abandoned call had committed.
            var replayed = 0
            for index in stride(from: 0, to: 200, by: 2) {
                if try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "c\(index)").replayed {
                    replayed += 1
                }
            }
            for index in stride(from: 1, to: 200, by: 2) {
                if try await client.placeOrder(userID: user, items: [(product, 1)], idempotencyKey: "o\(index)")
                    .replayed
                {
                    replayed += 1
                }
            }
            #expect(replayed > 0, "some abandoned or answered writes had committed")
            #expect(
                try await client.getBalance(userID: user) == 100 * 1_000 - 100 * 10,
                "100 charges and 100 orders, each once"
            )
            #expect(try await client.getProduct(productID: product).stock == 10_000 - 100)
            #expect(try await client.listOrders(userID: user, pageSize: 500).orders.count == 100)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }

    @Test(
        "callers cancelled mid-flight (CANCEL frames): each cancelled charge was skipped or committed; retried with its key, each counts once"
    )
    func cancellation() async throws {
        try await withCommerceServer(connections: 2) { server, client in
            let user = try await client.createUser(name: "fickle").id
            let tasks = (0..<200).map { index in
                Task { try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "k\(index)") }
            }
            try await Task.sleep(for: .milliseconds(1))
            for (index, task) in tasks.enumerated() where index % 2 == 1 { task.cancel() }
            var cancelled = 0
            for task in tasks {
                do { _ = try await task.value } catch let error as RPCError where error.code == .cancelled {
                    cancelled += 1
                }
            }
            #expect(cancelled > 0, "some calls were cancelled before their answer")
            for index in 0..<200 {
                _ = try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "k\(index)")
            }
            #expect(try await client.getBalance(userID: user) == 200_000)
            let entries = try await client.listBalanceHistory(userID: user, pageSize: 500).entries
            #expect(entries.count == 200, "one history entry per key")
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }
}

/// A process of its own (Python's sqlite3) holding the database's write lock until released.
final class WriteLockHolder: Sendable {
    private let process: Process
    private let input: Pipe

    init(path: String) throws {
        self.process = Process()
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys
            connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            connection.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.read()
            connection.execute("COMMIT")
            """, path,
        ]
        self.input = Pipe()
        let output = Pipe()
        self.process.standardInput = self.input
        self.process.standardOutput = output
        try self.process.run()
        let line = output.fileHandleForReading.availableData  // blocks until "locked"
        guard String(decoding: line, as: UTF8.self).hasPrefix("locked") else {
            throw TestSetupError(message: "the lock holder did not lock")
        }
    }

    func release() {
        try? self.input.fileHandleForWriting.close()
        self.process.waitUntilExit()
    }
}

/// Every write slot of a server started with `maxCallsInFlight = 4` taken (one is kept for reads):
/// another process holds the database's write lock and three charges of `user` wait for it.
struct HeldWriteSlots {
    private let lock: WriteLockHolder
    private let charges: [Task<Void, any Error>]

    init(server: CommerceServer, client: CommerceClient, user: Int64, keys: String) async throws {
        self.lock = try WriteLockHolder(path: try #require(server.sqlite).configuration.path)
        self.charges = (0..<3).map { index in
            Task { _ = try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "\(keys)-\(index)") }
        }
        let end = ContinuousClock.now + .seconds(20)
        while server.callsInFlight < 3 && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.callsInFlight == 3, "the three charges hold the write slots")
    }

    /// Lets the lock go and waits for the three charges to commit.
    func release() async throws {
        try await offThePool { self.lock.release() }
        for charge in self.charges { try await charge.value }
    }
}

@Suite("Writes of callers that hung up")
struct AbandonedWriteTests {
    @Test(
        "writes queued behind a locked database whose callers hung up are dropped, not run: only the batch already taken commits; counted; audit clean"
    )
    func droppedWhenCallersHangUp() async throws {
        try await withCommerceServer { server, client in
            var users: [Int64] = []
            for index in 0..<20 { users.append(try await client.createUser(name: "gone \(index)").id) }
            let holder = try WriteLockHolder(path: server.sqlite!.configuration.path)
            // Another client floods charges; the first batch waits for the lock, the rest queue behind it.
            let flooder = CommerceClient(
                configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 4),
                token: serviceToken
            )
            let fixedUsers = users
            let calls = (0..<2_000).map { index in
                Task {
                    try await flooder.chargeBalance(
                        userID: fixedUsers[index % 20],
                        amount: 1_000,
                        idempotencyKey: "gone-\(index)"
                    )
                }
            }
            try await waitUntil("the writes queue behind the lock") {
                server.store.groupCommitStatistics.queued >= 1_500
            }
            // The flooder hangs up: its calls are cancelled, their queued writes abandoned.
            for call in calls { call.cancel() }
            await flooder.close()
            try await waitUntil("the flooder's connections closed") { server.openConnections == 1 }
            holder.release()
            try await waitUntil("the queue drained") { server.store.groupCommitStatistics.queued == 0 }
            for call in calls { _ = await call.result }

            let statistics = server.store.groupCommitStatistics
            var stored: Int64 = 0
            for user in users { stored += try await client.getBalance(userID: user) / 1_000 }
            #expect(statistics.abandoned >= 1_500 - 256, "dropped, not run: \(statistics.abandoned)")
            #expect(
                stored <= 2_000 - Int64(statistics.abandoned) && stored <= 256 + 20,
                "only the batch taken before the hang-up ran: \(stored)"
            )
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }
}

@Suite("A bounded write queue")
struct WriteQueueBoundTests {
    @Test(
        "with the database locked and 100 writes queued, more are refused WRITE_QUEUE_FULL at once while reads still answer; the queued ones commit once it frees"
    )
    func boundedQueue() async throws {
        try await withCommerceServer(connections: 4, configure: { $0.store.maxQueuedWrites = 100 }) { server, setup in
            // One attempt per call: the client would otherwise retry a WRITE_QUEUE_FULL after its hint.
            let client = CommerceClient(
                configuration: ClientConfiguration(
                    host: "127.0.0.1",
                    port: server.port,
                    connections: 4,
                    maxAttempts: 1
                ),
                token: serviceToken
            )
            defer { Task { await client.close() } }
            _ = setup
            var users: [Int64] = []
            for index in 0..<10 { users.append(try await client.createUser(name: "queued \(index)").id) }
            let holder = try WriteLockHolder(path: server.sqlite!.configuration.path)
            let fixedUsers = users
            let calls = (0..<400).map { index in
                Task { () -> String in
                    do {
                        _ = try await client.chargeBalance(
                            userID: fixedUsers[index % 10],
                            amount: 1_000,
                            idempotencyKey: "q-\(index)"
                        )
                        return "OK"
                    } catch let error as RPCError {
                        return "\(error.code.name)/\(error.reason)"
                    }
                }
            }
            // Refusals come back at once, while the lock still holds every queued write.
            try await waitUntil("the queue full") { server.store.groupCommitStatistics.queued == 100 }
            #expect(try await client.getBalance(userID: users[0]) == 0, "reads answer while writes wait")
            holder.release()
            var outcomes: [String: Int] = [:]
            for call in calls { outcomes[try await call.value, default: 0] += 1 }
            let accepted = outcomes["OK"] ?? 0
            #expect(outcomes["RESOURCE_EXHAUSTED/WRITE_QUEUE_FULL", default: 0] > 0 && accepted >= 100, "\(outcomes)")
            #expect(accepted + outcomes["RESOURCE_EXHAUSTED/WRITE_QUEUE_FULL", default: 0] == 400, "\(outcomes)")
            var stored: Int64 = 0
            for user in users { stored += try await client.getBalance(userID: user) / 1_000 }
            #expect(stored == Int64(accepted), "every accepted charge stored, no refused one")
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }
}
