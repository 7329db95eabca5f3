import Foundation
import FrameRPC
import FrameRPCServer
import Logging
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection of the Connect listener: reads a request (head, then a bounded body),
/// runs its method through the same router entry a FrameRPC connection calls (access check,
/// decoding, use case) as a task on this event loop, and answers in the request's encoding or with
/// Connect's JSON error. One call at a time (HTTP/1.1; NIO's pipelining helper queues the next
/// request). The deadline cancels the call's task, and so does the client going away. A body still
/// arriving counts against the server-wide budget for unfinished requests; chosen past it, the
/// request is refused `RESOURCE_EXHAUSTED` / `PARTIAL_FRAME_BUDGET` and the connection closed.
final class ConnectHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private struct Call {
        let id: UInt32
        let task: Task<Void, Never>
        let timer: Scheduled<Void>
    }

    private let router: RPCRouter
    let configuration: ConnectConfiguration
    let admission: Admission
    private let partialBytes: PartialFrameBudget
    /// This connection's (or HTTP/2 stream's) share of `partialBytes`, and the body bytes it counts.
    private var account: PartialFrameBudget.Account?
    private var countedBodyBytes = 0
    /// Between a request's head and its end.
    var receivingBody = false
    private let routes: [String: @Sendable () async -> StaticResponse]
    let metrics: ServerMetrics
    private let logger: Logger
    /// Shared by the listener's connections: evictions for the budget are logged a few at a time.
    private let evictionLog: LogLimiter
    /// The method and start of the request being answered, for its metrics.
    var started: (method: String, at: NIODeadline)?

    var head: HTTPRequestHead?
    var request: Result<ConnectRequest, RPCError>?
    var body: ByteBuffer?
    private var call: Call?
    private var calls: UInt32 = 0
    private var timer: Scheduled<Void>?
    var draining = false
    private var executor: EventLoopTaskExecutor?
    private var remoteAddress = "?"

    init(
        router: RPCRouter,
        configuration: ConnectConfiguration,
        admission: Admission,
        partialBytes: PartialFrameBudget,
        routes: [String: @Sendable () async -> StaticResponse],
        metrics: ServerMetrics,
        logger: Logger,
        evictionLog: LogLimiter
    ) {
        self.evictionLog = evictionLog
        self.partialBytes = partialBytes
        self.metrics = metrics
        self.router = router
        self.configuration = configuration
        self.admission = admission
        self.routes = routes
        self.logger = logger
    }

    static let healthPrefix = "/\(Framerpc_V1_Health.name)/"

    func handlerAdded(context: ChannelHandlerContext) {
        self.executor = EventLoopTaskExecutor(context.eventLoop)
        self.remoteAddress = context.channel.remoteAddress?.description ?? "?"
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        self.account = self.partialBytes.open {
            eventLoop.execute { handler.value.budgetExceeded(context: loopContext.value) }
        }
        self.arm(self.configuration.idleTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let account = self.account { self.partialBytes.close(account) }
        self.account = nil
        self.countedBodyBytes = 0
    }

    /// The budget for unfinished requests chose this one, the largest: refuse it and close.
    private func budgetExceeded(context: ChannelHandlerContext) {
        // Its bytes were already taken off the budget's total; forget them here too.
        self.countedBodyBytes = 0
        guard self.receivingBody else { return }  // it arrived whole meanwhile
        self.receivingBody = false
        self.respond(
            error: RPCError(
                code: .resourceExhausted,
                reason: WireReason.partialFrameBudget,
                message:
                    "the server holds too many bytes of requests still arriving; this one, the largest, was dropped"
            ),
            context: context,
            close: true
        )
        if let suppressed = self.evictionLog.admit() {
            var metadata: Logger.Metadata = ["peer": "\(self.remoteAddress)"]
            if suppressed > 0 { metadata["suppressed_before"] = "\(suppressed)" }
            self.logger.info(
                "closing the HTTP connection holding the most bytes of unfinished requests",
                metadata: metadata
            )
        }
    }

    /// The body being read is whole, refused or answered: its bytes no longer count as unfinished.
    func releaseBody() {
        guard self.countedBodyBytes > 0, let account = self.account else { return }
        self.partialBytes.consumed(self.countedBodyBytes, on: account)
        self.countedBodyBytes = 0
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        if let call = self.call {
            // The client went away: its call's task is cancelled (work still queued is skipped).
            self.call = nil
            call.timer.cancel()
            call.task.cancel()
            self.admission.release()
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            self.draining = true
            if self.call == nil && self.head == nil { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The next thing must happen within `timeout`: a whole head, or a whole body.
    func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        self.timer?.cancel()
        let channel = context.channel
        self.timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.receivingBody = true
            self.body = context.channel.allocator.buffer(capacity: 0)
            self.arm(self.configuration.requestTimeout, context: context)
            if self.routes[head.uri] == nil || (head.method != .GET && head.method != .HEAD) {
                self.started = (String(head.uri.prefix { $0 != "?" }), .now())
                self.request = Result { () throws(RPCError) in
                    try ConnectRequest(head: head, router: self.router, maximumDeadline: self.configuration.maxDeadline)
                }
                if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                    length > self.configuration.maxBodySize
                {
                    self.request = .failure(self.tooLarge)
                }
            } else {
                self.request = nil
            }
        case .body(var part):
            guard case .success = self.request, var body = self.body else { return }
            guard body.readableBytes + part.readableBytes <= self.configuration.maxBodySize else {
                // Without a Content-Length the size shows only now: answer, and close rather than read on.
                self.request = .failure(self.tooLarge)
                self.body = nil
                self.respond(error: self.tooLarge, context: context, close: true)
                return
            }
            if let account = self.account {
                self.countedBodyBytes += part.readableBytes
                self.partialBytes.received(part.readableBytes, on: account)
            }
            body.writeBuffer(&part)
            self.body = body
        case .end:
            self.timer?.cancel()
            self.receivingBody = false
            self.releaseBody()
            guard let head = self.head else { return }
            switch self.request {
            case nil:
                self.serveStatic(head, context: context)
            case .failure(let error):
                if self.body != nil { self.respond(error: error, context: context) }
            case .success(let request):
                var bytes =
                    request.queryMessage.map { context.channel.allocator.buffer(bytes: $0) } ?? self.body
                    ?? ByteBuffer()
                if request.gzipped {
                    do throws(RPCError) {
                        bytes = try ConnectCodec.gunzip(bytes, limit: self.configuration.maxBodySize)
                    } catch {
                        self.respond(error: error, context: context)
                        return
                    }
                }
                self.start(request, body: Array(bytes.readableBytesView), context: context)
            }
        }
    }

    private var tooLarge: RPCError {
        RPCError(
            code: .resourceExhausted,
            reason: WireReason.frameTooLarge,
            message: "the request body is above \(self.configuration.maxBodySize) bytes"
        )
    }

    private func serveStatic(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard let route = self.routes[head.uri] else { return }
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let loopContext = NIOLoopBound(context, eventLoop: eventLoop)
        let isHead = head.method == .HEAD
        Task(executorPreference: self.executor) {
            let response = await route()
            eventLoop.execute {
                handler.value.write(
                    status: .ok,
                    contentType: response.contentType,
                    body: isHead ? [] : response.body,
                    contentLength: response.body.count,
                    context: loopContext.value
                )
            }
        }
    }

    private func start(_ request: ConnectRequest, body: [UInt8], context: ChannelHandlerContext) {
        let method = request.method
        guard self.admission.admit(mutating: method.mutating, exempt: method.name.hasPrefix(Self.healthPrefix)) else {
            self.respond(
                error: RPCError(
                    code: .resourceExhausted,
                    reason: WireReason.overloaded,
                    message: "the server has \(self.admission.limit) calls in flight; retry shortly",
                    details: ["retry_after_ms": "50"]
                ),
                context: context,
                extraHeaders: [("retry-after", "1")]
            )
            self.waitForRoom(context: context)
            return
        }
        let payload: Data
        do throws(RPCError) {
            payload = try request.codec.requestPayload(body, as: method.messageTypes?.request)
        } catch {
            self.admission.release()
            self.respond(error: error, context: context)
            return
        }
        if request.timeout == .zero {
            // A deadline already passed: answered without running anything.
            self.admission.release()
            self.respond(
                error: RPCError(
                    code: .deadlineExceeded,
                    reason: WireReason.deadlineExceeded,
                    message: "connect-timeout-ms is 0"
                ),
                context: context
            )
            return
        }
        self.calls &+= 1
        let id = self.calls
        let deadline = NIODeadline.now() + (request.timeout ?? self.configuration.maxDeadline)
        let serverContext = ServerContext(
            method: method.name,
            metadata: request.metadata,
            deadline: deadline,
            connectionTag: "http",
            streamID: id,
            connectionLogger: self.logger,
            remoteAddress: self.remoteAddress,
            transport: "connect"
        )
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let loopContext = NIOLoopBound(context, eventLoop: eventLoop)
        let codec = request.codec
        // As on FrameRPC connections: a read's task on this loop, a write's off it.
        let task = method.start(
            payload,
            serverContext,
            executor: method.mutating ? nil : self.executor,
            on: eventLoop
        ) { result in
            handler.value.finish(id, result: result, codec: codec, method: method, context: loopContext.value)
        }
        let timer = eventLoop.scheduleTask(deadline: deadline) { handler.value.expire(id, context: loopContext.value) }
        self.call = Call(id: id, task: task, timer: timer)
    }

    private func finish(
        _ id: UInt32,
        result: Result<[UInt8], any Error>,
        codec: ConnectCodec,
        method: RPCMethod,
        context: ChannelHandlerContext
    ) {
        guard let call = self.call, call.id == id else { return }
        self.call = nil
        call.timer.cancel()
        self.admission.release()
        switch result {
        case .success(let reply):
            do {
                let body = try codec.responseBody(reply, as: method.messageTypes?.response)
                self.record(.ok)
                self.write(status: .ok, contentType: codec.contentType, body: body, context: context)
            } catch {
                self.respond(
                    error: RPCError(
                        code: .internal,
                        reason: WireReason.internalError,
                        message: "the reply could not be encoded"
                    ),
                    context: context
                )
            }
        case .failure(let error):
            self.respond(error: RPCError.answering(error, logger: self.logger), context: context)
        }
    }

    private func expire(_ id: UInt32, context: ChannelHandlerContext) {
        guard let call = self.call, call.id == id else { return }
        self.call = nil
        call.task.cancel()
        self.admission.release()
        self.respond(
            error: RPCError(
                code: .deadlineExceeded,
                reason: WireReason.deadlineExceeded,
                message:
                    "deadline exceeded; for a state-changing call the outcome is unknown: retry with the same idempotency key"
            ),
            context: context
        )
    }
}

@available(*, unavailable)
extension ConnectHandler: Sendable {}
