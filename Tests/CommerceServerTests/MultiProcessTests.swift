import CommerceClient
import CommerceDomain
import CommerceSQLite
import Foundation
import FrameRPC
import FrameRPCClient
import Synchronization
import Testing

@Suite("Two server processes on one SQLite file", .timeLimit(.minutes(5)))
struct MultiProcessTests {
    @Test(
        "racing charges through two commerce-server processes stay exact: a key repeated across both charges once; audit clean",
        arguments: StoreKind.available
    )
    func twoProcesses(store: StoreKind) async throws {
        try await withTwoServerProcesses(store: store) { a, b, first in
            let user = try await a.createUser(name: "shared")
            #expect(
                try await b.getUser(userID: user.id).name == "shared",
                "the second process sees the first one's user"
            )
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<600 {
                    let client = index % 2 == 0 ? a : b
                    group.addTask {
                        do {
                            // 5 keys repeat across both processes: they must charge once each.
                            let key = index < 100 ? "dup-\(index % 5)" : "k-\(index)"
                            let receipt = try await client.chargeBalance(
                                userID: user.id,
                                amount: 1_000,
                                idempotencyKey: key
                            )
                            return "\(receipt.replayed ? "REPLAYED" : "OK") \(key) \(receipt.entryID)"
                        } catch let error as RPCError {
                            return error.reason
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            // 5 distinct duplicate keys + 500 unique keys = 505 charges of 1,000: well under the
            // 1,000,000 ceiling, so a double charge shows in the balance instead of being refused.
            let parsed = outcomes.map { $0.split(separator: " ").map(String.init) }
            #expect(
                parsed.allSatisfy { $0.count == 3 },
                "every call succeeded: \(outcomes.filter { !$0.hasPrefix("OK") && !$0.hasPrefix("REPLAYED") })"
            )
            #expect(parsed.filter { $0.first == "OK" }.count == 505)
            #expect(parsed.filter { $0.first == "REPLAYED" }.count == 95)
            let entriesByKey = Dictionary(grouping: parsed.filter { $0.count == 3 }, by: { $0[1] }).mapValues {
                Set($0.map { $0[2] })
            }
            #expect(
                entriesByKey.count == 505 && entriesByKey.values.allSatisfy { $0.count == 1 },
                "every copy of a key answers with the one entry"
            )
            #expect(try await a.getBalance(userID: user.id) == 505_000)
            #expect(try await b.getBalance(userID: user.id) == 505_000)
            let firstPage = try await a.listBalanceHistory(userID: user.id, pageSize: 500)
            let secondPage = try await a.listBalanceHistory(
                userID: user.id,
                pageSize: 500,
                pageToken: firstPage.nextPageToken
            )
            #expect(firstPage.entries.count + secondPage.entries.count == 505 && secondPage.nextPageToken.isEmpty)

            // Prometheus text from one of the processes counts its calls.
            let metrics = try await httpGet(port: first.metricsPort, path: "/metrics")
            #expect(metrics.contains("rpc_server_calls_total{method=\"/commerce.v1.BalanceService/ChargeBalance\""))
        }
    }

