import CommerceClient
import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

/// A real `commerce-server` killed with SIGKILL at a random moment under mixed writes, round after
/// round, and restarted on the same database each time.
@Suite("SIGKILL at random moments", .timeLimit(.minutes(4)))
struct CrashTests {
    /// What one caller sent: every idempotency key it used, and which were acknowledged.
    struct Sent: Sendable {
        var orderKeys: [String] = []
        var chargeKeys: [String] = []
        var acknowledgedOrders: [Int64] = []
        var acknowledgedCharges = 0
    }

    @Test(
        "4 rounds of charges and orders killed at a random moment: every acknowledged write survives, a key re-sent answers once, audit clean, every paid order's event delivered under one id",
        arguments: StoreKind.available
    )
    func randomKills(store: StoreKind) async throws {
        let database = store == .postgres ? try temporaryPostgresDatabase() : temporaryDatabasePath()
        defer { if store == .postgres { dropPostgresDatabase(database) } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "commerce-crash-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let events = folder.appendingPathComponent("events.jsonl").path
        // A killed process keeps the relay lease until it runs out: a short one lets the next take over soon.
        let extra = ["--events-file", events, "--relay-lease-ms", "1000"]
        #expect(try await run(try serverBinary(), ["migrate", "--db", database]).status == 0)

        var server = try await ServerProcess.launch(database: database, extra: extra)
        var client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 4),
            token: serviceToken,
            adminToken: adminToken
        )
        let product = try await client.createProduct(name: "crash", price: 1_000, initialStock: 1_000_000).id
        var funded: [Int64] = []
        for index in 0..<8 { funded.append(try await fundedUser(client, 500_000, name: "c\(index)")) }
        let users = funded
        var sent = Array(repeating: Sent(), count: users.count)

        for round in 0..<4 {
            if round > 0 {
                server = try await ServerProcess.launch(database: database, extra: extra)
                client = CommerceClient(
                    configuration: ClientConfiguration(port: server.rpcPort, connections: 4),
                    token: serviceToken,
                    adminToken: adminToken
                )
            }
            let roundClient = client
            // Each caller alternates a charge and an order of its own user, every call under a new key.
            let callers = Task {
                await withTaskGroup(of: (Int, Sent).self) { group in
                    for (index, user) in users.enumerated() {
                        group.addTask {
                            var mine = Sent()
                            for step in 0... {
                                let key = "r\(round)-u\(user)-\(step)"
                                do {
                                    if step % 2 == 0 {
                                        mine.chargeKeys.append(key)
                                        _ = try await roundClient.chargeBalance(
                                            userID: user,
                                            amount: 1_000,
                                            idempotencyKey: key
                                        )
                                        mine.acknowledgedCharges += 1
                                    } else {
                                        mine.orderKeys.append(key)
                                        let receipt = try await roundClient.placeOrder(
                                            userID: user,
                                            items: [(product, 1)],
                                            idempotencyKey: key
                                        )
                                        mine.acknowledgedOrders.append(receipt.order.id)
                                    }
                                } catch {
                                    break  // the server is gone: this key's fate is unknown
                                }
                            }
                            return (index, mine)
                        }
                    }
                    return await group.reduce(into: [(Int, Sent)]()) { $0.append($1) }
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...900)))
            await server.kill()
            for (index, mine) in await callers.value {
                sent[index].orderKeys += mine.orderKeys
                sent[index].chargeKeys += mine.chargeKeys
                sent[index].acknowledgedOrders += mine.acknowledgedOrders
                sent[index].acknowledgedCharges += mine.acknowledgedCharges
            }
            await roundClient.close()
        }

        server = try await ServerProcess.launch(database: database, extra: extra)
        client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 4),
            token: serviceToken,
            adminToken: adminToken
        )
        var acknowledged = 0
        for (index, user) in users.enumerated() {
            let mine = sent[index]
            acknowledged += mine.acknowledgedOrders.count + mine.acknowledgedCharges
            #expect(!mine.acknowledgedOrders.isEmpty, "user \(user) had orders acknowledged")
            // Every acknowledged order is there, paid.
            for id in mine.acknowledgedOrders {
                #expect(try await client.getOrder(orderID: id).status == .paid, "order \(id)")
            }
            // Every key re-sent: it answers with the write it made, or makes it now; either way once.
            for key in mine.orderKeys {
                _ = try await client.placeOrder(userID: user, items: [(product, 1)], idempotencyKey: key)
            }
            for key in mine.chargeKeys {
                _ = try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: key)
            }
            let orders = try await Self.allOrders(client, user)
            #expect(orders.count == mine.orderKeys.count, "user \(user): one order per key")
            let entries = try await Self.allEntries(client, user)
            #expect(
                entries.filter { $0.type == .charge }.count == mine.chargeKeys.count + 1,
                "user \(user): one charge per key, and the funding"
            )
            #expect(entries.filter { $0.type == .use }.count == orders.count)
        }
        #expect(acknowledged > 0)
        #expect(
            try await client.getProduct(productID: product).stock == 1_000_000
                - Int64(sent.reduce(0) { $0 + $1.orderKeys.count })
        )
        let audit = try await run(try serverBinary(), ["audit", "--db", database])
        #expect(audit.status == 0, "\(audit.output)")

        // Every paid order's event reaches the platform; one sent again keeps its id.
        let paid = Set(try await users.asyncFlatMap { try await Self.allOrders(client, $0).map(\.id) })
        try? await waitUntil("every paid order's event is in the events file", timeout: .seconds(30)) {
            Set(Self.paidEvents(events).keys).isSuperset(of: paid)
        }
        let missing = paid.subtracting(Self.paidEvents(events).keys)
        #expect(
            missing.isEmpty,
            "\(missing.count) of \(paid.count) paid orders have no event in the file, e.g. \(missing.sorted().prefix(5))"
        )
        for (order, ids) in Self.paidEvents(events) {
            #expect(ids.count == 1, "order \(order): one event id, got \(ids)")
        }
        await client.close()
        #expect(await server.terminate() == 0)
    }

    static func allOrders(_ client: CommerceClient, _ user: Int64) async throws -> [Commerce_V1_Order] {
        try await Self.allPages { token in
            let page = try await client.listOrders(userID: user, pageSize: 500, pageToken: token)
            return (page.orders, page.nextPageToken)
        }
    }

    static func allEntries(_ client: CommerceClient, _ user: Int64) async throws -> [Commerce_V1_BalanceEntry] {
        try await Self.allPages { token in
            let page = try await client.listBalanceHistory(userID: user, pageSize: 500, pageToken: token)
            return (page.entries, page.nextPageToken)
        }
    }

    /// Every item of a paged listing, following its page tokens to the end.
    static func allPages<Item>(
        _ page: (_ token: String) async throws -> (items: [Item], next: String)
    ) async throws -> [Item] {
        var items: [Item] = []
        var token = ""
        repeat {
            let (more, next) = try await page(token)
            items += more
            token = next
        } while !token.isEmpty
        return items
    }

    /// ORDER_PAID events in the file: the event ids seen for each order.
    static func paidEvents(_ path: String) -> [Int64: Set<String>] {
        var events: [Int64: Set<String>] = [:]
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            guard let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                event["type"] as? String == "ORDER_PAID",
                let order = (event["order_id"] as? NSNumber)?.int64Value, let id = event["event_id"] as? String
            else { continue }  // a line cut by the kill is not an event
            events[order, default: []].insert(id)
        }
        return events
    }
}

extension Array {
    func asyncFlatMap<T>(_ transform: (Element) async throws -> [T]) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result += try await transform(element) }
        return result
    }
}
