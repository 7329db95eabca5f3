import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Records what the test service's handlers saw.
final class Probe: Sendable {
    private let state = NIOLockedValueBox<(started: Set<String>, cancelled: Set<String>, finished: Set<String>)>(
        ([], [], [])
    )
    func started(_ tag: String) { self.state.withLockedValue { _ = $0.started.insert(tag) } }
    func cancelled(_ tag: String) { self.state.withLockedValue { _ = $0.cancelled.insert(tag) } }
    func finished(_ tag: String) { self.state.withLockedValue { _ = $0.finished.insert(tag) } }
    var snapshot: (started: Set<String>, cancelled: Set<String>, finished: Set<String>) {
        self.state.withLockedValue { $0 }
    }
}

/// A service with no protobuf of its own: payloads are raw bytes.
/// - `Echo` returns its payload.
/// - `Sleep` takes "millis:tag", sleeps (cancellably), returns the tag; `SleepWrite` the same, mutating.
/// - `Fail` throws an RPCError; `Crash` throws a plain Swift error.
/// - `Credential` returns the call's `authorization` entry (its own, or its connection's).
/// - `RequestID` returns the call's request id and its metadata's `Trace-Tag` entry, "id|tag".
/// - `Where` and `WhereWrite` (mutating) return "loop" when their task runs on an event loop, else "pool".
struct TestService: RPCService {
    let probe: Probe

    var methods: [RPCMethod] {
        [
            RPCMethod(name: "/test.v1.Test/Echo", requestType: "bytes", responseType: "bytes", mutating: false) {
                payload,
                _ in
                Array(payload)
            },
            RPCMethod(name: "/test.v1.Test/Sleep", requestType: "bytes", responseType: "bytes", mutating: false) {
                payload,
                _ in
                let text = String(decoding: payload, as: UTF8.self)
                let parts = text.split(separator: ":")
                let millis = Int64(parts[0]) ?? 0
                let tag = parts.count > 1 ? String(parts[1]) : ""
                self.probe.started(tag)
                do {
                    try await Task.sleep(for: .milliseconds(millis))
                } catch {
                    self.probe.cancelled(tag)
                    throw error
                }
                self.probe.finished(tag)
                return Array(tag.utf8)
            },
            RPCMethod(name: "/test.v1.Test/SleepWrite", requestType: "bytes", responseType: "bytes", mutating: true) {
                payload,
                _ in
                // Sleep, as a state-changing method (admission keeps a share of the slots from these).
                let text = String(decoding: payload, as: UTF8.self)
                let parts = text.split(separator: ":")
                let tag = parts.count > 1 ? String(parts[1]) : ""
                self.probe.started(tag)
                try await Task.sleep(for: .milliseconds(Int64(parts[0]) ?? 0))
                self.probe.finished(tag)
                return Array(tag.utf8)
            },
            RPCMethod(name: "/test.v1.Test/RequestID", requestType: "bytes", responseType: "bytes", mutating: false) {
                _,
                context in
                Array("\(context.requestID)|\(context.metadata["Trace-Tag"] ?? "")".utf8)
            },
            RPCMethod(name: "/test.v1.Test/Credential", requestType: "bytes", responseType: "bytes", mutating: false) {
                _,
                context in
                Array((context.metadata[MetadataKey.authorization] ?? "").utf8)
            },
            RPCMethod(name: "/test.v1.Test/Where", requestType: "bytes", responseType: "bytes", mutating: false) {
                _,
                _ in
                Array((MultiThreadedEventLoopGroup.currentEventLoop == nil ? "pool" : "loop").utf8)
            },
            RPCMethod(name: "/test.v1.Test/WhereWrite", requestType: "bytes", responseType: "bytes", mutating: true) {
                _,
                _ in
                Array((MultiThreadedEventLoopGroup.currentEventLoop == nil ? "pool" : "loop").utf8)
            },
            RPCMethod(name: "/test.v1.Test/Fail", requestType: "bytes", responseType: "bytes", mutating: false) {
                _,
                _ in
                throw RPCError(
                    code: .failedPrecondition,
                    reason: "TEST_REASON",
                    message: "as asked",
                    details: ["k": "v"]
                )
            },
            RPCMethod(name: "/test.v1.Test/Crash", requestType: "bytes", responseType: "bytes", mutating: false) {
                _,
                _ in
                struct SecretInternalFailure: Error { let password = "hunter2" }
                throw SecretInternalFailure()
            },
        ]
    }
}

/// Starts a server on port 0 with the test service; always shuts it down.
func withTestServer<T>(
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (RPCServer, Probe) async throws -> T
) async throws -> T {
    var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let probe = Probe()
    let server = try await RPCServer.start(
        router: RPCRouter(services: [TestService(probe: probe)]),
        configuration: configuration
    )
    do {
        let result = try await body(server, probe)
        try await server.shutdownGracefully()
        return result
    } catch {
        try? await server.shutdownGracefully()
        throw error
    }
}

func client(_ server: RPCServer, connections: Int = 1, maxAttempts: Int = 1) -> RPCClient {
    RPCClient(
        configuration: ClientConfiguration(
            host: "127.0.0.1",
            port: server.port,
            connections: connections,
            maxAttempts: maxAttempts
        )
    )
}

