import FrameRPC
import Metrics
import NIOConcurrencyHelpers

/// Per-method counters and latency, through swift-metrics (Prometheus in `commerce-server serve`).
///
/// - `rpc_server_calls_total{method, code}`: calls answered, by status code name.
/// - `rpc_server_call_duration_seconds{method}`: time from request frame to response frame.
/// - `rpc_server_connections`: open connections.
///
/// Every method's metric objects are made once, when the server starts, so recording a call is an
/// array index and the metrics backend's own atomics — no lookup by name, no lock of ours.
public final class ServerMetrics: Sendable {
    let connections = Gauge(label: "rpc_server_connections")
    private let methods: [String: MethodMetrics]
    /// For calls that never reached a method (unknown method, malformed envelope, ...).
    private let unrouted = MethodMetrics(method: "?")

    public init(methods: [String]) {
        var table: [String: MethodMetrics] = [:]
        for method in methods { table[method] = MethodMetrics(method: method) }
        self.methods = table
    }

    public func method(_ name: String) -> MethodMetrics {
        self.methods[name] ?? self.unrouted
    }
}

public final class MethodMetrics: Sendable {
    private let method: String
    private let timer: Timer
    private let counters: [Counter]
    private let otherCounters = NIOLockedValueBox<[UInt32: Counter]>([:])

    init(method: String) {
        self.method = method
        self.timer = Timer(
            label: "rpc_server_call_duration_seconds",
            dimensions: [("method", method)],
            preferredDisplayUnit: .seconds
        )
        self.counters = (0...16).map { code in
            Counter(
                label: "rpc_server_calls_total",
                dimensions: [("method", method), ("code", StatusCode(rawValue: UInt32(code)).name)]
            )
        }
    }

    public func record(code: StatusCode, nanoseconds: Int64) {
        if Int(code.rawValue) < self.counters.count {
            self.counters[Int(code.rawValue)].increment()
        } else {
            let counter = self.otherCounters.withLockedValue { counters in
                if let counter = counters[code.rawValue] { return counter }
                let counter = Counter(
                    label: "rpc_server_calls_total",
                    dimensions: [("method", self.method), ("code", code.name)]
                )
                counters[code.rawValue] = counter
                return counter
            }
            counter.increment()
        }
        self.timer.recordNanoseconds(nanoseconds)
    }
}
