import CommerceClient
import CommerceServerRuntime
import Foundation
import FrameRPC
import FrameRPCClient
import NIOPosix
import Testing

@Suite("Exactness under concurrency", .serialized, .timeLimit(.minutes(5)))
struct ConcurrencyTests {
    @Test(
        "1,100 concurrent charges of 1,000 from 20 connections: exactly 1,000 fit under the 1,000,000 ceiling",
        arguments: StoreKind.available
    )
    func concurrentCharges(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, _ in
            let setup = CommerceClient(port: server.port, token: serviceToken)
            let user = try await setup.createUser(name: "crowd target")
            let clients = (0..<20).map { _ in CommerceClient(port: server.port, token: serviceToken) }
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<1_100 {
                    let client = clients[index % clients.count]
                    group.addTask {
                        do {
                            _ = try await client.chargeBalance(userID: user.id, amount: 1_000)
                            return "OK"
                        } catch let error as RPCError {
                            return error.reason
                        }
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(outcomes == ["OK": 1_000, "BALANCE_LIMIT_EXCEEDED": 100])
            #expect(try await setup.getBalance(userID: user.id) == 1_000_000)
            var entries = 0
            var sum: Int64 = 0
            var token = ""
            repeat {
                let page = try await setup.listBalanceHistory(userID: user.id, pageSize: 500, pageToken: token)
                entries += page.entries.count
                sum += page.entries.reduce(0) { $0 + $1.amount }
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(entries == 1_000 && sum == 1_000_000)
            #expect(try await server.store.checkInvariants().isEmpty)
            for client in clients { await client.close() }
            await setup.close()
        }
    }

    @Test(
        "a server on one event loop of its own (the CLI's default on 2 cores): 64 callers on 8 connections charge exactly, and its thread stops with it"
    )
    func ownEventLoop() async throws {
        func ownLoopThreads() -> Int {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return tasks.filter {
                ((try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) ?? "").hasPrefix(
                    "NIO-ELT-"
                )
            }.count
        }
        // NIO's shared group (the client's) starts its threads on first use: start them first, so
        // only the server's own loop is counted, whichever test ran before this one.
        _ = MultiThreadedEventLoopGroup.singleton.next()
        let before = ownLoopThreads()
        try await withCommerceServer(connections: 8, configure: { $0.eventLoopThreads = 1 }) { server, client in
            #expect(ownLoopThreads() == before + 1)
            var created: [Int64] = []
            for index in 0..<16 { created.append(try await client.createUser(name: "buyer \(index)").id) }
            let users = created
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<64 {
                    group.addTask {
                        for call in 0..<20 {
                            let user = users[(caller + call) % users.count]
                            _ = try await client.chargeBalance(userID: user, amount: 1_000)
                            _ = try await client.getBalance(userID: user)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for user in users { #expect(try await client.getBalance(userID: user) == 64 * 20 / 16 * 1_000) }
            #expect(try await server.store.checkInvariants().isEmpty)
        }
        #expect(ownLoopThreads() == before)
    }

    @Test(
        "racing duplicates of 40 idempotency keys (25 copies each, 10 connections) charge each key exactly once",
        arguments: StoreKind.available
    )
    func racingIdempotencyKeys(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, _ in
            let setup = CommerceClient(port: server.port, token: serviceToken)
            let user = try await setup.createUser(name: "double clicker")
            let clients = (0..<10).map { _ in CommerceClient(port: server.port, token: serviceToken) }
            let receipts = try await withThrowingTaskGroup(of: (String, Int64, Bool).self) { group in
                for copy in 0..<25 {
                    for key in 0..<40 {
                        let client = clients[(copy + key) % clients.count]
                        group.addTask {
                            let receipt = try await client.chargeBalance(
                                userID: user.id,
                                amount: 5_000,
                                idempotencyKey: "order-\(key)"
                            )
                            return ("order-\(key)", receipt.entryID, receipt.replayed)
                        }
                    }
                }
                return try await group.reduce(into: [(String, Int64, Bool)]()) { $0.append($1) }
            }
            #expect(receipts.count == 1_000)
            #expect(receipts.filter { !$0.2 }.count == 40, "one real charge per key")
            let entriesByKey = Dictionary(grouping: receipts, by: \.0).mapValues { Set($0.map(\.1)) }
            #expect(entriesByKey.values.allSatisfy { $0.count == 1 }, "every copy saw the same entry")
            #expect(try await setup.getBalance(userID: user.id) == 40 * 5_000)
            #expect(try await server.store.checkInvariants().isEmpty)
            for client in clients { await client.close() }
            await setup.close()
        }
    }
}
