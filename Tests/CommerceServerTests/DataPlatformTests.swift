import CommerceClient
import CommerceDomain
import CommercePostgres
import CommerceSQLite
import CommerceUseCases
import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import Logging
import Testing

@testable import CommerceServerRuntime

@Suite("The data platform: transactional outbox and relay", .serialized, .timeLimit(.minutes(3)))
struct DataPlatformTests {
    /// A server on `database`: a SQLite path, or a PostgreSQL URL.
    func start(database: String, target: DataPlatformTarget) async throws -> (CommerceServer, CommerceClient) {
        var configuration = CommerceServerConfiguration(
            rpc: ServerConfiguration(host: "127.0.0.1", port: 0),
            store: StoreConfiguration(path: database, synchronous: .normal),
            auth: testAuth,
            adminToken: adminToken,
            dataPlatform: target,
            relayPollMillis: 20
        )
        if PostgresStoreConfiguration.isPostgresURL(database) {
            configuration.postgres = PostgresStoreConfiguration(url: database)
        }
        let server = try await CommerceServer.start(configuration)
        return (
            server,
            CommerceClient(
                configuration: ClientConfiguration(port: server.port, connections: 2),
                token: serviceToken,
                adminToken: adminToken
            )
        )
    }

    static func waitFor(
        _ what: String,
        timeout: Duration = .seconds(60),
        _ condition: () async throws -> Bool
    ) async throws {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test(
        "a data platform file that cannot be opened fails the start and leaves nothing behind: the same port starts a server at once"
    )
    func failedStartLeavesNothing() async throws {
        let database = temporaryDatabasePath()
        // A file where the sink's directory should be.
        let blocker = database + ".not-a-directory"
        try FileManager.default.createDirectory(
            atPath: (database as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data()))
        let probe = try await CommerceServer.start(
            CommerceServerConfiguration(
                rpc: ServerConfiguration(host: "127.0.0.1", port: 0),
                store: StoreConfiguration(path: database, synchronous: .normal),
                auth: testAuth
            )
        )
        let port = probe.port
        try await probe.shutdownGracefully()

        var configuration = CommerceServerConfiguration(
            rpc: ServerConfiguration(host: "127.0.0.1", port: port),
            store: StoreConfiguration(path: database, synchronous: .normal),
            auth: testAuth,
            adminToken: adminToken,
            dataPlatform: .file(path: blocker + "/events.jsonl"),
            eventLoopThreads: 1
        )
        // The sink's own error (its directory is a file), not some other failure of the start.
        let error = await #expect(throws: CocoaError.self) { _ = try await CommerceServer.start(configuration) }
        #expect(error?.code == .fileWriteFileExists, "\(String(describing: error))")
        // Had the failed start left its listener open, this bind would fail with EADDRINUSE.
        configuration.dataPlatform = nil
        let server = try await CommerceServer.start(configuration)
        #expect(server.port == port)
        let client = CommerceClient(
            configuration: ClientConfiguration(port: port, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        #expect(try await client.createUser(name: "after a failed start").id > 0)
        await client.close()
        try await server.shutdownGracefully()
    }

    @Test(
        "every paid order and refund reaches a real HTTP receiver, through a 500 phase, an outage and a server restart; none lost"
    )
    func outageAndRestart() async throws {
        let receiver = EventReceiver()
        try await receiver.start()
        let database = temporaryDatabasePath()
        var (server, client) = try await self.start(database: database, target: .http(url: receiver.url))
        let buyer = try await fundedUser(client, 500_000)
        let product = try await client.createProduct(name: "tracked", price: 1_000, initialStock: 1_000)
        var orders: [Int64] = []

        for _ in 0..<10 { orders.append(try await client.placeOrder(userID: buyer, items: [(product.id, 1)]).order.id) }
        try await Self.waitFor("the first 10 events") { receiver.eventIDs.count == 10 }

        receiver.setMode(.fail)  // the platform answers 500: orders go on regardless
        for _ in 0..<10 { orders.append(try await client.placeOrder(userID: buyer, items: [(product.id, 1)]).order.id) }
        await receiver.stop()  // now it is down altogether
        for _ in 0..<10 { orders.append(try await client.placeOrder(userID: buyer, items: [(product.id, 1)]).order.id) }
        let refunded = try await client.cancelOrder(userID: buyer, orderID: orders[3])
        #expect(refunded.refunded == 1_000)
        #expect(receiver.eventIDs.count == 10, "nothing got through while failing or down")
        #expect(try await server.store.undeliveredEventCount() == 21)

        // The service restarts while the platform is still down; the outbox survives in the database.
        await client.close()
        try await server.shutdownGracefully()
        (server, client) = try await self.start(database: database, target: .http(url: receiver.url))
        receiver.setMode(.accept)
        try await receiver.start()  // the same port again
        try await Self.waitFor("all 31 events after recovery") { receiver.eventIDs.count == 31 }

        let events = receiver.bodies.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let paid = Set(events.filter { $0["type"] as? String == "ORDER_PAID" }.compactMap { $0["order_id"] as? Int64 })
        #expect(paid == Set(orders), "one ORDER_PAID per order")
        let refunds = events.filter { $0["type"] as? String == "ORDER_REFUNDED" }
        #expect(
            refunds.count == 1 && refunds.first?["order_id"] as? Int64 == orders[3]
                && refunds.first?["amount"] as? Int64 == 1_000
        )
        // The relay records a pass as delivered after its last POST: the receiver can hold all 31
        // a moment before the cursor moves past them.
        try await Self.waitFor("the relay cursor past all 31 events") {
            try await server.store.undeliveredEventCount() == 0
        }
        #expect(try await server.store.checkInvariants().isEmpty)
        await client.close()
        try await server.shutdownGracefully()
        await receiver.stop()
    }

    @Test(
        "with 10 events per POST, a backlog of 25 paid orders and a refund left by a platform that was down arrives in requests of up to 10 JSON lines, in commit order; none lost"
    )
    func batchedPosts() async throws {
        let receiver = EventReceiver()
        try await receiver.start()
        await receiver.stop()  // down from the start
        let (server, client) = try await self.start(
            database: temporaryDatabasePath(),
            target: .http(url: receiver.url, eventsPerPost: 10)
        )
        let buyer = try await fundedUser(client, 500_000)
        let product = try await client.createProduct(name: "batched", price: 1_000, initialStock: 1_000)
        var orders: [Int64] = []
        for _ in 0..<25 { orders.append(try await client.placeOrder(userID: buyer, items: [(product.id, 1)]).order.id) }
        _ = try await client.cancelOrder(userID: buyer, orderID: orders[4])
        #expect(try await server.store.undeliveredEventCount() == 26)
        #expect(receiver.deliveries == 0)

        // The platform is back on the same port: the next pass takes the whole backlog, 10 events a request.
        try await receiver.start()
        try await Self.waitFor("the relay cursor past all 26 events") {
            try await server.store.undeliveredEventCount() == 0
        }
        // 10 + 10 + 6, unless a pass that began while the platform was down (its request waits for a
        // connection) holds only part of the backlog: then one request more.
        let sizes = receiver.eventsPerRequest
        #expect(sizes.reduce(0, +) == 26 && sizes.allSatisfy { $0 <= 10 } && (3...4).contains(sizes.count), "\(sizes)")
        #expect(sizes.contains(10), "\(sizes)")
        let events = receiver.arrivals.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(
            events.map { $0["order_id"] as? Int64 } == (orders + [orders[4]]).map { Optional($0) },
            "every event once, in commit order"
        )
        #expect(events.last?["type"] as? String == "ORDER_REFUNDED")
        await client.close()
        try await server.shutdownGracefully()
        await receiver.stop()
    }

    @Test("the server refuses --events-per-post outside 1...1000 with a clear message")
    func eventsPerPostRange() async throws {
        for value in ["0", "1001", "-5"] {
            let (status, output) = try await run(
                try serverBinary(),
                [
                    "serve", "--db", temporaryDatabasePath(), "--port", "0", "--metrics-port=-1",
                    "--data-platform-url", "http://127.0.0.1:1/events", "--events-per-post=\(value)",
                    "--auth-keys", testKeysFile,
                ],
                withErrors: true
            )
            #expect(status != 0, "\(value)")
            #expect(output.contains("--events-per-post must be 1...1000, got \(value)"), "\(output)")
        }
    }

    @Test("the relay's metrics: events delivered, failed passes, and how far delivery is behind the commits")
    func relayMetrics() async throws {
        let receiver = EventReceiver()
        try await receiver.start()
        receiver.setMode(.fail)
        let server = try await ServerProcess.launch(
            database: temporaryDatabasePath(),
            extra: [
                "--data-platform-url", receiver.url, "--events-per-post", "4",
            ]
        )
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        let buyer = try await fundedUser(client, 100_000)
        let product = try await client.createProduct(name: "measured", price: 1_000, initialStock: 100)
        for _ in 0..<6 { _ = try await client.placeOrder(userID: buyer, items: [(product.id, 1)]) }
        func metric(_ name: String) async throws -> Double? { try await metrics(port: server.metricsPort)[name] }
        try await Self.waitFor("a failed pass counted") { try await metric("outbox_delivery_failures_total") ?? 0 >= 1 }
        #expect(try await metric("outbox_events_delivered_total") ?? 0 == 0)

        receiver.setMode(.accept)
        try await Self.waitFor("6 events delivered and counted") {
            try await metric("outbox_events_delivered_total") == 6
        }
        #expect(receiver.eventIDs.count == 6)
        // The last event waited at least through the failing phase, and not for minutes.
        let lag = try #require(try await metric("outbox_delivery_lag_seconds"))
        #expect(lag > 0 && lag < 60, "\(lag)")
        await client.close()
        #expect(await server.terminate() == 0)
        await receiver.stop()
    }

    @Test(
        "a platform whose port refuses connections: each attempt fails at once and is counted, the backoff as configured; the oldest undelivered event's age grows, then falls to 0 once it is back"
    )
    func refusedPort() async throws {
        let receiver = EventReceiver()
        try await receiver.start()
        await receiver.stop()  // its port now refuses connections
        let server = try await ServerProcess.launch(
            database: temporaryDatabasePath(),
            extra: ["--data-platform-url", receiver.url]
        )
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        let buyer = try await fundedUser(client, 100_000)
        let product = try await client.createProduct(name: "undelivered", price: 1_000, initialStock: 100)
        _ = try await client.placeOrder(userID: buyer, items: [(product.id, 1)])
        func metric(_ name: String) async throws -> Double? { try await metrics(port: server.metricsPort)[name] }
        // Backoff 100 ms doubling: attempts at about 0, 0.1, 0.3, 0.7 and 1.5 s. Each waited out
        // async-http-client's own connection retries for the whole 5 s request timeout before.
        let started = ContinuousClock.now
        try await Self.waitFor("5 failed attempts counted") {
            try await metric("outbox_delivery_failures_total") ?? 0 >= 5
        }
        #expect(
            ContinuousClock.now - started < .seconds(12),
            "attempts fail at once, not after the 5 s request timeout"
        )
        try await Self.waitFor("the oldest undelivered event's age reported") {
            try await metric("outbox_oldest_undelivered_age_seconds") ?? 0 >= 1
        }

        try await receiver.start()  // the same port, answering again
        try await Self.waitFor("the event delivered") { receiver.eventIDs.count == 1 }
        try await Self.waitFor("no event waiting") { try await metric("outbox_oldest_undelivered_age_seconds") == 0 }
        await client.close()
        #expect(await server.terminate() == 0)
        await receiver.stop()
    }

    @Test(
        "two server instances on one database: one relay at a time delivers every event exactly once, in commit order (on PostgreSQL: per order)",
        arguments: StoreKind.available
    )
    func twoInstancesOneRelay(store: StoreKind) async throws {
        let receiver = EventReceiver()
        try await receiver.start()
        let database = store == .postgres ? try temporaryPostgresDatabase() : temporaryDatabasePath()
        defer { if store == .postgres { dropPostgresDatabase(database) } }
        let (first, firstClient) = try await self.start(database: database, target: .http(url: receiver.url))
        let (second, secondClient) = try await self.start(database: database, target: .http(url: receiver.url))
        let buyer = try await fundedUser(firstClient, 500_000)
        let product = try await firstClient.createProduct(name: "relayed once", price: 1_000, initialStock: 1_000)
        // Orders through both instances at once: each instance's relay polls every 20 ms.
        let orders = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for client in [firstClient, secondClient] {
                group.addTask {
                    var placed: [Int64] = []
                    for _ in 0..<40 {
                        placed.append(try await client.placeOrder(userID: buyer, items: [(product.id, 1)]).order.id)
                    }
                    return placed
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        // Every fourth order is refunded through the other instance: its refund must arrive after its payment.
        let refunded = Array(orders.enumerated().filter { $0.offset.isMultiple(of: 4) }.map(\.element))
        for (index, order) in refunded.enumerated() {
            _ = try await (index.isMultiple(of: 2) ? secondClient : firstClient).cancelOrder(
                userID: buyer,
                orderID: order
            )
        }
        let total = 80 + refunded.count
        try await Self.waitFor("all \(total) events") { receiver.eventIDs.count == total }
        let arrived = receiver.arrivals.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        .compactMap { event in (event["order_id"] as? Int64).map { ($0, event["type"] as? String ?? "") } }
        #expect(receiver.deliveries == total, "no event delivered twice")
        #expect(Set(arrived.map(\.0)) == Set(orders))
        let paid = arrived.filter { $0.1 == "ORDER_PAID" }.map(\.0)
        if store == .sqlite {
            #expect(paid == paid.sorted(), "one writer: delivered in commit order")
        }
        for order in refunded {
            let kinds = arrived.filter { $0.0 == order }.map(\.1)
            #expect(kinds == ["ORDER_PAID", "ORDER_REFUNDED"], "order \(order): its payment, then its refund")
        }
        // The relay records a delivery after the receiver's answer: wait for it, then both instances see it.
        try await Self.waitFor("every event recorded delivered") { try await first.store.undeliveredEventCount() == 0 }
        #expect(try await second.store.undeliveredEventCount() == 0)
        #expect(receiver.deliveries == total, "no event delivered twice")
        for (server, client) in [(first, firstClient), (second, secondClient)] {
            await client.close()
            try await server.shutdownGracefully()
        }
        await receiver.stop()
    }

    @Test(
        "a platform that reads an event and never answers does not hold orders up: all complete with nothing delivered; once it answers, all arrive"
    )
    func slowPlatform() async throws {
        let receiver = EventReceiver()
        try await receiver.start()
        receiver.setMode(.hang)
        let (server, client) = try await self.start(database: temporaryDatabasePath(), target: .http(url: receiver.url))
        let buyer = try await fundedUser(client, 100_000)
        let product = try await client.createProduct(name: "never answered", price: 1_000, initialStock: 100)
        // The platform reads the first event and never answers; orders complete all the same.
        for _ in 0..<10 { _ = try await client.placeOrder(userID: buyer, items: [(product.id, 1)]) }
        try await Self.waitFor("the platform holding the first POST") { !receiver.held.isEmpty }
        #expect(receiver.eventIDs.isEmpty, "all 10 orders completed while no event was delivered")
        receiver.setMode(.accept)
        try await Self.waitFor("all 10 events") { receiver.eventIDs.count == 10 }
        await client.close()
        try await server.shutdownGracefully()
        await receiver.stop()
    }

    @Test(
        "with no URL, events go to a JSON-lines file, one line per payment or refund, each with its commit-ordered sequence"
    )
    func fileSink() async throws {
        let database = temporaryDatabasePath()
        let file = URL(fileURLWithPath: database).deletingLastPathComponent().appendingPathComponent("events.jsonl")
            .path
        let (server, client) = try await self.start(database: database, target: .file(path: file))
        let buyer = try await fundedUser(client, 50_000)
        let product = try await client.createProduct(name: "filed", price: 2_000, initialStock: 10)
        var orders: [Int64] = []
        for _ in 0..<5 { orders.append(try await client.placeOrder(userID: buyer, items: [(product.id, 1)]).order.id) }
        _ = try await client.cancelOrder(userID: buyer, orderID: orders[1])
        try await Self.waitFor("6 lines in the file") {
            (try? String(contentsOfFile: file, encoding: .utf8))?.split(separator: "\n").count == 6
        }
        let events = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(Set(events.compactMap { $0["event_id"] as? String }).count == 6)
        // The outbox sequence rides first in each event: in the file's order, increasing (one writer:
        // commit order), and an order's refund above its payment.
        let sequences = events.compactMap { ($0["sequence"] as? NSNumber)?.int64Value }
        #expect(sequences.count == 6 && sequences == sequences.sorted() && Set(sequences).count == 6)
        let refund = try #require(events.first { $0["type"] as? String == "ORDER_REFUNDED" })
        let payment = try #require(
            events.first {
                $0["type"] as? String == "ORDER_PAID" && ($0["order_id"] as? NSNumber)?.int64Value == orders[1]
            }
        )
        #expect((refund["sequence"] as? NSNumber)!.int64Value > (payment["sequence"] as? NSNumber)!.int64Value)
        await client.close()
        try await server.shutdownGracefully()
    }

    @Test(
        "a graceful shutdown stops the listener first and the relay after it: its last pass delivers what the drained calls committed, then the store closes"
    )
    func shutdownOrder() async throws {
        let database = temporaryDatabasePath()
        let file = URL(fileURLWithPath: database).deletingLastPathComponent().appendingPathComponent("events.jsonl")
            .path
        // A relay that polls once a minute: only its last pass can deliver these orders in time.
        let server = try await CommerceServer.start(
            CommerceServerConfiguration(
                rpc: ServerConfiguration(host: "127.0.0.1", port: 0),
                store: StoreConfiguration(path: database, synchronous: .normal),
                auth: testAuth,
                adminToken: adminToken,
                dataPlatform: .file(path: file),
                relayPollMillis: 60_000
            )
        )
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.port, connections: 4),
            token: serviceToken,
            adminToken: adminToken
        )
        let buyer = try await fundedUser(client, 500_000)
        let product = try await client.createProduct(name: "last pass", price: 1_000, initialStock: 1_000)
        try await Task.sleep(for: .milliseconds(200))  // the relay's first pass has found nothing and waits
        // 40 orders in flight when the shutdown starts: the drain answers each one the server took;
        // any sent after its GOAWAY is refused unprocessed. Either way, what was acknowledged was committed.
        // The shutdown starts once the first is acknowledged (so the server is taking them, however
        // loaded this machine is), with the rest still in flight.
        let (firstAcknowledged, acknowledging) = AsyncStream<Void>.makeStream()
        let placed = Task {
            await withTaskGroup(of: Int64?.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        let id = try? await client.placeOrder(userID: buyer, items: [(product.id, 1)]).order.id
                        if id != nil { acknowledging.yield() }
                        return id
                    }
                }
                return await group.reduce(into: Set<Int64>()) { if let id = $1 { $0.insert(id) } }
            }
        }
        for await _ in firstAcknowledged { break }
        let started = ContinuousClock.now
        try await server.shutdownGracefully()
        #expect(ContinuousClock.now - started < .seconds(30), "no wait for the relay's minute")
        let acknowledged = await placed.value
        await client.close()
        #expect(!acknowledged.isEmpty)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let delivered = Set(
            lines.compactMap {
                ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["order_id"] as? NSNumber
            }.map(\.int64Value)
        )
        #expect(delivered == acknowledged, "every order the drain answered is in the file")
        // The store was closed after the relay's pass: reopened, nothing is left undelivered.
        let reopened = try SQLiteStore(StoreConfiguration(path: database, synchronous: .normal))
        #expect(try await reopened.undeliveredEventCount() == 0)
        await reopened.close()
    }

    @Test(
        "a relay pass takes up to the sink's limit: 1,000 events for a file (one write, one fsync), 100 for HTTP (ten requests' worth when batched, up to 1,000); all in order"
    )
    func passLimits() async throws {
        let database = temporaryDatabasePath()
        let store = try SQLiteStore(StoreConfiguration(path: database, synchronous: .normal))
        let user = try await store.createUser(name: "buyer", at: 1).value
        _ = try await store.charge(
            ChargeCommand(userID: user.id, amount: 1_000_000, idempotencyKey: nil, policy: .standard, at: 1)
        ).value
        let product = try await store.createProduct(name: "p", price: 100, stock: 10_000, at: 1).value
        let request = try OrderRequest.validate(userID: user.id, items: [(product.id, 1)], couponID: nil)
        // 1,500 paid orders, submitted together: they group-commit in a few transactions.
        let pending = (0..<1_500).map { index in
            store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2 + Int64(index)))
        }
        var orders: [Int64] = []
        for write in pending { orders.append(try await write.value.order.id.rawValue) }

        let file = URL(fileURLWithPath: database).deletingLastPathComponent().appendingPathComponent("passes.jsonl")
            .path
        let sink = try FileEventSink(path: file)
        #expect(sink.passLimit == 1_000 && HTTPEventSink.passLimit(eventsPerPost: 1) == 100)
        // Batched HTTP: ten requests a pass, up to 1,000 events.
        #expect(HTTPEventSink.passLimit(eventsPerPost: 10) == 100)
        #expect(HTTPEventSink.passLimit(eventsPerPost: 50) == 500)
        #expect(HTTPEventSink.passLimit(eventsPerPost: 1_000) == 1_000)
        let relay = DataPlatformRelay(
            store: store,
            sink: sink,
            clock: { 10_000 },
            logger: Logger(label: "test"),
            pollInterval: .milliseconds(10)
        )
        #expect(try await relay.relayOnce() == 1_000)
        #expect(try await relay.relayOnce() == 500)
        #expect(try await relay.relayOnce() == 0)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let delivered = lines.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["order_id"] as? Int64
        }
        #expect(delivered == orders, "every order once, in commit order")
    }
}
