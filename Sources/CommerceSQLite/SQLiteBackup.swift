import Foundation
import GRDB

/// An online copy of a SQLite database with SQLite's backup API, safe while servers write to it:
/// the pages are copied in one step, inside one read transaction, so the copy is the database as
/// of one commit (every write acknowledged before the copy began is in it; writes committed during
/// the copy are not, and are not lost from the original).
public enum SQLiteBackup {
    public struct Copied: Sendable {
        public var bytes: Int64
        /// `PRAGMA quick_check` of the copy.
        public var integrity: String
    }

    public struct DestinationExists: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "\(self.path) exists; pass --force to replace it" }
    }

    /// Copies `source` into `destination` (written under a temporary name and renamed into place
    /// once whole, so a failed or interrupted backup never leaves a partial file under that name).
    public static func copy(
        from source: String,
        to destination: String,
        replace: Bool = false,
        busyTimeout: TimeInterval = 5
    ) throws -> Copied {
        let manager = FileManager.default
        if manager.fileExists(atPath: destination), !replace { throw DestinationExists(path: destination) }
        guard manager.fileExists(atPath: source) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: source])
        }
        let partial = destination + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        for suffix in ["", "-wal", "-shm"] { try? manager.removeItem(atPath: partial + suffix) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        do {
            let from = try DatabaseQueue(path: source, configuration: configuration)
            let to = try DatabaseQueue(path: partial, configuration: configuration)
            try from.backup(to: to)
            // The copy keeps the original's WAL mode; fold everything into its main file.
            let integrity = try to.writeWithoutTransaction { db -> String in
                try db.checkpoint(.truncate)
                return try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
            }
            try from.close()
            try to.close()
            for suffix in ["-wal", "-shm"] { try? manager.removeItem(atPath: partial + suffix) }
            if manager.fileExists(atPath: destination) { try manager.removeItem(atPath: destination) }
            try manager.moveItem(atPath: partial, toPath: destination)
            let bytes = (try manager.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.int64Value ?? 0
            return Copied(bytes: bytes, integrity: integrity)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? manager.removeItem(atPath: partial + suffix) }
            throw error
        }
    }
}
