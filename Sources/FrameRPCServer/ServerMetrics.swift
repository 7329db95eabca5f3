import FrameRPC
import Metrics
import NIOConcurrencyHelpers

/// Per-method counters and latency, through swift-metrics (Prometheus in `commerce-server serve`).
///
/// - `rpc_server_calls_total{method, code}`: calls answered, by status code name.
/// - `rpc_server_call_duration_seconds{method}`: time from request frame to response frame.
/// - `rpc_server_connections`: open connections.
final class ServerMetrics: Sendable {
    private struct MethodKey: Hashable { let method: String; let code: StatusCode }
    private let counters = NIOLockedValueBox<[MethodKey: Counter]>([:])
    private let timers = NIOLockedValueBox<[String: Timer]>([:])
    let connections = Gauge(label: "rpc_server_connections")

    func record(method: String, code: StatusCode, nanoseconds: Int64) {
        let key = MethodKey(method: method, code: code)
        let counter = self.counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "rpc_server_calls_total", dimensions: [("method", method), ("code", code.name)])
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timer = self.timers.withLockedValue { timers in
            if let timer = timers[method] { return timer }
            let timer = Timer(label: "rpc_server_call_duration_seconds", dimensions: [("method", method)], preferredDisplayUnit: .seconds)
            timers[method] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }
}
