import NIOCore

/// When a connection last received bytes and last completed a frame, for the timeouts that count
/// whole frames: a peer that drips a byte now and then is not "active". Touched only on the
/// connection's event loop.
final class ReadProgress {
    let opened = NIODeadline.now()
    /// This connection's share of the server's ``PartialFrameBudget`` (set once it is in a pipeline).
    var budget: (PartialFrameBudget, PartialFrameBudget.Account)?
    /// The server's mean frame size, which sizes each read's share of a turn.
    var frameSizes: FrameSizes?

    /// `bytes` of what arrived made a whole frame (or the preface, or were skipped).
    func completed(_ bytes: Int) {
        if let (budget, account) = self.budget { budget.consumed(bytes, on: account) }
        self.frameSizes?.record(bytes)
    }
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
    private let budget: PartialFrameBudget

    init(progress: ReadProgress, budget: PartialFrameBudget) {
        self.progress = progress
        self.budget = budget
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let account = self.budget.open {
            bound.eventLoop.execute { bound.value.fireUserInboundEventTriggered(PartialFrameBudgetExceeded()) }
        }
        self.progress.budget = (self.budget, account)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let (budget, account) = self.progress.budget { budget.close(account) }
        self.progress.budget = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.progress.partialSince == nil { self.progress.partialSince = .now() }
        if let (budget, account) = self.progress.budget {
            budget.received(Self.unwrapInboundIn(data).readableBytes, on: account)
        }
        context.fireChannelRead(data)
    }
}
