import CommerceClient
import CommerceSQLite
import CommerceServerRuntime
import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCConnect
import FrameRPCServer
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@Suite("Tracing: spans exported over OTLP/HTTP to a real local endpoint", .timeLimit(.minutes(2)))
struct TracingTests {
    @Test(
        "one PlaceOrder's trace: the caller's traceparent is the parent of the call's span, then the use case, the store write, its group commit, and the relay's POST, which carries the trace on"
    )
    func placeOrderTrace() async throws {
        let collector = OTLPCollector()
        try await collector.start()
        let platform = EventReceiver()
        try await platform.start()
        let tracing = try OTLPTracing(
            endpoint: "http://127.0.0.1:\(collector.port)",
            encoding: .json,
            exportInterval: .milliseconds(100)
        )
        let (server, client) = try await Self.start(platform: platform, tracing: tracing)
        let buyer = try await fundedUser(client, 100_000)
        let product = try await client.createProduct(name: "traced", price: 1_000, initialStock: 1)

        let trace = Self.randomHex(bytes: 16)
        let callerSpan = Self.randomHex(bytes: 8)
        var options = CallOptions()
        options.metadata["traceparent"] = "00-\(trace)-\(callerSpan)-01"
        let order = try await client.placeOrder(userID: buyer, items: [(product.id, 1)], options: options).order
        // The same trace, refused: the stock is gone.
        await expectRPCError(.failedPrecondition, "OUT_OF_STOCK") {
            try await client.placeOrder(userID: buyer, items: [(product.id, 1)], options: options)
        }
        // And over HTTP (Connect), the traceparent as a header.
        let connectCaller = Self.randomHex(bytes: 8)
        let reply = try await ConnectCurlTests.curl(
            server.httpPort!,
            "/commerce.v1.BalanceService/GetBalance",
            json: "{\"userId\": \(buyer)}",
            headers: ["authorization: Bearer \(serviceToken)", "traceparent: 00-\(trace)-\(connectCaller)-01"]
        )
        #expect(reply.status == 200)

        try await DataPlatformTests.waitFor("the order's event") { platform.eventIDs.count == 1 }
        try await DataPlatformTests.waitFor("the delivery's span") {
            collector.spans.contains { $0.traceID == trace && $0.name == "deliver event" }
        }
        await client.close()
        try await server.shutdownGracefully()
        await platform.stop()
        await collector.stop()

        let spans = collector.spans.filter { $0.traceID == trace }
        let calls = spans.filter { $0.name == "commerce.v1.OrderService/PlaceOrder" }.sorted { $0.start < $1.start }
        try #require(calls.count == 2, "\(spans.map(\.name))")
        let (call, refused) = (calls[0], calls[1])
        #expect(call.parentID == callerSpan && call.kind == 2, "a server span under the caller's")
        #expect(call.attributes["rpc.system"] == "framerpc")
        #expect(call.attributes["rpc.method"] == "PlaceOrder")
        #expect(call.attributes["rpc.framerpc.status_code"] == "OK")
        #expect(call.attributes["enduser.id"] == "\(buyer)")
        #expect(refused.attributes["rpc.framerpc.status_code"] == "FAILED_PRECONDITION")
        #expect(refused.attributes["commerce.reason"] == "OUT_OF_STOCK")

        let useCase = try #require(spans.first { $0.name == "use case PlaceOrder" && $0.parentID == call.spanID })
        let write = try #require(spans.first { $0.name == "store write" && $0.parentID == useCase.spanID })
        #expect(write.attributes["db.system"] == "sqlite")
        #expect(write.attributes["commerce.write_queue"] == "user")
        let commit = try #require(spans.first { $0.name == "group commit" && $0.parentID == write.spanID })
        #expect(commit.attributes["commerce.commit.sequence"] == write.attributes["commerce.commit.sequence"])
        #expect(commit.start >= write.start && commit.end <= write.end, "the commit lies inside the write")
        #expect(write.start >= useCase.start && write.end <= useCase.end)
        #expect(useCase.start >= call.start && useCase.end <= call.end)

        // The event carries the use case's context; its delivery is a span under it, and the
        // POST names that span.
        let event = try #require(platform.bodies.first)
        #expect(event.contains("\"order_id\":\(order.id)"))
        #expect(event.contains("\"traceparent\":\"00-\(trace)-\(useCase.spanID)-01\""), "\(event)")
        let delivery = try #require(spans.first { $0.name == "deliver event" })
        #expect(delivery.parentID == useCase.spanID && delivery.kind == 4)
        #expect(delivery.attributes["http.response.status_code"] == "200")
        #expect(platform.traceParents == ["00-\(trace)-\(delivery.spanID)-01"])

        let connect = try #require(spans.first { $0.name == "commerce.v1.BalanceService/GetBalance" })
        #expect(connect.parentID == connectCaller && connect.attributes["rpc.system"] == "connect")
        #expect(connect.attributes["enduser.id"] == "\(buyer)")
        #expect(collector.contentTypes.allSatisfy { $0 == "application/json" })
    }

