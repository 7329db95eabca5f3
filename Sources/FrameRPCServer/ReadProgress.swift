import NIOCore

/// When a connection last received bytes and last completed a frame, for the timeouts that count
/// whole frames: a peer that drips a byte now and then is not "active". Touched only on the
/// connection's event loop.
final class ReadProgress {
    let opened = NIODeadline.now()
    /// The first byte received after the last complete frame (or after opening); nil when no
    /// unfinished frame is pending.
    var partialSince: NIODeadline?
    /// The last complete frame (the preface counts), or the opening.
    var lastFrame = NIODeadline.now()
}

/// Sits in front of the frame decoder and notes when bytes arrive.
final class ReadProgressHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let progress: ReadProgress

    init(progress: ReadProgress) { self.progress = progress }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.progress.partialSince == nil { self.progress.partialSince = .now() }
        context.fireChannelRead(data)
    }
}
