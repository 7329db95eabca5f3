import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Metrics
import Synchronization

/// Moves the WAL into the database file off the write path, and keeps the WAL bounded.
///
/// By default SQLite checkpoints inside the commit that crosses 1,000 WAL pages: that commit then
/// copies pages and fsyncs the database file while every queued write waits behind it — the long
/// tail of a durable write load. The store turns that off on its writer and this checkpointer runs
/// `PRAGMA wal_checkpoint(PASSIVE)` every `interval` on a connection of its own: a passive
/// checkpoint takes no write lock, so commits continue while it copies. (Another process on the
/// same file runs its own; SQLite serializes checkpoints.)
///
/// Under sustained writes a passive pass never catches up with the newest frame, and SQLite starts
/// the WAL over only after a complete checkpoint: the WAL would grow by tens of megabytes a second
/// and every page lookup would search more of its index. So once the WAL holds `restartFrames`,
/// the checkpointer follows its passive pass with `wal_checkpoint(RESTART)`: that waits (busy
/// timeout) for the current commit, holds new ones back while it copies the few frames the passive
/// pass left, and lets the next commit write from the WAL's start.
/// `@unchecked`: the timer is touched only in `init` and `deinit`.
final class Checkpointer: @unchecked Sendable {
    /// The last pass: WAL frames, how many of them are now in the database file, and how many
    /// restarts so far.
    struct Pass: Sendable, Equatable {
        var walFrames = 0
        var checkpointed = 0
        var restarts = 0
    }

    private final class LastPass: Sendable {
        let value = Mutex(Pass())
    }

    private let timer: any DispatchSourceTimer
    private let last = LastPass()
    var lastPass: Pass { self.last.value.withLock { $0 } }

    init(
        path: String,
        busyTimeout: Double,
        restartFrames: Int,
        interval: DispatchTimeInterval = .milliseconds(100),
        cacheBytes: @escaping @Sendable () async -> Int
    ) throws {
        var config = Configuration()
        // A RESTART holds writers back while it waits for readers to leave the WAL: poll every
        // millisecond rather than SQLite's sleeps of up to 100 ms.
        config.busyMode = SQLiteStore.pollingBusyMode(timeout: busyTimeout)
        let connection = try DatabaseQueue(path: path, configuration: config)
        let queue = DispatchQueue(label: "commerce.checkpoint")
        self.timer = DispatchSource.makeTimerSource(queue: queue)
        self.timer.schedule(deadline: .now() + interval, repeating: interval)
        let last = self.last
        let walPath = path + "-wal"
        let walBytes = Gauge(label: "commerce_sqlite_wal_bytes")
        // The page caches of the store's connections, every tenth tick (SQLite's own count of all
        // its memory is off: see `SQLiteStore.memoryStatisticsOff`).
        let cacheGauge = Gauge(label: "commerce_sqlite_cache_bytes")
        let ticks = Atomic(0)
        let checkpointTime = Timer(label: "commerce_sqlite_checkpoint_seconds", preferredDisplayUnit: .seconds)
        self.timer.setEventHandler {
            // Busy (another checkpoint running) or failed: the next tick tries again.
            let started = DispatchTime.now().uptimeNanoseconds
            defer {
                if let size = (try? FileManager.default.attributesOfItem(atPath: walPath))?[.size] as? NSNumber {
                    walBytes.record(size.int64Value)
                }
                if ticks.add(1, ordering: .relaxed).newValue % 10 == 1 {
                    Task { cacheGauge.record(await cacheBytes()) }
                }
            }
            guard var pass = Self.checkpoint(connection, "PASSIVE") else { return }
            if pass.walFrames >= restartFrames, let restarted = Self.checkpoint(connection, "RESTART") {
                pass = restarted
                pass.restarts = 1
            }
            checkpointTime.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- started))
            last.value.withLock { current in
                pass.restarts += current.restarts
                current = pass
            }
        }
        self.timer.resume()
    }

    deinit { self.timer.cancel() }

    /// One `wal_checkpoint(mode)`; nil when it could not run to the end (busy or failed).
    private static func checkpoint(_ connection: DatabaseQueue, _ mode: String) -> Pass? {
        (try? Self.walCheckpoint(connection, mode)) ?? nil
    }

    /// One `wal_checkpoint(mode)` on `writer`'s connection; nil when another connection kept it
    /// from running to the end (busy).
    static func walCheckpoint(_ writer: some DatabaseWriter, _ mode: String) throws -> Pass? {
        let row = try writer.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(\(mode))")
        }
        guard let row, (row[0] as Int) == 0 else { return nil }
        return Pass(walFrames: row[1], checkpointed: row[2])
    }
}
