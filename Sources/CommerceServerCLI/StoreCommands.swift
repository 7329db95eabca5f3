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

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the database schema, then exit.",
        discussion: "Given a --time-zone other than the database's, re-counts every day of the rankings in it."
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await self.database.withStore(recount: true) { store in
            for migration in try await store.appliedMigrations() { print("applied: \(migration)") }
        }
    }
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load data into a database: the demo set, or a sales history for benchmarks."
    )
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "The demo catalogue and users (only into an empty database).") var demo = false
    @Option(
        help: "Paid order lines to add as a sales history (4 per order; its own products and buyers), for benchmarks."
    )
    var historyLines: Int?
    @Option(help: "Days of the shop's calendar, up to and including today, the history is spread over.")
    var historyDays = 3
    @Option(
        help: """
            A year of a busy shop, times this: 1 M users, 100 k products and 10 M paid orders with their lines, \
            payments, balance history and delivered events, over 90 days of rollups (--scale 1). Bulk SQL into an \
            empty database (SQLite or PostgreSQL), for benchmarks/data-growth.sh.
            """
    )
    var scale: Double?
    @Option(
        help: "With --scale: this many more orders, unpaid and past their time, for the expiry sweep to expire."
    )
    var pending = 0
    @Option(
        help: """
            With --pending: the unpaid orders buy only among the first N products (default: all). Compare \
            sweeps of two databases with the same N: each commit then dirties the same pages.
            """
    )
    var pendingProducts: Int?

    func validate() throws {
        guard self.demo || self.historyLines != nil || self.scale != nil else {
            throw ValidationError("say what to seed: --demo, --history-lines N or --scale X")
        }
        if let scale = self.scale {
            guard scale > 0, scale <= 10 else { throw ValidationError("--scale must be in (0, 10]") }
            guard !self.demo, self.historyLines == nil else {
                throw ValidationError(
                    "--scale fills an empty database on its own: no --demo or --history-lines with it"
                )
            }
        }
        guard self.pending == 0 || (self.scale != nil && self.pending > 0 && self.pending <= 10_000_000) else {
            throw ValidationError("--pending goes with --scale and is 1...10000000")
        }
        if let products = self.pendingProducts, self.pending == 0 || products < 1 {
            throw ValidationError("--pending-products goes with --pending and is at least 1")
        }
        if let lines = self.historyLines, lines <= 0 { throw ValidationError("--history-lines must be positive") }
        guard (1...366).contains(self.historyDays) else { throw ValidationError("--history-days must be 1...366") }
        if self.historyLines != nil, self.database.postgres != nil {
            throw ValidationError("--history-lines writes straight into a SQLite file; it does not load PostgreSQL yet")
        }
    }

    func run() async throws {
        try await self.database.withStore { opened in
            if self.demo {
                if try await DemoCatalogue.seed(into: opened) {
                    print(
                        "seeded \(DemoCatalogue.products.count) products and \(DemoCatalogue.users.count) users into \(self.database.displayName)"
                    )
                } else {
                    print("\(self.database.displayName) already has data; demo set not seeded")
                }
            }
            if let scale = self.scale {
                let started = ContinuousClock.now
                var plan = ScaleSeedPlan.scaled(scale)
                plan.pending = self.pending
                plan.pendingProducts = self.pendingProducts
                let progress: @Sendable (String) -> Void = { step in
                    FileHandle.standardError.write(Data("  \(step)…\n".utf8))
                }
                let seeded: ScaleSeedPlan.Seeded
                if let store = opened as? SQLiteStore {
                    seeded = try ScaleSeed.seed(into: store, plan: plan, progress: progress)
                    _ = try store.checkpointAll()
                } else if let store = opened as? PostgresStore {
                    seeded = try await PostgresScaleSeed.seed(into: store, plan: plan, progress: progress)
                } else {
                    return
                }
                print(
                    "seeded \(seeded.users) users, \(seeded.products) products, \(seeded.orders) orders, \(plan.pending) unpaid (\(seeded.lines) lines) into \(self.database.displayName) in \(ContinuousClock.now - started)"
                )
                return
            }
            guard let store = opened as? SQLiteStore, let lines = self.historyLines else { return }
            let created = try SalesHistory.seed(
                into: store,
                plan: SalesHistory.Plan(lines: lines, days: self.historyDays)
            ) { done in
                if done % 100_000 == 0 { FileHandle.standardError.write(Data("  \(done) order lines\n".utf8)) }
            }
            print(
                "seeded a sales history of \(created) order lines over \(self.historyDays) day(s) into \(self.database.path)"
            )
            // The seed writes far more than the server's checkpointer (which runs only while serving)
            // would leave in the WAL: fold it into the file, so the file alone is the database.
            if try !store.checkpointAll() {
                FileHandle.standardError.write(
                    Data(
                        "note: another connection kept reading or checkpointing \(self.database.path) for the whole busy timeout; its WAL was not emptied\n"
                            .utf8
                    )
                )
            }
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every invariant of the database; exit 1 and list the violations if any is broken."
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let violations = try await self.database.withStore { try await $0.checkInvariants() }
        if violations.isEmpty {
            print(
                "audit clean: balances equal their history, stock is conserved and matches the orders, coupons within quantity, paid orders have payments"
            )
            return
        }
        for violation in violations { print("VIOLATION \(violation)") }
        throw ExitCode(1)
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a SQLite database while servers run on it (SQLite's online backup API), then check the copy.",
        discussion: """
            The copy is the database as of one commit: every write acknowledged before it began is in it. It is \
            written under a temporary name and renamed into place once whole and checked (PRAGMA quick_check). \
            For PostgreSQL use its own tools (pg_dump, pg_basebackup).
            """
    )
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The file to write the copy to.") var to: String
    @Flag(help: "Replace --to if it exists.") var force = false

    func validate() throws {
        if self.database.postgres != nil {
            throw ValidationError("backup copies a SQLite file; for PostgreSQL use pg_dump or pg_basebackup")
        }
    }

    func run() async throws {
        let copied = try SQLiteBackup.copy(from: self.database.path, to: self.to, replace: self.force)
        guard copied.integrity == "ok" else {
            FileHandle.standardError.write(Data("the copy failed its integrity check: \(copied.integrity)\n".utf8))
            throw ExitCode(1)
        }
        print("backed up \(self.database.path) to \(self.to): \(copied.bytes) bytes, integrity ok")
    }
}
