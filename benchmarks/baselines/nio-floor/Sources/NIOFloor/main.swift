import NIOCore
import NIOPosix

// What one request/answer round trip costs on bare SwiftNIO, to set beside Redis and GetBalance
// at 1 caller: the part of the round trip no service built on NIO can shed.
//
//   NIOFloor serve PORT             answers every RESP command (redis-benchmark's GET) with "$3\r\nxxx\r\n"
//   NIOFloor get PORT SECONDS       one connection, one GET at a time; prints GETs per second
//   NIOFloor frpc-serve PORT        speaks FrameRPC: answers every REQUEST frame with a fixed
//                                   Health/Check answer (SERVING), whatever the method
//   NIOFloor frpc-call PORT SECONDS one FrameRPC connection, one Health/Check at a time (stream 1,
//                                   5 s deadline); prints calls per second
//
// Each side is one event loop and one handler that answers (or sends the next request) inside
// channelRead: the least a NIO program can do per round trip. The FrameRPC pair puts bare NIO on
// one side of commerce's own client or server, to tell the two sides' costs apart.
#if canImport(Glibc)
import Glibc
#endif

/// Counts complete RESP requests (arrays of bulk strings) in a byte stream.
struct RESPRequestCounter {
    private var pending = ByteBuffer()

    /// Adds `bytes`; returns how many requests they completed.
    mutating func feed(_ bytes: inout ByteBuffer) -> Int {
        self.pending.writeBuffer(&bytes)
        var count = 0
        while let length = Self.requestLength(self.pending.readableBytesView) {
            self.pending.moveReaderIndex(forwardBy: length)
            count += 1
        }
        self.pending.discardReadBytes()
        return count
    }

    /// The number after a type byte (`*` or `$`) at `start`, and where the next line begins.
    private static func number(_ view: ByteBufferView, at start: Int) -> (value: Int, next: Int)? {
        var index = start + 1
        var value = 0
        while index < view.endIndex, view[index] != UInt8(ascii: "\r") {
            value = value * 10 + Int(view[index] &- UInt8(ascii: "0"))
            index += 1
        }
        guard index + 1 < view.endIndex else { return nil }
        return (value, index + 2)
    }

    /// Bytes of the first request if it is complete: `*N\r\n` then N times `$len\r\n<len bytes>\r\n`.
    private static func requestLength(_ view: ByteBufferView) -> Int? {
        guard !view.isEmpty, let (count, first) = number(view, at: view.startIndex) else { return nil }
        var index = first
        for _ in 0..<count {
            guard index < view.endIndex, let (length, data) = number(view, at: index) else { return nil }
            index = data + length + 2
            guard index <= view.endIndex else { return nil }
        }
        return index - view.startIndex
    }
}

final class GetServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var requests = RESPRequestCounter()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        let count = self.requests.feed(&bytes)
        guard count > 0 else { return }
        var answer = context.channel.allocator.buffer(capacity: 9 * count)
        for _ in 0..<count { answer.writeString("$3\r\nxxx\r\n") }
        context.writeAndFlush(Self.wrapOutboundOut(answer), promise: nil)
    }
}

/// A client's closed loop: counts answers until `stopAt`, then reports the count and closes.
struct ClosedLoop {
    private var answered = 0
    private let stopAt: NIODeadline
    private let done: EventLoopPromise<Int>

    init(stopAt: NIODeadline, done: EventLoopPromise<Int>) {
        self.stopAt = stopAt
        self.done = done
    }

    /// Counts an answer; true while the next request should go out.
    mutating func answer(_ context: ChannelHandlerContext) -> Bool {
        self.answered += 1
        guard NIODeadline.now() >= self.stopAt else { return true }
        self.done.succeed(self.answered)
        context.close(promise: nil)
        return false
    }

    func fail(_ error: any Error, _ context: ChannelHandlerContext) {
        self.done.fail(error)
        context.close(promise: nil)
    }
}

/// FrameRPC bytes from a peer: the 8-byte preface once, then frames.
struct FrameRPCStream {
    private(set) var pending = ByteBuffer()
    private var sawPreface = false

    /// Adds `bytes`; true once the preface is past and frames may be read from `pending`.
    mutating func feed(_ bytes: inout ByteBuffer) -> Bool {
        self.pending.writeBuffer(&bytes)
        if !self.sawPreface {
            guard self.pending.readableBytes >= FrameRPCBytes.preface.count else { return false }
            self.pending.moveReaderIndex(forwardBy: FrameRPCBytes.preface.count)
            self.sawPreface = true
        }
        return true
    }

    /// The next whole frame's stream id and type, consumed; nil until one has arrived in full.
    mutating func nextFrame() -> (streamID: UInt32, type: UInt8)? {
        guard let (length, streamID, type) = FrameRPCBytes.firstFrame(self.pending) else {
            self.pending.discardReadBytes()
            return nil
        }
        self.pending.moveReaderIndex(forwardBy: length)
        return (streamID, type)
    }
}

