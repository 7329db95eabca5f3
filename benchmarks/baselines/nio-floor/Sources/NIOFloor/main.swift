// What one request/answer round trip costs on bare SwiftNIO, to set beside Redis and GetBalance
// at 1 caller: the part of the round trip no service built on NIO can shed.
//
//   NIOFloor serve PORT             answers every RESP command (redis-benchmark's GET) with "$3\r\nxxx\r\n"
//   NIOFloor get PORT SECONDS       one connection, one GET at a time; prints GETs per second
//
// Each side is one event loop and one handler that answers (or sends the next request) inside
// channelRead: the least a NIO program can do per round trip.
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

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

final class GetClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var pending = ByteBuffer()
    private var answered = 0
    private let stopAt: NIODeadline
    private let done: EventLoopPromise<Int>

    init(stopAt: NIODeadline, done: EventLoopPromise<Int>) {
        self.stopAt = stopAt
        self.done = done
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
        self.answered += 1
        if NIODeadline.now() < self.stopAt {
            self.sendGet(context)
        } else {
            self.done.succeed(self.answered)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.done.fail(error)
        context.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[2]), ["serve", "get"].contains(arguments[1]) else {
    print("usage: NIOFloor serve PORT | NIOFloor get PORT SECONDS")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
if arguments[1] == "serve" {
    let channel = try ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(GetServerHandler()) }
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
                try channel.pipeline.syncOperations.addHandler(GetClientHandler(stopAt: stopAt, done: done))
            }
        }
        .connect(host: "127.0.0.1", port: port).wait()
    let answered = try done.futureResult.wait()
    print(Int((Double(answered) / seconds).rounded()))
}
