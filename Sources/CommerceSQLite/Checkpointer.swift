import Dispatch
import GRDB
import Synchronization

/// Moves the WAL into the database file off the write path.
///
/// By default SQLite checkpoints inside the commit that crosses 1,000 WAL pages: that commit then
/// copies pages and fsyncs the database file while every queued write waits behind it — the long
/// tail of a durable write load. The store turns that off on its writer and this checkpointer runs
/// `PRAGMA wal_checkpoint(PASSIVE)` every `interval` on a connection of its own: a passive
/// checkpoint takes no write lock, so commits continue while it copies. (Another process on the
/// same file runs its own; SQLite serializes checkpoints.)
/// `@unchecked`: the timer is touched only in `init` and `deinit`.
final class Checkpointer: @unchecked Sendable {
    /// The last pass: WAL frames, and how many of them are now in the database file.
    struct Pass: Sendable, Equatable {
        var walFrames = 0
        var checkpointed = 0
    }

    private let timer: any DispatchSourceTimer
    private final class LastPass: Sendable {
        let value = Mutex(Pass())
    }

    private let last = LastPass()
    var lastPass: Pass { self.last.value.withLock { $0 } }

    init(path: String, busyTimeout: Double, interval: DispatchTimeInterval = .milliseconds(100)) throws {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        let connection = try DatabaseQueue(path: path, configuration: config)
        let queue = DispatchQueue(label: "commerce.checkpoint")
        self.timer = DispatchSource.makeTimerSource(queue: queue)
        self.timer.schedule(deadline: .now() + interval, repeating: interval)
        let last = self.last
        self.timer.setEventHandler {
            // Busy (another checkpoint running) or failed: the next tick tries again.
            let row = try? connection.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            if let row, (row[0] as Int) == 0 {
                last.value.withLock { $0 = Pass(walFrames: row[1], checkpointed: row[2]) }
            }
        }
        self.timer.resume()
    }

    deinit { self.timer.cancel() }
}
