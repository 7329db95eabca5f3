import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format from a collector registry, from
/// ``start(host:port:registry:group:)`` until the service group it runs in shuts down.
public final class MetricsEndpoint: Service, Sendable {
    private let channel: any Channel
    public var port: Int { self.channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) { self.channel = channel }

    public static func start(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> MetricsEndpoint {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsEndpoint(channel: channel)
    }

    public func close() async {
        try? await self.channel.close()
    }

    /// Serves until a graceful shutdown, then closes.
    public func run() async {
        try? await gracefulShutdown()
        await self.close()
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry
    private var path = ""
    private var method = HTTPMethod.GET
    private var keepAlive = false

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.path = head.uri
            self.method = head.method
            self.keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let found = self.path == "/metrics" || self.path.hasPrefix("/metrics?")
            var (status, body): (HTTPResponseStatus, [UInt8]) =
                switch (found, self.method) {
                case (false, _): (.notFound, Array("not found; try /metrics\n".utf8))
                case (true, .GET), (true, .HEAD): (.ok, self.registry.emitToBuffer())
                case (true, _): (.methodNotAllowed, Array("/metrics answers GET only\n".utf8))
                }
            var headers = HTTPHeaders()
            if status == .methodNotAllowed { headers.add(name: "allow", value: "GET, HEAD") }
            headers.add(name: "content-type", value: "text/plain; version=0.0.4; charset=utf-8")
            headers.add(name: "content-length", value: "\(body.count)")
            if !self.keepAlive { headers.add(name: "connection", value: "close") }
            context.write(
                Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil
            )
            if self.method == .HEAD { body = [] }
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            if self.keepAlive {
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

@available(*, unavailable)
extension MetricsHTTPHandler: Sendable {}
