import OTel
import ServiceLifecycle
import Tracing

/// Spans exported over OTLP/HTTP (swift-otel): the tracer to give ``CommerceServerConfiguration``
/// and the exporter, a `Service` to run beside the server (in its group's `alongside`, so it stops
/// after the server has drained and flushes the last spans).
///
/// The standard `OTEL_*` environment variables (sampler, headers, service name, …) apply on top,
/// as swift-otel reads them.
public struct OTLPTracing: Sendable {
    public enum Encoding: String, Sendable, CaseIterable {
        case protobuf = "http/protobuf"
        case json = "http/json"
    }

    public let tracer: any Tracer
    public let exporter: any Service

    /// - Parameters:
    ///   - endpoint: the collector's OTLP/HTTP address, `http://host:4318`; spans go to its
    ///     `/v1/traces` (a URL already ending in `/v1/traces` is used as it is).
    ///   - exportInterval: how long a finished span waits, at most, before it is sent.
    public init(
        endpoint: String,
        encoding: Encoding = .protobuf,
        serviceName: String = "commerce-server",
        exportInterval: Duration = .seconds(1)
    ) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.batchSpanProcessor.scheduleDelay = exportInterval
        configuration.traces.otlpExporter.protocol = encoding == .json ? .httpJSON : .httpProtobuf
        configuration.traces.otlpExporter.endpoint =
            endpoint.hasSuffix("/v1/traces")
            ? endpoint : (endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces")
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        self.tracer = backend.factory
        self.exporter = backend.service
    }
}
