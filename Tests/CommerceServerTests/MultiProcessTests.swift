import CommerceClient
import FrameRPC
import FrameRPCClient
import Foundation
import Testing

@Suite("Two server processes on one SQLite file", .timeLimit(.minutes(5)))
struct MultiProcessTests {
    @Test("racing charges through two commerce-server processes stay exact; audit clean; SIGTERM drains and exits 0")
    func twoProcesses() async throws {
        let database = temporaryDatabasePath()
        let migrate = try run(try serverBinary(), ["migrate", "--db", database])
        #expect(migrate.status == 0)
        let first = try await ServerProcess.launch(database: database)
        let second = try await ServerProcess.launch(database: database)
        let a = CommerceClient(configuration: ClientConfiguration(port: first.rpcPort, connections: 4))
        let b = CommerceClient(configuration: ClientConfiguration(port: second.rpcPort, connections: 4))

        let user = try await a.createUser(name: "shared")
        #expect(try await b.getUser(userID: user.id).name == "shared", "the second process sees the first one's user")
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<600 {
                let client = index % 2 == 0 ? a : b
                group.addTask {
                    do {
                        // 5 keys repeat across both processes: they must charge once each.
                        let key = index < 100 ? "dup-\(index % 5)" : "k-\(index)"
                        let receipt = try await client.chargeBalance(userID: user.id, amount: 2_000, idempotencyKey: key)
                        return receipt.replayed ? "REPLAYED" : "OK"
                    } catch let error as RPCError {
                        return error.reason
                    }
                }
            }
            return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        }
        // 5 distinct duplicate keys + 500 unique keys = 505 charge attempts; 500 of 2,000 fill 1,000,000.
        #expect(outcomes["OK"] == 500, "\(outcomes)")
        #expect(outcomes["REPLAYED", default: 0] + outcomes["OK", default: 0] + outcomes["BALANCE_LIMIT_EXCEEDED", default: 0] == 600)
        #expect(try await a.getBalance(userID: user.id) == 1_000_000)
        #expect(try await b.getBalance(userID: user.id) == 1_000_000)

        // Prometheus text from one of the processes counts its calls.
        let metrics = try await httpGet(port: first.metricsPort, path: "/metrics")
        #expect(metrics.contains("rpc_server_calls_total{method=\"/commerce.v1.BalanceService/ChargeBalance\""))

        await a.close()
        await b.close()
        #expect(await first.terminate() == 0)
        #expect(await second.terminate() == 0)
        let audit = try run(try serverBinary(), ["audit", "--db", database])
        #expect(audit.status == 0, "\(audit.output)")
    }

    @Test("two commerce-server processes running the order race on one file: exactly the stock is sold")
    func twoProcessOrderRace() async throws {
        let database = temporaryDatabasePath()
        #expect(try run(try serverBinary(), ["migrate", "--db", database]).status == 0)
        let first = try await ServerProcess.launch(database: database)
        let second = try await ServerProcess.launch(database: database)
        let a = CommerceClient(configuration: ClientConfiguration(port: first.rpcPort, connections: 4), adminToken: adminToken)
        let b = CommerceClient(configuration: ClientConfiguration(port: second.rpcPort, connections: 4), adminToken: adminToken)
        let product = try await a.createProduct(name: "limited", price: 2_000, initialStock: 100)
        var funded: [Int64] = []
        for index in 0..<100 { funded.append(try await fundedUser(index % 2 == 0 ? a : b, 20_000, name: "p\(index)")) }
        let users = funded
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<600 {
                let client = index % 2 == 0 ? a : b
                group.addTask {
                    do {
                        _ = try await client.placeOrder(userID: users[index % users.count], items: [(product.id, 1)])
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
        await a.close()
        await b.close()
        #expect(await first.terminate() == 0)
        #expect(await second.terminate() == 0)
        let audit = try run(try serverBinary(), ["audit", "--db", database])
        #expect(audit.status == 0, "\(audit.output)")
    }
}
