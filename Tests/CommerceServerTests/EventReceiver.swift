import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real local HTTP endpoint standing in for the data platform: it can accept, fail with 500,
/// be stopped (connections refused) and started again on the same port.
final class EventReceiver: Sendable {
    /// `hang`: read the request, record it in ``held``, and never answer.
    enum Mode: Sendable, Equatable {
        case accept, fail
        case slow(milliseconds: Int64)
        case hang
    }

    private struct State {
        var mode: Mode = .accept
        var bodies: [String: String] = [:]  // event id -> JSON
        var arrivals: [String] = []  // JSON of every accepted request, in arrival order
        var eventsPerRequest: [Int] = []
        var traceParents: [String?] = []
        var held: [(id: String, json: String)] = []
        var channel: (any Channel)?
        var children: [ObjectIdentifier: any Channel] = [:]
        var port = 0
    }

    private let state = NIOLockedValueBox(State())

    var port: Int { self.state.withLockedValue { $0.port } }
    var url: String { "http://127.0.0.1:\(self.port)/events" }
    var eventIDs: Set<String> { self.state.withLockedValue { Set($0.bodies.keys) } }
    var bodies: [String] { self.state.withLockedValue { Array($0.bodies.values) } }
    /// Every accepted event's JSON in arrival order, duplicates included.
    var arrivals: [String] { self.state.withLockedValue { $0.arrivals } }
    /// How many events each accepted request held, in arrival order.
    var eventsPerRequest: [Int] { self.state.withLockedValue { $0.eventsPerRequest } }
    /// Events of requests read in `hang` mode and never answered.
    var held: [(id: String, json: String)] { self.state.withLockedValue { $0.held } }
    /// The `traceparent` header of each accepted request, in arrival order.
    var traceParents: [String?] { self.state.withLockedValue { $0.traceParents } }
    /// Requests accepted (a batch is one), duplicates included.
    var deliveries: Int { self.state.withLockedValue { $0.eventsPerRequest.count } }

    func setMode(_ mode: Mode) { self.state.withLockedValue { $0.mode = mode } }

    func start() async throws {
        let port = self.port
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    self.state.withLockedValue { $0.children[ObjectIdentifier(channel)] = channel }
                    channel.closeFuture.whenComplete { _ in
                        _ = self.state.withLockedValue { $0.children.removeValue(forKey: ObjectIdentifier(channel)) }
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ReceiverHandler(receiver: self))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        self.state.withLockedValue {
            $0.channel = channel
            $0.port = channel.localAddress?.port ?? port
        }
    }

    /// Closes the listener and every open connection: the platform is down.
    func stop() async {
        let (listener, children) = self.state.withLockedValue { state in
            defer {
                state.channel = nil
                state.children = [:]
            }
            return (state.channel, Array(state.children.values))
        }
        try? await listener?.close()
        for child in children { try? await child.close() }
    }

    var mode: Mode { self.state.withLockedValue { $0.mode } }

    /// Returns the status to answer with. One event is a JSON object named by `x-event-id`;
    /// a batch (`application/x-ndjson`) is one JSON object per line, each named by its `event_id`,
    /// as many as `x-event-count` says.
    fileprivate func receive(head: HTTPRequestHead, body: String) -> HTTPResponseStatus? {
        var events: [(id: String, json: String)] = []
        if head.headers.first(name: "content-type") == "application/x-ndjson" {
            let lines = body.split(separator: "\n").map(String.init)
            guard body.hasSuffix("\n"), head.headers.first(name: "x-event-count") == "\(lines.count)" else {
                return .badRequest
            }
            for line in lines {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                guard let id = object?["event_id"] as? String else { return .badRequest }
                events.append((id, line))
            }
        } else {
            guard let id = head.headers.first(name: "x-event-id") else { return .badRequest }
            events.append((id, body))
        }
        return self.state.withLockedValue { state in
            guard state.mode != .fail else { return .internalServerError }
            guard state.mode != .hang else {
                state.held += events
                return nil
            }
            for event in events {
                state.bodies[event.id] = event.json
                state.arrivals.append(event.json)
            }
            state.eventsPerRequest.append(events.count)
            state.traceParents.append(head.headers.first(name: "traceparent"))
            return .ok
        }
    }
}

private final class ReceiverHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let receiver: EventReceiver
    var head: HTTPRequestHead?
    var body = ""

    init(receiver: EventReceiver) { self.receiver = receiver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = ""
        case .body(let buffer):
            self.body += String(buffer: buffer)
        case .end:
            var delay: Int64 = 0
            if case .slow(let milliseconds) = self.receiver.mode { delay = milliseconds }
            guard let head = self.head else { return }
            let (body, receiver) = (self.body, self.receiver)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            // A slow platform: the answer comes `delay` ms later, without blocking the loop.
            context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
                let context = loopBound.value
                guard let status = receiver.receive(head: head, body: body) else { return }  // hang: no answer, ever
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: "0")
                context.write(
                    Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                    promise: nil
                )
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
