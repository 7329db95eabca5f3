import CommerceClient
import Foundation
import FrameRPCClient
import Testing

/// The outbox relay of real `commerce-server` processes killed with SIGKILL: no drain, no lease
/// handed back. Delivery is at least once: an event may come again after a crash, always with its
/// own id and the same body; none is lost; each arrives in commit order.
@Suite("The relay across crashes", .timeLimit(.minutes(3)))
struct RelayCrashTests {
    static func orderID(_ json: String) -> Int64? {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["order_id"] as? Int64
    }

    @Test(
        "SIGKILL while the platform holds a POST unanswered (sent, cursor not moved); a restarted process delivers every event, the held one again with the same id and body"
    )
    func killBetweenPostAndCursor() async throws {
        let receiver = EventReceiver()
        receiver.setMode(.hang)
        try await receiver.start()
        let database = temporaryDatabasePath()
        let relay = ["--data-platform-url", receiver.url, "--relay-lease-ms", "1000"]
        let first = try await ServerProcess.launch(database: database, extra: relay)
        let client = CommerceClient(
            configuration: ClientConfiguration(port: first.rpcPort, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        let buyer = try await fundedUser(client, 100_000)
        let product = try await client.createProduct(name: "crash", price: 1_000, initialStock: 100).id
        var orders: [Int64] = []
        for _ in 0..<8 { orders.append(try await client.placeOrder(userID: buyer, items: [(product, 1)]).order.id) }
        await client.close()
        try await DataPlatformTests.waitFor("the platform holds the first POST") { !receiver.held.isEmpty }
        await first.kill()
        let held = try #require(receiver.held.first)
        #expect(Self.orderID(held.json) == orders.first, "the first event was the one in flight")

        receiver.setMode(.accept)
        let second = try await ServerProcess.launch(database: database, extra: relay)
        try await DataPlatformTests.waitFor("all 8 events after the restart") { receiver.eventIDs.count == 8 }
        #expect(
            receiver.arrivals.compactMap(Self.orderID) == orders,
            "each once after the restart, in commit order, the held one first"
        )
        #expect(
            receiver.bodies.contains(held.json) && receiver.eventIDs.contains(held.id),
            "the held event came again, same id, same body"
        )
        #expect(await second.terminate() == 0)
        await receiver.stop()
    }

    @Test(
        "two processes relay one database; SIGKILL the one holding the lease: the other takes over after the lease and delivers every event, in commit order, repeats only with the same id"
    )
    func leaseTakeoverAcrossProcesses() async throws {
        let receiver = EventReceiver()
        try await receiver.start()
        let database = temporaryDatabasePath()
        let relay = ["--data-platform-url", receiver.url, "--relay-lease-ms", "1000"]
        let holder = try await ServerProcess.launch(database: database, extra: relay)
        let a = CommerceClient(
            configuration: ClientConfiguration(port: holder.rpcPort, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        let buyer = try await fundedUser(a, 500_000)
        let product = try await a.createProduct(name: "takeover", price: 1_000, initialStock: 1_000).id
        var orders: [Int64] = []
        for _ in 0..<10 { orders.append(try await a.placeOrder(userID: buyer, items: [(product, 1)]).order.id) }
        // The first process relays alone until its events are in: it holds the lease.
        try await DataPlatformTests.waitFor("the holder delivered the first 10") { receiver.eventIDs.count == 10 }
        let other = try await ServerProcess.launch(database: database, extra: relay)
        let b = CommerceClient(
            configuration: ClientConfiguration(port: other.rpcPort, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        for _ in 0..<10 { orders.append(try await b.placeOrder(userID: buyer, items: [(product, 1)]).order.id) }
        await a.close()
        await holder.kill()
        // Orders keep coming through the survivor while it waits for the dead holder's lease to run out.
        for _ in 0..<10 { orders.append(try await b.placeOrder(userID: buyer, items: [(product, 1)]).order.id) }
        try await DataPlatformTests.waitFor("all 30 events") { receiver.eventIDs.count == 30 }
        var seen: [String: String] = [:]
        for json in receiver.arrivals {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let id = try #require(object["event_id"] as? String)
            if let earlier = seen[id] { #expect(earlier == json, "a repeat of \(id) has the same body") }
            seen[id] = json
        }
        let firsts = receiver.arrivals.compactMap(Self.orderID).reduce(into: [Int64]()) {
            if !$0.contains($1) { $0.append($1) }
        }
        #expect(firsts == orders, "every order, first arrivals in commit order")
        await b.close()
        #expect(await other.terminate() == 0)
        #expect(try await run(try serverBinary(), ["audit", "--db", database]).status == 0)
        await receiver.stop()
    }
}