    @Test(
        "two commerce-server processes running the order race on one file: exactly the stock is sold",
        arguments: StoreKind.available
    )
    func twoProcessOrderRace(store: StoreKind) async throws {
        try await withTwoServerProcesses(store: store) { a, b, _ in
            let product = try await a.createProduct(name: "limited", price: 2_000, initialStock: 100)
            var funded: [Int64] = []
            for index in 0..<100 {
                funded.append(try await fundedUser(index % 2 == 0 ? a : b, 20_000, name: "p\(index)"))
            }
            let users = funded
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<600 {
                    let client = index % 2 == 0 ? a : b
                    group.addTask {
                        do {
                            _ = try await client.placeOrder(
                                userID: users[index % users.count],
                                items: [(product.id, 1)]
                            )
                            return "OK"
                        } catch let error as RPCError { return error.reason }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(tally(outcomes) == ["OK": 100, "OUT_OF_STOCK": 500])
            #expect(try await b.getProduct(productID: product.id).stock == 0)
            var total: Int64 = 0
            for user in users { total += try await a.getBalance(userID: user) }
            #expect(total == 100 * 20_000 - 100 * 2_000)
        }
    }

    @Test(
        "SIGTERM on a server process with calls in flight: some answered during the drain, the rest refused; every answered charge stored, nothing unanswered stored; exit 0"
    )
    func drainUnderLoad() async throws {
        let database = temporaryDatabasePath()
        #expect(try await run(try serverBinary(), ["migrate", "--db", database]).status == 0)
        let server = try await ServerProcess.launch(database: database)
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 4, maxAttempts: 1),
            token: serviceToken
        )
        let workers = 64
        let callsPerWorker = 300
        var created: [Int64] = []
        for index in 0..<workers { created.append(try await client.createUser(name: "drain \(index)").id) }
        let users = created
        let tally = Tally()
        let signalled = Task {
            // SIGTERM once 200 charges are answered: the other callers have calls in flight.
            while tally.answered < 200 { try await Task.sleep(for: .milliseconds(2)) }
            tally.markSignalled()
            return await server.terminate()
        }
        let perUser = try await withThrowingTaskGroup(of: (Int64, Int, [String]).self) { group in
            for user in users {
                group.addTask {
                    var answered = 0
                    var refusals: [String] = []
                    for _ in 0..<callsPerWorker {
                        do {
                            _ = try await client.chargeBalance(userID: user, amount: 1_000)
                            answered += 1
                            tally.recordAnswer()
                        } catch let error as RPCError {
                            refusals.append("\(error.code.name)/\(error.reason)")
                        }
                    }
                    return (user, answered, refusals)
                }
            }
            return try await group.reduce(into: [(Int64, Int, [String])]()) { $0.append($1) }
        }
        #expect(try await signalled.value == 0, "a drained server exits 0")
        let answered = perUser.reduce(0) { $0 + $1.1 }
        #expect(tally.answeredAfterSignal > 0, "calls in flight at SIGTERM were answered during the drain")
        #expect(answered < workers * callsPerWorker, "the shutdown cut the load short")
        let refusals = Set(perUser.flatMap(\.2))
        #expect(
            refusals.allSatisfy { $0.hasPrefix("UNAVAILABLE/") },
            "a refused call is UNAVAILABLE, never lost or INTERNAL: \(refusals)"
        )
        await client.close()

        // The file, read after the process is gone: each user's balance is exactly what was answered.
        let store = try SQLiteStore(StoreConfiguration(path: database, synchronous: .normal))
        for (user, count, _) in perUser {
            #expect(try await store.balance(of: UserID(user)) == Int64(count) * 1_000, "user \(user)")
        }
        #expect(try store.audit().isEmpty)
    }

    @Test(
        "two databases in one folder each get their own default events file, named after the database; `--metrics-port -1` (space form) disables metrics"
    )
    func eventsFilePerDatabase() async throws {
        let first = temporaryDatabasePath()
        let folder = (first as NSString).deletingLastPathComponent
        let second = folder + "/other.sqlite"
        for database in [first, second] {
            #expect(try await run(try serverBinary(), ["migrate", "--db", database]).status == 0)
        }
        let a = try await ServerProcess.launch(database: first, metricsPort: "-1")
        let b = try await ServerProcess.launch(database: second, metricsPort: "-1")
        #expect(a.metricsPort == -1 && b.metricsPort == -1, "no metrics listener")
        for (server, orders) in [(a, 1), (b, 2)] {
            let client = CommerceClient(
                configuration: ClientConfiguration(port: server.rpcPort, connections: 1),
                token: serviceToken,
                adminToken: adminToken
            )
            let buyer = try await fundedUser(client, 10_000)
            let product = try await client.createProduct(name: "p", price: 1_000, initialStock: 5)
            for _ in 0..<orders { _ = try await client.placeOrder(userID: buyer, items: [(product.id, 1)]) }
            await client.close()
        }
        func lines(_ name: String) -> Int {
            ((try? String(contentsOfFile: folder + "/" + name, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while (lines("commerce.events.jsonl") != 1 || lines("other.events.jsonl") != 2)
            && ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(lines("commerce.events.jsonl") == 1 && lines("other.events.jsonl") == 2)
        #expect(!FileManager.default.fileExists(atPath: folder + "/events.jsonl"), "no shared file")
        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)
    }
}

/// Answers counted as they arrive, and how many arrived after the signal.
final class Tally: Sendable {
    private let state = Mutex<(answered: Int, signalledAt: Int?)>((0, nil))
    var answered: Int { self.state.withLock { $0.answered } }
    var answeredAfterSignal: Int { self.state.withLock { state in state.signalledAt.map { state.answered - $0 } ?? 0 } }
    func recordAnswer() { self.state.withLock { $0.answered += 1 } }
    func markSignalled() { self.state.withLock { $0.signalledAt = $0.answered } }
}
