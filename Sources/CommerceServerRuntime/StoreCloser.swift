import CommerceSQLite
import CommerceUseCases
import Logging
import NIOPosix
import ServiceLifecycle

/// The last part to stop: once the listener has drained and the sweeper and relay have finished,
/// closes the store (the last commits flushed) and the event loops the server owns, and logs what
/// group commit did over the server's life.
struct StoreCloser: Service {
    let store: any ServedStore
    let ownGroup: MultiThreadedEventLoopGroup?
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        try await self.ownGroup?.shutdownGracefully()
        await self.store.close()
        let commits = self.store.groupCommitStatistics
        self.logger.notice(
            "group commit",
            metadata: [
                "transactions": "\(commits.batches)", "writes": "\(commits.writes)",
                "writes_per_transaction":
                    "\(commits.batches == 0 ? 0 : Double(commits.writes) / Double(commits.batches))",
                "commit_cpu_us_per_write":
                    "\(commits.writes == 0 ? 0 : Int(commits.busySeconds * 1e6 / Double(commits.writes)))",
                "commit_wall_us_per_write":
                    "\(commits.writes == 0 ? 0 : Int(commits.wallSeconds * 1e6 / Double(commits.writes)))",
                "replayed_transactions": "\(commits.replays)",
                "abandoned_writes": "\(commits.abandoned)",
            ]
        )
    }
}
