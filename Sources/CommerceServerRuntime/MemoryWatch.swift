import Metrics
import ServiceLifecycle

/// Looks at the load every `interval` and lets the ``MemoryReleaser`` decide, on a loop of its own.
/// It used to look before each expiry sweep, and a sweep's write waits its turn behind the writes
/// a flood queued (up to `--max-queued-writes`), so the look after a flood waited with it. What it
/// looked at is published too: the calls in
/// flight, and the most there were since the last look (a surge between two scrapes shows), to read
/// against `--max-calls-in-flight`.
struct MemoryWatch: Service {
    let releaser: MemoryReleaser
    let interval: Duration
    /// Calls in flight now, and the most since the last look.
    let load: @Sendable () -> (callsInFlight: Int, highest: Int)

    private static let inFlight = Gauge(label: "rpc_server_calls_in_flight")
    private static let highest = Gauge(label: "rpc_server_calls_in_flight_highest")

    func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let (callsInFlight, highest) = self.load()
            Self.inFlight.record(callsInFlight)
            Self.highest.record(highest)
            await self.releaser.observe(callsInFlight: callsInFlight, highest: highest)
            // The wait ends early on a graceful shutdown.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