    @Test("with no tracer, no span is made: the event has no traceparent and the POST no header")
    func offByDefault() async throws {
        let platform = EventReceiver()
        try await platform.start()
        let (server, client) = try await Self.start(platform: platform, tracing: nil)
        let buyer = try await fundedUser(client, 10_000)
        let product = try await client.createProduct(name: "untraced", price: 1_000, initialStock: 1)
        var options = CallOptions()
        options.metadata["traceparent"] = "00-\(Self.randomHex(bytes: 16))-\(Self.randomHex(bytes: 8))-01"
        _ = try await client.placeOrder(userID: buyer, items: [(product.id, 1)], options: options)
        try await DataPlatformTests.waitFor("the order's event") { platform.eventIDs.count == 1 }
        await client.close()
        try await server.shutdownGracefully()
        await platform.stop()
        #expect(platform.bodies.allSatisfy { !$0.contains("traceparent") })
        #expect(platform.traceParents == [nil])
    }

    /// A server on a fresh SQLite file relaying to `platform`, listening for Connect too, traced
    /// by `tracing` (its exporter in the server's group) or not at all; and a client of it.
    static func start(platform: EventReceiver, tracing: OTLPTracing?) async throws -> (CommerceServer, CommerceClient) {
        var configuration = CommerceServerConfiguration(
            rpc: ServerConfiguration(host: "127.0.0.1", port: 0),
            store: StoreConfiguration(path: temporaryDatabasePath(), synchronous: .normal),
            auth: testAuth,
            adminToken: adminToken,
            dataPlatform: .http(url: platform.url, eventsPerPost: 1),
            relayPollMillis: 20
        )
        configuration.http = ConnectConfiguration(host: "127.0.0.1", port: 0)
        configuration.tracer = tracing?.tracer
        let server = try await CommerceServer.start(configuration, alongside: tracing.map { [$0.exporter] } ?? [])
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.port, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        return (server, client)
    }

    static func randomHex(bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 1...255)) }.joined()
    }
}

/// A real local OTLP/HTTP endpoint: takes `POST /v1/traces` in OTLP's JSON encoding, answers 200,
/// and keeps every span it was sent.
final class OTLPCollector: Sendable {
    struct Span: Sendable {
        var traceID: String
        var spanID: String
        var parentID: String
        var name: String
        /// OTLP's SpanKind: 2 server, 3 client, 4 producer.
        var kind: Int
        var start: UInt64
        var end: UInt64
        /// Every value as text.
        var attributes: [String: String]
    }

    private struct State {
        var spans: [Span] = []
        var contentTypes: [String] = []
        var channel: (any Channel)?
    }

    private let state = NIOLockedValueBox(State())
    var spans: [Span] { self.state.withLockedValue { $0.spans } }
    var contentTypes: [String] { self.state.withLockedValue { $0.contentTypes } }
    var port: Int { self.state.withLockedValue { $0.channel?.localAddress?.port ?? 0 } }

    func start() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CollectorHandler(collector: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.state.withLockedValue { $0.channel = channel }
    }

    func stop() async {
        try? await self.state.withLockedValue { $0.channel }?.close()
    }

    fileprivate func receive(path: String, contentType: String, body: Data) -> HTTPResponseStatus {
        guard path == "/v1/traces" else { return .notFound }
        guard let request = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return .badRequest }
        var spans: [Span] = []
        for resource in request["resourceSpans"] as? [[String: Any]] ?? [] {
            for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] { spans.append(Self.span(span)) }
            }
        }
        self.state.withLockedValue {
            $0.spans += spans
            $0.contentTypes.append(contentType)
        }
        return .ok
    }

    private static func span(_ json: [String: Any]) -> Span {
        var attributes: [String: String] = [:]
        for attribute in json["attributes"] as? [[String: Any]] ?? [] {
            guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any],
                let first = value.values.first
            else { continue }
            attributes[key] = "\(first)"
        }
        return Span(
            traceID: Self.id(json["traceId"]),
            spanID: Self.id(json["spanId"]),
            parentID: Self.id(json["parentSpanId"]),
            name: json["name"] as? String ?? "",
            kind: json["kind"] as? Int ?? 0,
            start: UInt64(json["startTimeUnixNano"] as? String ?? "") ?? 0,
            end: UInt64(json["endTimeUnixNano"] as? String ?? "") ?? 0,
            attributes: attributes
        )
    }

    /// OTLP's JSON gives ids in hex; protobuf's own JSON mapping would give base64: either becomes hex.
    private static func id(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count % 2 == 0, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        return Data(base64Encoded: text).map { $0.map { String(format: "%02x", $0) }.joined() } ?? text
    }
}

private final class CollectorHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let collector: OTLPCollector
    var head: HTTPRequestHead?
    var body = Data()

    init(collector: OTLPCollector) { self.collector = collector }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = Data()
        case .body(let buffer):
            self.body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head = self.head else { return }
            let status = self.collector.receive(
                path: head.uri,
                contentType: head.headers.first(name: "content-type") ?? "",
                body: self.body
            )
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: "2")
            context.write(
                Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil
            )
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
