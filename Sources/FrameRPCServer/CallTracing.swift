import FrameRPC
import Tracing

/// Spans for the calls a router answers, on any transport: each call is a server span named for
/// its method, the child of the caller's span when its metadata (FrameRPC) or headers (Connect)
/// carry a W3C `traceparent`, and the parent of what the call does (``ServerContext/span``,
/// `ServiceContext.current` inside the handler).
///
/// Off unless a router is ``RPCRouter/traced(by:)``: a router without it runs its handlers as they
/// are, with nothing added to a call.
public struct CallTracing: Sendable {
    public let tracer: any Tracer

    public init(tracer: any Tracer) {
        self.tracer = tracer
    }

    /// `handler`, inside a span of its own.
    func trace(_ method: RPCMethod) -> RPCMethod.Handler {
        let tracer = self.tracer
        let body = method.handler
        let (service, name) = (method.serviceName, method.methodName)
        let operation = String(method.name.dropFirst())
        return { payload, context in
            var parent = ServiceContext.topLevel
            tracer.extract(context.metadata, into: &parent, using: MetadataCarrier())
            let span = tracer.startSpan(operation, context: parent, ofKind: .server)
            // A call the sampler left out makes no spans below it: its context still propagates
            // (ServiceContext.current), but no use case, store write or event records it.
            guard span.isRecording else {
                defer { span.end() }
                return try await ServiceContext.withValue(span.context) { try await body(payload, context) }
            }
            span.attributes["rpc.system"] = context.transport
            span.attributes["rpc.service"] = service
            span.attributes["rpc.method"] = name
            var context = context
            context.span = span
            context.tracer = tracer
            defer { span.end() }
            do {
                let reply = try await ServiceContext.withValue(span.context) { try await body(payload, context) }
                span.attributes["rpc.framerpc.status_code"] = StatusCode.ok.name
                return reply
            } catch {
                let status = Self.status(of: error)
                span.attributes["rpc.framerpc.status_code"] = status.code.name
                span.attributes["commerce.reason"] = status.reason
                if Self.serverFaults.contains(status.code) {
                    span.recordError(error)
                    span.setStatus(SpanStatus(code: .error, message: status.reason))
                }
                throw error
            }
        }
    }

    /// What the caller is told, without logging (the transport logs an unmapped error once).
    private static func status(of error: any Error) -> (code: StatusCode, reason: String) {
        if let convertible = error as? any RPCErrorConvertible {
            return (convertible.rpcError.code, convertible.rpcError.reason)
        }
        if error is CancellationError { return (.cancelled, WireReason.cancelled) }
        return (.internal, WireReason.internalError)
    }

    /// The codes that mean the server failed, not the caller (OpenTelemetry's RPC conventions):
    /// their spans carry an error status.
    private static let serverFaults: Set<StatusCode> = [
        .unknown, .deadlineExceeded, .unimplemented, .internal, .unavailable, .dataLoss,
    ]
}

/// Reads and writes W3C trace context (`traceparent`, `tracestate`) in call metadata.
public struct MetadataCarrier: Extractor, Injector {
    public init() {}

    public func extract(key: String, from carrier: Metadata) -> String? { carrier[key] }

    public func inject(_ value: String, forKey key: String, into carrier: inout Metadata) { carrier[key] = value }
}

extension RPCRouter {
    /// This router with every method that runs as a task (all but the ``RPCMethod/immediate(_:_:)``
    /// ones, which answer on the event loop) inside a span of `tracing`.
    public func traced(by tracing: CallTracing) -> RPCRouter {
        var traced = RPCRouter()
        for method in self.methods {
            guard method.immediate == nil else {
                traced.register(method)
                continue
            }
            var wrapped = RPCMethod(
                name: method.name,
                requestType: method.requestType,
                responseType: method.responseType,
                mutating: method.mutating,
                access: method.access,
                handler: tracing.trace(method)
            )
            wrapped.messageTypes = method.messageTypes
            traced.register(wrapped)
        }
        return traced
    }
}
