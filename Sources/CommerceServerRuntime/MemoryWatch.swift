import ServiceLifecycle

/// Looks at the load every `interval` and lets the ``MemoryReleaser`` decide, on a loop of its own.
/// It used to look before each expiry sweep, and a sweep's write waits behind the writes a flood
/// queued: the first look after a PlaceOrder flood came 7 s into the ordinary load that followed
/// it (`benchmarks/overload.sh`, session 31).
struct MemoryWatch: Service {
    let releaser: MemoryReleaser
    let interval: Duration
    /// Calls in flight now, and the most since the last look.
    let load: @Sendable () -> (callsInFlight: Int, highest: Int)

    func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let (callsInFlight, highest) = self.load()
            await self.releaser.observe(callsInFlight: callsInFlight, highest: highest)
            // The wait ends early on a graceful shutdown.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
