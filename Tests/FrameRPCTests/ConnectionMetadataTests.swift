import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf
import Testing

/// METADATA frames: a credential sent once per connection instead of with every call.
@Suite("Connection metadata over a real socket", .timeLimit(.minutes(2)))
struct ConnectionMetadataTests {
    static func metadataPayload(_ entries: [(String, String)]) throws -> [UInt8] {
        var message = Framerpc_V1_ConnectionMetadata()
        // Not through `Metadata`, which lower-cases keys: the server must do that itself.
        message.metadata = entries.map { Framerpc_V1_KeyValue(key: $0.0, value: $0.1) }
        return try message.serializedBytes()
    }

    static func requestFrame(streamID: UInt32, method: String, metadata: [(String, String)] = []) throws -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeRequestFrame(
            streamID: streamID,
            method: method,
            payload: [],
            timeoutMicros: 0,
            metadata: metadata.map { (key: $0.0, value: $0.1) }
        )
        return Array(buffer.readableBytesView)
    }

    static func reply(_ peer: RawPeer, _ streamID: UInt32) async throws -> String? {
        try await peer.waitUntil { try $0.responses()[streamID] != nil }
        guard let response = try peer.responses()[streamID] else { return nil }
        #expect(response.status.code == 0)
        return String(decoding: response.payload, as: UTF8.self)
    }

    @Test("the server's preface says it takes METADATA frames")
    func prefaceAdvertises() async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            await peer.waitUntil { $0.bytes.count >= Preface.size }
            guard case .preface(let preface) = try peer.events().first else {
                Issue.record("no preface")
                return
            }
            #expect(preface.flags & Preface.acceptsConnectionMetadata != 0)
            #expect(Array(peer.bytes.prefix(Preface.size)) == [0x46, 0x52, 0x50, 0x43, 0, 1, 0, 1])
            await peer.close()
        }
    }

    @Test("later calls carry the connection's entry; a call's own entry wins; an empty frame clears it")
    func callsCarryConnectionEntries() async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            // Before any METADATA frame: nothing.
            try await peer.send(try Self.requestFrame(streamID: 1, method: "/test.v1.Test/Credential"))
            #expect(try await Self.reply(peer, 1) == "")
            // METADATA and a call in one write: the call, read after the frame, carries it.
            var bytes: [UInt8] = []
            var frame = ByteBuffer()
            frame.writeFrame(
                streamID: 0,
                type: .metadata,
                payload: try Self.metadataPayload([("Authorization", "Bearer A")])
            )
            bytes += frame.readableBytesView
            bytes += try Self.requestFrame(streamID: 2, method: "/test.v1.Test/Credential")
            try await peer.send(bytes)
            #expect(try await Self.reply(peer, 2) == "Bearer A")
            // A call's own entry of the same key is the one it carries.
            try await peer.send(
                try Self.requestFrame(
                    streamID: 3,
                    method: "/test.v1.Test/Credential",
                    metadata: [("authorization", "Bearer B")]
                )
            )
            #expect(try await Self.reply(peer, 3) == "Bearer B")
            // A second frame replaces the first.
            try await peer.sendFrame(
                streamID: 0,
                type: .metadata,
                payload: try Self.metadataPayload([("authorization", "Bearer C")])
            )
            try await peer.send(try Self.requestFrame(streamID: 4, method: "/test.v1.Test/Credential"))
            #expect(try await Self.reply(peer, 4) == "Bearer C")
            // An empty one clears it.
            try await peer.sendFrame(streamID: 0, type: .metadata, payload: [])
            try await peer.send(try Self.requestFrame(streamID: 5, method: "/test.v1.Test/Credential"))
            #expect(try await Self.reply(peer, 5) == "")
            #expect(try peer.goAway() == nil)
            await peer.close()

            // Another connection never sees this one's entries.
            let other = try await RawPeer.connect(port: server.port)
            try await other.send(Preface().bytes)
            try await other.send(try Self.requestFrame(streamID: 1, method: "/test.v1.Test/Credential"))
            #expect(try await Self.reply(other, 1) == "")
            await other.close()
        }
    }

    enum Bad: String, CaseIterable, Sendable {
        case onAStream, perCallKey, tooLarge, notAMessage
    }

    @Test(
        "a METADATA frame the server does not take ends the connection with GOAWAY INVALID_CONNECTION_METADATA",
        arguments: Bad.allCases
    )
    func refused(_ bad: Bad) async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            switch bad {
            case .onAStream:
                try await peer.sendFrame(
                    streamID: 7,
                    type: .metadata,
                    payload: try Self.metadataPayload([("authorization", "Bearer A")])
                )
            case .perCallKey:
                // Every later call would replay the first one's outcome.
                try await peer.sendFrame(
                    streamID: 0,
                    type: .metadata,
                    payload: try Self.metadataPayload([("idempotency-key", "k1")])
                )
            case .tooLarge:
                let value = "Bearer " + String(repeating: "x", count: ConnectionMetadata.maxPayload)
                try await peer.sendFrame(
                    streamID: 0,
                    type: .metadata,
                    payload: try Self.metadataPayload([("authorization", value)])
                )
            case .notAMessage:
                try await peer.sendFrame(streamID: 0, type: .metadata, payload: [0xFF, 0xFF, 0xFF])
            }
            await peer.waitUntil { $0.isClosed }
            let goAway = try #require(try peer.goAway())
            #expect(goAway.status.code == UInt32(StatusCode.invalidArgument.rawValue))
            #expect(goAway.status.reason == WireReason.invalidConnectionMetadata)
            #expect(peer.isClosed)
            await peer.close()
        }
    }

    @Test(
        "the Swift client sends its connection entries once, to a server that takes them, and leaves them out of its calls"
    )
    func clientSendsOnce() async throws {
        for accepts in [true, false] {
            let server = try await RecordingServer.start(accepts: accepts)
            var configuration = ClientConfiguration(host: "127.0.0.1", port: server.port)
            configuration.connectionMetadata[MetadataKey.authorization] = "Bearer T"
            let client = RPCClient(configuration: configuration)
            for _ in 0..<3 {
                _ = try await client.call(
                    "/test.v1.Test/Echo",
                    request: [1],
                    options: CallOptions(metadata: ["authorization": "Bearer T", "trace-tag": "x"])
                )
            }
            // A call with another credential still sends its own.
            _ = try await client.call(
                "/test.v1.Test/Echo",
                request: [2],
                options: CallOptions(metadata: ["authorization": "Bearer U"])
            )
            await client.close()
            let seen = server.frames
            try await server.close()

            let metadataFrames = seen.filter { $0.type == .metadata }
            let requests = try seen.filter { $0.type == .request }.map {
                try Framerpc_V1_Request(serializedBytes: Array($0.payload.readableBytesView))
            }
            #expect(requests.count == 4)
            let credentials = requests.map { request in
                request.metadata.filter { $0.key == "authorization" }.map(\.value)
            }
            if accepts {
                #expect(metadataFrames.count == 1)
                #expect(seen.first?.type == .metadata, "the METADATA frame comes before every REQUEST")
                let declared = try Framerpc_V1_ConnectionMetadata(
                    serializedBytes: Array(metadataFrames[0].payload.readableBytesView)
                )
                #expect(declared.metadata.map { "\($0.key)=\($0.value)" } == ["authorization=Bearer T"])
                #expect(credentials == [[], [], [], ["Bearer U"]])
            } else {
                #expect(metadataFrames.isEmpty)
                #expect(credentials == [["Bearer T"], ["Bearer T"], ["Bearer T"], ["Bearer U"]])
            }
            // Other entries travel with each call either way.
            #expect(requests.prefix(3).allSatisfy { $0.metadata.contains { $0.key == "trace-tag" && $0.value == "x" } })
        }
    }
}

