import NIOCore

/// First on a plaintext HTTP connection: reads until it can tell HTTP/2 with prior knowledge (the
/// client's 24-byte connection preface, `PRI * HTTP/2.0…`) from HTTP/1.1 (anything else), has the
/// pipeline for that protocol set up behind it, hands it what it read, and leaves.
final class HTTPVersionDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let configureHTTP1: @Sendable (any Channel) -> EventLoopFuture<Void>
    private let configureHTTP2: @Sendable (any Channel) -> EventLoopFuture<Void>
    private var buffered: ByteBuffer?
    private var decided = false

    init(
        http1: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>,
        http2: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) {
        self.configureHTTP1 = http1
        self.configureHTTP2 = http2
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        if var buffered = self.buffered {
            buffered.writeBuffer(&bytes)
            self.buffered = buffered
        } else {
            self.buffered = bytes
        }
        guard !self.decided, let buffered = self.buffered else { return }
        let count = min(buffered.readableBytes, Self.http2Preface.count)
        let prefixMatches = buffered.readableBytesView.prefix(count).elementsEqual(Self.http2Preface.prefix(count))
        if prefixMatches && count < Self.http2Preface.count { return }
        self.decided = true
        let configure = prefixMatches ? self.configureHTTP2 : self.configureHTTP1
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        configure(context.channel).whenComplete { result in
            let context = loopContext.value
            switch result {
            case .success:
                handler.value.handOver(context: context)
            case .failure:
                context.close(promise: nil)
            }
        }
    }

    private func handOver(context: ChannelHandlerContext) {
        if let buffered = self.buffered {
            self.buffered = nil
            context.fireChannelRead(Self.wrapInboundOut(buffered))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

@available(*, unavailable)
extension HTTPVersionDetector: Sendable {}