final class GetClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var pending = ByteBuffer()
    private var loop: ClosedLoop

    init(stopAt: NIODeadline, done: EventLoopPromise<Int>) {
        self.loop = ClosedLoop(stopAt: stopAt, done: done)
    }

    private func sendGet(_ context: ChannelHandlerContext) {
        var request = context.channel.allocator.buffer(capacity: 40)
        request.writeString("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000000\r\n")
        context.writeAndFlush(Self.wrapOutboundOut(request), promise: nil)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.sendGet(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        self.pending.writeBuffer(&bytes)
        // An answer is a bulk string "$N\r\n<N bytes>\r\n" or a null "$-1\r\n".
        let view = self.pending.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < view.endIndex else { return }
        let length = Int(String(decoding: view[(view.startIndex + 1)..<cr], as: UTF8.self)) ?? -1
        let total = cr + 2 - view.startIndex + (length >= 0 ? length + 2 : 0)
        guard view.count >= total else { return }
        self.pending.moveReaderIndex(forwardBy: total)
        self.pending.discardReadBytes()
        if self.loop.answer(context) { self.sendGet(context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.loop.fail(error, context)
    }
}

/// FrameRPC's bytes, written out by hand (see proto/framerpc/v1/envelope.proto and FrameRPC's Frame).
enum FrameRPCBytes {
    static let preface: [UInt8] = Array("FRPC".utf8) + [0, 1, 0, 0]
    static let headerSize = 10

    static func frame(streamID: UInt32, type: UInt8, payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [
            UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
            UInt8(streamID >> 24), UInt8(streamID >> 16 & 0xFF), UInt8(streamID >> 8 & 0xFF), UInt8(streamID & 0xFF),
            type, 0,
        ] + payload
    }

    /// Request envelope: method (field 1), timeout_micros (field 3) = 5,000,000; an empty HealthCheckRequest.
    static let healthCheck: [UInt8] = {
        let method = Array("/framerpc.v1.Health/Check".utf8)
        return frame(
            streamID: 1,
            type: 0x01,
            payload: [0x0A, UInt8(method.count)] + method + [0x18, 0xC0, 0x96, 0xB1, 0x02]
        )
    }()

    /// Response envelope: status {} (OK), payload = HealthCheckResponse { status: SERVING }.
    static func healthAnswer(streamID: UInt32) -> [UInt8] {
        frame(streamID: streamID, type: 0x02, payload: [0x0A, 0x00, 0x12, 0x02, 0x08, 0x01])
    }

    /// The length of the first whole frame in `buffer`, with its stream id and type.
    static func firstFrame(_ buffer: ByteBuffer) -> (length: Int, streamID: UInt32, type: UInt8)? {
        guard
            let (length, streamID, type, _) = buffer.getMultipleIntegers(
                at: buffer.readerIndex,
                as: (UInt32, UInt32, UInt8, UInt8).self
            ),
            buffer.readableBytes >= headerSize + Int(length)
        else { return nil }
        return (headerSize + Int(length), streamID, type)
    }
}

final class FrameRPCServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var stream = FrameRPCStream()

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(
            Self.wrapOutboundOut(context.channel.allocator.buffer(bytes: FrameRPCBytes.preface)),
            promise: nil
        )
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        guard self.stream.feed(&bytes) else { return }
        var answers = context.channel.allocator.buffer(capacity: 32)
        while let (streamID, type) = self.stream.nextFrame() {
            if type == 0x01 { answers.writeBytes(FrameRPCBytes.healthAnswer(streamID: streamID)) }
        }
        if answers.readableBytes > 0 { context.writeAndFlush(Self.wrapOutboundOut(answers), promise: nil) }
    }
}

final class FrameRPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var stream = FrameRPCStream()
    private var loop: ClosedLoop

    init(stopAt: NIODeadline, done: EventLoopPromise<Int>) {
        self.loop = ClosedLoop(stopAt: stopAt, done: done)
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(
            Self.wrapOutboundOut(
                context.channel.allocator.buffer(bytes: FrameRPCBytes.preface + FrameRPCBytes.healthCheck)
            ),
            promise: nil
        )
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        guard self.stream.feed(&bytes) else { return }
        while let (_, type) = self.stream.nextFrame() {
            guard type == 0x02 else { continue }
            guard self.loop.answer(context) else { return }
            context.writeAndFlush(
                Self.wrapOutboundOut(context.channel.allocator.buffer(bytes: FrameRPCBytes.healthCheck)),
                promise: nil
            )
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.loop.fail(error, context)
    }
}

let arguments = CommandLine.arguments
let modes = ["serve", "get", "frpc-serve", "frpc-call"]
guard arguments.count >= 3, let port = Int(arguments[2]), modes.contains(arguments[1]) else {
    print("usage: NIOFloor serve|frpc-serve PORT | NIOFloor get|frpc-call PORT SECONDS")
    exit(2)
}
let frameRPC = arguments[1].hasPrefix("frpc")
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
if arguments[1].hasSuffix("serve") {
    let channel = try ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if frameRPC {
                    try channel.pipeline.syncOperations.addHandler(FrameRPCServerHandler())
                } else {
                    try channel.pipeline.syncOperations.addHandler(GetServerHandler())
                }
            }
        }
        .bind(host: "127.0.0.1", port: port).wait()
    try channel.closeFuture.wait()
} else {
    let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 5 : 5
    let done = group.next().makePromise(of: Int.self)
    let stopAt = NIODeadline.now() + .milliseconds(Int64(seconds * 1000))
    _ = try ClientBootstrap(group: group)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if frameRPC {
                    try channel.pipeline.syncOperations.addHandler(FrameRPCClientHandler(stopAt: stopAt, done: done))
                } else {
                    try channel.pipeline.syncOperations.addHandler(GetClientHandler(stopAt: stopAt, done: done))
                }
            }
        }
        .connect(host: "127.0.0.1", port: port).wait()
    let answered = try done.futureResult.wait()
    print(Int((Double(answered) / seconds).rounded()))
}