/// A raw TCP peer that sends whatever bytes a test wants and collects what comes back.
final class RawPeer: Sendable {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private let received = NIOLockedValueBox<(bytes: [UInt8], closed: Bool)>(([], false))
    private let reader: Task<Void, Never>

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        let received = self.received
        self.reader = Task {
            do {
                try await channel.executeThenClose { inbound, _ in
                    for try await chunk in inbound {
                        received.withLockedValue { $0.bytes += Array(chunk.readableBytesView) }
                    }
                }
            } catch {}
            received.withLockedValue { $0.closed = true }
        }
    }

    static func connect(port: Int) async throws -> RawPeer {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawPeer(channel: channel)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await self.channel.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func sendFrame(streamID: UInt32, type: FrameType, payload: [UInt8]) async throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(streamID: streamID, type: type, payload: payload)
        try await self.send(Array(buffer.readableBytesView))
    }

    func sendRequest(streamID: UInt32, method: String, payload: [UInt8] = [], timeoutMicros: UInt64 = 0) async throws {
        try await self.send(
            Self.requestFrame(streamID: streamID, method: method, payload: payload, timeoutMicros: timeoutMicros)
        )
    }

    /// A whole REQUEST frame, to send alone or several in one write.
    static func requestFrame(
        streamID: UInt32,
        method: String,
        payload: [UInt8] = [],
        timeoutMicros: UInt64 = 0
    ) throws -> [UInt8] {
        var request = Framerpc_V1_Request()
        request.method = method
        request.payload = Data(payload)
        request.timeoutMicros = timeoutMicros
        let payload: [UInt8] = try request.serializedBytes()
        var buffer = ByteBuffer()
        buffer.writeFrame(streamID: streamID, type: .request, payload: payload)
        return Array(buffer.readableBytesView)
    }

    var bytes: [UInt8] { self.received.withLockedValue { $0.bytes } }
    var isClosed: Bool { self.received.withLockedValue { $0.closed } }

    /// The server's preface and frames received so far.
    func events() throws -> [FrameDecoder.Event] {
        var buffer = ByteBuffer(bytes: self.bytes)
        var decoder = FrameDecoder(maxFrameSize: 1 << 20)
        var events: [FrameDecoder.Event] = []
        while let event = try decoder.next(from: &buffer) { events.append(event) }
        return events
    }

    func responses() throws -> [UInt32: Framerpc_V1_Response] {
        var result: [UInt32: Framerpc_V1_Response] = [:]
        for case .frame(let frame) in try self.events() where frame.type == .response {
            result[frame.streamID] = try Framerpc_V1_Response(serializedBytes: Array(frame.payload.readableBytesView))
        }
        return result
    }

    func goAway() throws -> Framerpc_V1_GoAway? {
        for case .frame(let frame) in try self.events() where frame.type == .goAway {
            return try Framerpc_V1_GoAway(serializedBytes: Array(frame.payload.readableBytesView))
        }
        return nil
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    func waitUntil(timeout: Duration = .seconds(20), _ condition: (RawPeer) throws -> Bool) async rethrows -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if try condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return try condition(self)
    }

    func close() async {
        try? await self.channel.channel.close()
        await self.reader.value
    }
}

/// A TCP front for a real server: its first connection reads the client's preface and first
/// REQUEST, answers with the server preface and GOAWAY(last stream id 0, UNAVAILABLE) and closes —
/// the call provably not processed. Every later connection is piped to the backend unchanged.
final class GoAwayFront: Sendable {
    private let channel: any Channel
    private let state = NIOLockedValueBox<(connections: Int, refused: Int)>((0, 0))
    var port: Int { self.channel.localAddress!.port! }
    var connections: Int { self.state.withLockedValue { $0.connections } }
    var refusedRequests: Int { self.state.withLockedValue { $0.refused } }

    private init(channel: any Channel) { self.channel = channel }

    static func start(backendPort: Int) async throws -> GoAwayFront {
        let box = NIOLockedValueBox<GoAwayFront?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                guard let front = box.withLockedValue({ $0 }) else { return child.close() }
                let number = front.state.withLockedValue {
                    $0.connections += 1
                    return $0.connections
                }
                if number == 1 { return child.pipeline.addHandler(RefuseFirstRequest(front: front)) }
                return ClientBootstrap(group: child.eventLoop).connect(host: "127.0.0.1", port: backendPort).flatMap {
                    backend in
                    backend.pipeline.addHandler(Pipe(peer: child)).flatMap {
                        child.pipeline.addHandler(Pipe(peer: backend))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let front = GoAwayFront(channel: channel)
        box.withLockedValue { $0 = front }
        return front
    }

    func close() async throws { try await self.channel.close() }

    private final class RefuseFirstRequest: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let front: GoAwayFront
        var buffer = ByteBuffer()
        var decoder = FrameDecoder(maxFrameSize: 1 << 20)
        init(front: GoAwayFront) { self.front = front }

        func channelActive(context: ChannelHandlerContext) {
            // The server's preface first, as a real server sends it.
            var out = ByteBuffer()
            out.writePreface(Preface())
            context.writeAndFlush(NIOAny(out), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var chunk = Self.unwrapInboundIn(data)
            self.buffer.writeBuffer(&chunk)
            while let event = try? self.decoder.next(from: &self.buffer) {
                guard case .frame(let frame) = event, frame.type == .request else { continue }
                self.front.state.withLockedValue { $0.refused += 1 }
                var goAway = Framerpc_V1_GoAway()
                goAway.lastStreamID = 0
                goAway.status = Framerpc_V1_Status(
                    RPCError(code: .unavailable, reason: WireReason.draining, message: "front refuses")
                )
                var out = ByteBuffer()
                out.writeFrame(streamID: 0, type: .goAway, payload: (try? goAway.serializedBytes()) ?? [UInt8]())
                let channel = context.channel
                context.writeAndFlush(NIOAny(out)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
        }
    }

    private final class Pipe: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        init(peer: any Channel) { self.peer = peer }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.peer.writeAndFlush(self.unwrapInboundIn(data), promise: nil)
        }
        func channelInactive(context: ChannelHandlerContext) { self.peer.close(promise: nil) }
    }
}
