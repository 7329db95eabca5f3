import FrameRPC
import FrameRPCServer
import NIOCore
import NIOHTTP1

/// Answering an HTTP request: the response head and body, Connect's JSON errors, the call's metrics.
extension ConnectHandler {
    /// Counts the answered call under its method (`?` for a path that is none), as FrameRPC does.
    func record(_ code: StatusCode) {
        guard let started = self.started else { return }
        self.started = nil
        self.metrics.method(started.method).record(
            code: code,
            nanoseconds: (NIODeadline.now() - started.at).nanoseconds
        )
    }

    func respond(
        error: RPCError,
        context: ChannelHandlerContext,
        close: Bool = false,
        extraHeaders: [(String, String)] = []
    ) {
        self.record(error.code)
        // The body always has Connect's code; where HTTP has a more telling status for what went
        // wrong with the request itself, the response carries that one.
        var status = ConnectCode.httpStatus(error.code)
        var headers = extraHeaders
        switch error.reason {
        case WireReason.methodNotFound: status = .notFound
        case ConnectRequest.unsupportedContentType: status = .unsupportedMediaType
        case ConnectRequest.getNotAllowed:
            status = .methodNotAllowed
            headers.append(("allow", "POST"))
        case ConnectRequest.methodNotAllowed:
            status = .methodNotAllowed
            headers.append(("allow", "POST, GET"))
        default: break
        }
        self.write(
            status: status,
            contentType: "application/json",
            body: error.connectBody,
            extraHeaders: headers,
            close: close,
            context: context
        )
    }

    func write(
        status: HTTPResponseStatus,
        contentType: String,
        body: [UInt8],
        contentLength: Int? = nil,
        extraHeaders: [(String, String)] = [],
        close: Bool = false,
        context: ChannelHandlerContext
    ) {
        let version = self.head?.version ?? .http1_1
        // An HTTP/2 stream ends with its response (and connection headers are not allowed there);
        // an HTTP/1.1 connection stays open for the next request unless told otherwise.
        let http2 = version.major == 2
        let keepAlive = http2 || ((self.head?.isKeepAlive ?? false) && !close && !self.draining)
        var headers = HTTPHeaders([("content-type", contentType), ("content-length", "\(contentLength ?? body.count)")])
        headers.add(contentsOf: extraHeaders)
        if !keepAlive { headers.add(name: "connection", value: "close") }
        self.head = nil
        self.body = nil
        self.request = nil
        self.receivingBody = false
        self.releaseBody()
        context.write(
            Self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))),
            promise: nil
        )
        if !body.isEmpty {
            context.write(
                Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
                promise: nil
            )
        }
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
        if keepAlive && !http2 { self.arm(self.configuration.idleTimeout, context: context) }
    }
}
