import CommerceUseCases
import Logging
import ServiceLifecycle

/// Expires unpaid two-step orders, takes the day's ranking snapshot and prunes window totals older
/// than a week, every `interval`, until a graceful shutdown. Every instance sweeps: the guarded
/// status change makes each expiry happen once, and the first sweep of any instance after the
/// shop's midnight takes the snapshot.
struct ExpirySweeper: Service {
    let useCases: CommerceUseCases
    let interval: Duration
    /// The shop's calendar, for the snapshot's log line.
    let timeZone: String
    let logger: Logger

    func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let expired = try await self.useCases.expireOrders()
                if expired > 0 { self.logger.info("expired unpaid orders", metadata: ["count": "\(expired)"]) }
                let snapshotStarted = ContinuousClock.now
                if try await self.useCases.takeRankingSnapshot() {
                    let elapsed = ContinuousClock.now - snapshotStarted
                    self.logger.info(
                        "took the ranking snapshot",
                        metadata: [
                            "time_zone": "\(self.timeZone)",
                            "ms":
                                "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                        ]
                    )
                }
                let pruned = try await self.useCases.pruneWindowTotals()
                if pruned > 0 { self.logger.info("pruned old window totals", metadata: ["rows": "\(pruned)"]) }
            } catch {
                self.logger.warning("order expiry sweep failed", metadata: ["error": "\(error)"])
            }
            // The wait ends early on a graceful shutdown; a sweep in progress does not.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
        self.logger.debug("expiry sweeper stopped")
    }
}
