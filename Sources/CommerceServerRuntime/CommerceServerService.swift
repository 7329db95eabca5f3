import Logging
import Prometheus
import ServiceLifecycle

/// Runs the server under swift-service-lifecycle: on SIGTERM or SIGINT it drains (GOAWAY, finish
/// calls in flight) and returns.
public struct CommerceServerService: Service {
    let configuration: CommerceServerConfiguration
    let metrics: (host: String, port: Int, registry: PrometheusCollectorRegistry)?
    let logger: Logger
    let onStart: @Sendable (CommerceServer, _ metricsPort: Int?) async throws -> Void

    public init(
        configuration: CommerceServerConfiguration,
        metrics: (host: String, port: Int, registry: PrometheusCollectorRegistry)?,
        logger: Logger,
        onStart: @escaping @Sendable (CommerceServer, _ metricsPort: Int?) async throws -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.onStart = onStart
    }

    public func run() async throws {
        let server = try await CommerceServer.start(self.configuration, logger: self.logger)
        var endpoint: MetricsEndpoint?
        if let metrics = self.metrics {
            endpoint = try await MetricsEndpoint.start(host: metrics.host, port: metrics.port, registry: metrics.registry)
            self.logger.info("metrics endpoint listening", metadata: ["address": "http://\(metrics.host):\(endpoint!.port)/metrics"])
        }
        try await self.onStart(server, endpoint?.port)
        try? await gracefulShutdown()
        self.logger.info("shutdown requested")
        try await server.shutdownGracefully()
        await endpoint?.close()
    }
}

extension CommerceServerService: CustomStringConvertible {
    /// What ServiceLifecycle logs at start: no configuration, so no secret.
    public var description: String { "CommerceServerService" }
}