/// A FrameRPC peer that records every frame a client sends and answers each REQUEST with an empty
/// OK; its preface takes METADATA frames or not.
final class RecordingServer: Sendable {
    private let channel: any Channel
    private let recorded: NIOLockedValueBox<[Frame]>
    var port: Int { self.channel.localAddress?.port ?? 0 }
    var frames: [Frame] { self.recorded.withLockedValue { $0 } }

    private init(channel: any Channel, recorded: NIOLockedValueBox<[Frame]>) {
        self.channel = channel
        self.recorded = recorded
    }

    static func start(accepts: Bool) async throws -> RecordingServer {
        let recorded = NIOLockedValueBox<[Frame]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try sync.addHandler(Recorder(accepts: accepts, recorded: recorded))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RecordingServer(channel: channel, recorded: recorded)
    }

    func close() async throws { try await self.channel.close() }

    private final class Recorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = FrameDecoder.Event
        typealias OutboundOut = ByteBuffer
        let accepts: Bool
        let recorded: NIOLockedValueBox<[Frame]>

        init(accepts: Bool, recorded: NIOLockedValueBox<[Frame]>) {
            self.accepts = accepts
            self.recorded = recorded
        }

        func channelActive(context: ChannelHandlerContext) {
            let preface = Preface(flags: self.accepts ? Preface.acceptsConnectionMetadata : 0)
            context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(bytes: preface.bytes)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .frame(let frame) = Self.unwrapInboundIn(data) else { return }
            self.recorded.withLockedValue { $0.append(frame) }
            guard frame.type == .request else { return }
            let payload: [UInt8] = (try? Framerpc_V1_Response().serializedBytes()) ?? []
            var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + payload.count)
            buffer.writeFrame(streamID: frame.streamID, type: .response, payload: payload)
            context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        }
    }
}
