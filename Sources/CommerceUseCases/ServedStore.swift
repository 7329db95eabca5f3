import CommerceDomain

/// A store as a server runs it: every port, the calendar its rollups count in, what an operator
/// watches of its write path, and how it closes.
public protocol ServedStore: CommerceStore {
    /// The shop's calendar, as recorded in the database.
    var calendar: ShopCalendar { get }
    /// What the store's group commit has done so far.
    var groupCommitStatistics: GroupCommitStatistics { get }
    /// The schema migrations applied to the database, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Frees memory the store holds only to be faster (caches), after a surge of calls.
    func releaseMemory() async
    /// Finishes the writes already accepted and closes the connections.
    func close() async
}

/// What a store's group commit has done since it opened.
public struct GroupCommitStatistics: Sendable {
    public init(
        batches: Int,
        writes: Int,
        busySeconds: Double,
        wallSeconds: Double,
        replays: Int,
        abandoned: Int,
        queued: Int
    ) {
        self.batches = batches
        self.writes = writes
        self.busySeconds = busySeconds
        self.wallSeconds = wallSeconds
        self.replays = replays
        self.abandoned = abandoned
        self.queued = queued
    }

    public var batches: Int
    public var writes: Int
    /// CPU time of the committing thread.
    public var busySeconds: Double
    /// Wall time from each batch's start to its commit.
    public var wallSeconds: Double
    /// Batches that started over with a savepoint per write.
    public var replays: Int
    /// Writes dropped before they started because nobody waited for them any more.
    public var abandoned: Int
    /// Writes waiting for a batch now (not counting the batch being committed).
    public var queued: Int
}

/// The database's rollups count days in another time zone than the server was started with.
public struct CalendarMismatch: Error, CustomStringConvertible {
    public init(database: String, configured: String) {
        self.database = database
        self.configured = configured
    }

    public var database: String
    public var configured: String
    public var description: String {
        "the database counts sales days in \(self.database), not \(self.configured): start with --time-zone \(self.database), "
            + "or re-count its rankings in \(self.configured) with `commerce-server migrate --time-zone \(self.configured)`"
    }
}
