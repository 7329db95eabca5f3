import ArgumentParser
import CommerceDomain
import CommercePostgres
import CommerceSQLite
import CommerceServerRuntime
import CommerceUseCases
import Foundation
import FrameRPCConnect
import FrameRPCServer
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import ServiceLifecycle

struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: """
            The database: a SQLite file's path (created if missing), or a PostgreSQL URL \
            (postgres://user[:password]@host[:port]/database, or ?host=/socket/dir) for instances on several hosts.
            """
    )
    var path: String = "data/commerce.sqlite"

    @Option(help: "PostgreSQL: write lanes (connections committing groups of writes side by side).")
    var writeLanes: Int = 8

    @Option(help: "PostgreSQL: the most writes one lane commits in one transaction.")
    var maxBatch: Int = 32

    @Option(help: "SQLite synchronous mode: full (durable on power loss), normal, off.")
    var synchronous: StoreConfiguration.Synchronous = .full

    @Option(help: "Seconds a write waits for another process's lock before failing with STORAGE_BUSY.")
    var busyTimeout: Double = 30

    @Option(help: "Read lanes: serial queues with one read-only SQLite connection each.")
    var readLanes: Int = 4

    @Option(
        help:
            "WAL pages after which the background checkpointer makes the WAL start over (bounds it under sustained writes)."
    )
    var walRestartFrames: Int = 8_192

    @Option(help: "Writes that may wait for the database at once; more are refused WRITE_QUEUE_FULL.")
    var maxQueuedWrites: Int = 10_000

    @Option(
        help: """
            The shop's time zone (an IANA name): the calendar days TopProducts counts. Recorded in the database; \
            `migrate --time-zone` re-counts the rankings in another one.
            """
    )
    var timeZone: String = "Asia/Seoul"

    func validate() throws {
        if let postgres = self.postgres { _ = try postgres.endpoint }
        guard (1...64).contains(self.writeLanes) else { throw ValidationError("--write-lanes must be 1...64") }
        guard (1...1_000).contains(self.maxBatch) else { throw ValidationError("--max-batch must be 1...1000") }
        guard self.walRestartFrames >= 1 else { throw ValidationError("--wal-restart-frames must be at least 1") }
        guard ShopCalendar(timeZone: self.timeZone) != nil else {
            throw ValidationError(
                "--time-zone \(self.timeZone) is not a time zone this system knows (an IANA name such as Asia/Seoul or UTC)"
            )
        }
    }

    /// The PostgreSQL store's configuration, if `--db` is a PostgreSQL URL.
    var postgres: PostgresStoreConfiguration? {
        guard PostgresStoreConfiguration.isPostgresURL(self.path) else { return nil }
        return PostgresStoreConfiguration(
            url: self.path,
            calendar: ShopCalendar(timeZone: self.timeZone)!,
            writeLanes: self.writeLanes,
            maximumBatch: self.maxBatch,
            maxQueuedWrites: self.maxQueuedWrites
        )
    }

    /// What the default events file is named after: the SQLite file, or `data/<database>` on PostgreSQL.
    var eventsFileStem: String {
        guard let postgres = self.postgres else { return self.path }
        return "data/\((try? postgres.endpoint.database) ?? "commerce").postgres"
    }

    /// Where, for messages: the file, or the URL without its password.
    var displayName: String { self.postgres?.redactedURL ?? self.path }

    /// Opens the store `--db` names (migrating it) for the time of `body`, and closes it; `recount`
    /// re-counts rankings in another calendar.
    func withStore<Result>(
        recount: Bool = false,
        _ body: (any ServedStore) async throws -> Result
    ) async throws
        -> Result
    {
        var postgres = self.postgres
        postgres?.recountRankings = recount
        var sqlite = self.store
        sqlite.recountRankings = recount
        return try await withServedStore(
            sqlite: sqlite,
            postgres: postgres,
            logger: Logger(label: "commerce.store"),
            body
        )
    }

    var store: StoreConfiguration {
        var configuration = StoreConfiguration(
            path: self.path,
            synchronous: self.synchronous,
            busyTimeout: self.busyTimeout,
            maximumReaders: self.readLanes,
            walRestartFrames: self.walRestartFrames,
            calendar: ShopCalendar(timeZone: self.timeZone)!
        )
        configuration.maxQueuedWrites = self.maxQueuedWrites
        return configuration
    }
}

extension StoreConfiguration.Synchronous: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    public static var allValueStrings: [String] { allCases.map { $0.rawValue.lowercased() } }
}
