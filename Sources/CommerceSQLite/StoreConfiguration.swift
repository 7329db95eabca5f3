import CommerceDomain
import CommerceUseCases

/// How the SQLite file is opened.
public struct StoreConfiguration: Sendable {
    /// SQLite's `synchronous` pragma. `full` (the default) fsyncs the WAL on every commit, so an
    /// acknowledged payment survives power loss; `normal` may lose the last commits on power loss
    /// (never corrupts); `off` is for throwaway benchmarks only.
    public enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
        case off = "OFF"
    }

    public var path: String
    public var synchronous: Synchronous
    /// Seconds a writer waits for another process's write lock before giving up with `STORAGE_BUSY`.
    public var busyTimeout: Double
    /// Read lanes (each a serial queue with one read-only connection): how many reads run at once.
    public var maximumReaders: Int
    /// WAL frames (pages) past which the background checkpointer, once its passive pass is done,
    /// briefly holds writers back to finish the checkpoint so the next commit starts the WAL over.
    /// Under sustained writes a passive checkpoint never catches up, and the WAL would grow without
    /// end. 8,192 frames are 32 MiB at SQLite's default page size.
    public var walRestartFrames: Int

    /// The shop's calendar: the days the ranking's rollups count. Recorded in the database; a store
    /// opened with another one refuses to open (``CalendarMismatch``) unless `recountRankings`.
    public var calendar: ShopCalendar
    /// Writes that may wait for the group committer at once; more are refused at once with
    /// `RESOURCE_EXHAUSTED` / `WRITE_QUEUE_FULL` instead of queueing without bound (each holds its
    /// caller, its closure and its result until its batch commits).
    public var maxQueuedWrites = 10_000
    /// Opened with a calendar other than the database's, re-count every rollup in the new one
    /// (`commerce-server migrate --time-zone`) instead of refusing.
    public var recountRankings = false

    public init(
        path: String,
        synchronous: Synchronous = .full,
        busyTimeout: Double = 30,
        maximumReaders: Int = 4,
        walRestartFrames: Int = 8_192,
        calendar: ShopCalendar = .seoul
    ) {
        self.calendar = calendar
        self.path = path
        self.synchronous = synchronous
        self.busyTimeout = busyTimeout
        self.maximumReaders = maximumReaders
        self.walRestartFrames = walRestartFrames
    }
}
