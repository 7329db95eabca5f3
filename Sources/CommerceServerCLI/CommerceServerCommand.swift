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

@main
struct CommerceServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commerce-server",
        abstract: "The commerce order service: FrameRPC over TCP, SQLite or PostgreSQL storage.",
        subcommands: [Serve.self, Migrate.self, Seed.self, Audit.self, Backup.self, Keys.self, Token.self],
        defaultSubcommand: Serve.self
    )
}

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

    /// Opens the store `--db` names (migrating it); `recount` re-counts rankings in another calendar.
    func open(recount: Bool = false) async throws -> any ServedStore {
        if var postgres = self.postgres {
            postgres.recountRankings = recount
            return try await PostgresStore.open(postgres)
        }
        var configuration = self.store
        configuration.recountRankings = recount
        return try SQLiteStore(configuration)
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

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server until SIGTERM/SIGINT, then drain gracefully."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var access: AuthOptions
    @OptionGroup var tls: TLSOptions

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "FrameRPC port (0 picks a free one).") var port = 7070
    // `.unconditional`: `--metrics-port -1` works like `--metrics-port=-1` ("-1" is not an option).
    @Option(parsing: .unconditional, help: "Prometheus /metrics HTTP port; -1 disables it.") var metricsPort = 9090
    @Option(
        help:
            "HTTP port for the same API in the Connect protocol (curl, browsers, Connect clients), with GET /metrics; 0 picks a free one. Off unless given."
    )
    var httpPort: Int?
    @Flag(help: "Load the demo catalogue and users if the database is empty.") var seedDemo = false
    @Option(help: "Largest frame payload accepted, in bytes (the 10-byte header is not counted).") var maxFrameSize =
        4 * 1024 * 1024
    @Option(help: "Calls in flight per connection.") var maxConcurrentCalls = 1024
    @Option(help: "Open connections.") var maxConnections = 10_000
    @Option(
        help: "Calls in flight across every connection (writes may take three quarters); more are refused OVERLOADED."
    )
    var maxCallsInFlight = 8_192
    @Option(help: "Seconds a connection may go without a whole frame while no call is in flight.") var idleTimeout = 300
    @Option(help: "Seconds a frame may take to arrive whole, from its first byte (slower peers are closed).")
    var frameTimeout = 10
    @Option(
        help: "MiB of unfinished frames held across all connections; past it the connection holding the most is closed."
    )
    var maxPartialFrameMib = 64
    @Option(help: "Seconds a new connection has to send its preface.") var handshakeTimeout = 5
    @Option(help: "Seconds a graceful shutdown waits for calls in flight.") var drainTimeout = 30
    @Option(help: "Shards of the per-user and per-product write queues.") var writeQueueShards = 128
    @Option(
        help: """
            Event loop threads (sockets, framing, protobuf, lookups by key). Default: the cores but one \
            (at least 1): one core is left to the group commit thread, which every write waits for.
            """
    )
    var eventLoops = max(1, System.coreCount - 1)
    @Option(help: "Milliseconds a TopProducts answer is reused (0 = never).") var rankingCacheMs: Int64 = 1_000
    @Option(help: "Seconds a two-step order (CreateOrder) may stay unpaid before it expires.") var pendingOrderTtl:
        Int64 = 86_400
    @Option(help: "Milliseconds between sweeps that expire unpaid orders.") var expirySweepMs: Int64 = 1_000
    @Option(
        help:
            "POST every paid order and refund here as JSON (x-event-id header). Without it, events go to --events-file."
    )
    var dataPlatformUrl: String?
    @Option(
        help: """
            Events per POST to --data-platform-url: 1 sends each as one JSON object (x-event-id header); \
            more sends up to that many per request, one JSON object per line in commit order \
            (application/x-ndjson, x-event-count header). 1...1000.
            """
    )
    var eventsPerPost = 1
    @Option(
        help:
            "Milliseconds the relay's lease lasts unless renewed: after a crash, another instance takes over delivery this long after the last pass."
    )
    var relayLeaseMs: Int64 = 60_000
    @Option(
        help:
            "JSON-lines file for events when no --data-platform-url is given (default: named after the database, commerce.sqlite → commerce.events.jsonl)."
    )
    var eventsFile: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(help: "Once listening, write {\"rpc\": port, \"metrics\": port, \"pid\": pid} to this file (for scripts).")
    var portFile: String?

    func validate() throws {
        guard (1...DataPlatformTarget.maximumEventsPerPost).contains(self.eventsPerPost) else {
            throw ValidationError(
                "--events-per-post must be 1...\(DataPlatformTarget.maximumEventsPerPost), got \(self.eventsPerPost)"
            )
        }
        guard self.relayLeaseMs >= 100 else {
            throw ValidationError("--relay-lease-ms must be at least 100, got \(self.relayLeaseMs)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "commerce.server")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(CommerceMetricsFactory.make(registry: registry))

        if self.seedDemo {
            let store = try await self.database.open()
            if try await DemoCatalogue.seed(into: store) { logger.info("loaded the demo catalogue") }
            await store.close()
        }
        var configuration = CommerceServerConfiguration(
            rpc: ServerConfiguration(
                host: self.host,
                port: self.port,
                maxFrameSize: self.maxFrameSize,
                maxConcurrentCallsPerConnection: self.maxConcurrentCalls,
                maxConnections: self.maxConnections,
                maxCallsInFlight: self.maxCallsInFlight,
                idleTimeout: .seconds(Int64(self.idleTimeout)),
                drainTimeout: .seconds(Int64(self.drainTimeout)),
                frameTimeout: .seconds(Int64(self.frameTimeout)),
                handshakeTimeout: .seconds(Int64(self.handshakeTimeout)),
                maxBufferedPartialBytes: self.maxPartialFrameMib * 1024 * 1024,
                tls: try self.tls.serverTLS()
            ),
            store: self.database.store,
            auth: try self.access.mode(),
            adminToken: self.access.staticAdminToken,
            writeQueueShards: self.writeQueueShards,
            rankingCacheMillis: self.rankingCacheMs,
            pendingOrderTTLMillis: self.pendingOrderTtl * 1_000,
            expirySweepMillis: self.expirySweepMs,
            dataPlatform: self.dataPlatformUrl.map { .http(url: $0, eventsPerPost: self.eventsPerPost) }
                ?? .file(
                    path: self.eventsFile
                        ?? DataPlatformTarget.defaultEventsFile(forDatabase: self.database.eventsFileStem)
                ),
            relayLeaseMillis: self.relayLeaseMs,
            eventLoopThreads: self.eventLoops
        )
        configuration.postgres = self.database.postgres
        // The HTTP port takes the same certificate, offering HTTP/2 and HTTP/1.1 in ALPN.
        let httpTLS = try configuration.rpc.tls.map { try $0.offering(["h2", "http/1.1"]) }
        configuration.http = self.httpPort.map {
            ConnectConfiguration(
                host: self.host,
                port: $0,
                maxBodySize: self.maxFrameSize,
                idleTimeout: .seconds(Int64(self.idleTimeout)),
                requestTimeout: .seconds(Int64(self.frameTimeout)),
                maxConnections: self.maxConnections,
                drainTimeout: .seconds(Int64(self.drainTimeout)),
                tls: httpTLS
            )
        }
        let httpRoutes = ConsolePage.routes { Array(registry.emitToBuffer()) }
        let portFile = self.portFile
        let keysPath = self.access.auth == .on ? self.access.keysPath : nil
        let tls = [configuration.rpc.tls, configuration.http?.tls].compactMap { $0 }
        let metrics =
            self.metricsPort >= 0
            ? try await MetricsEndpoint.start(host: self.host, port: self.metricsPort, registry: registry) : nil
        let server: CommerceServer
        do {
            server = try await CommerceServer.make(configuration, logger: logger, httpRoutes: httpRoutes)
        } catch {
            await metrics?.close()
            throw error
        }
        if let metrics {
            logger.info(
                "metrics endpoint listening",
                metadata: ["address": "http://\(self.host):\(metrics.port)/metrics"]
            )
        }
        let reloader = Reloader(server: server, keysPath: keysPath, tls: tls, logger: logger)
        if let portFile {
            let json =
                "{\"rpc\": \(server.port), \"metrics\": \(metrics?.port ?? -1), \"http\": \(server.httpPort ?? -1), \"pid\": \(ProcessInfo.processInfo.processIdentifier)}\n"
            try json.write(toFile: portFile, atomically: true, encoding: .utf8)
        }
        // One service group: SIGTERM or SIGINT stops the listener (draining its calls), the
        // metrics endpoint, the sweeper, the relay (after its pass) and the store, in that order.
        try await server.run(alongside: metrics.map { [$0] } ?? [], gracefulShutdownSignals: [.sigterm, .sigint])
        withExtendedLifetime(reloader) {}
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the database schema, then exit.",
        discussion: "Given a --time-zone other than the database's, re-counts every day of the rankings in it."
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let store = try await self.database.open(recount: true)
        for migration in try await store.appliedMigrations() { print("applied: \(migration)") }
        await store.close()
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

    func validate() throws {
        guard self.demo || self.historyLines != nil else {
            throw ValidationError("say what to seed: --demo and/or --history-lines N")
        }
        if let lines = self.historyLines, lines <= 0 { throw ValidationError("--history-lines must be positive") }
        guard (1...366).contains(self.historyDays) else { throw ValidationError("--history-days must be 1...366") }
        if self.historyLines != nil, self.database.postgres != nil {
            throw ValidationError("--history-lines writes straight into a SQLite file; it does not load PostgreSQL yet")
        }
    }

    func run() async throws {
        let opened = try await self.database.open()
        if self.demo {
            if try await DemoCatalogue.seed(into: opened) {
                print(
                    "seeded \(DemoCatalogue.products.count) products and \(DemoCatalogue.users.count) users into \(self.database.displayName)"
                )
            } else {
                print("\(self.database.displayName) already has data; demo set not seeded")
            }
        }
        guard let store = opened as? SQLiteStore else { return await opened.close() }
        if let lines = self.historyLines {
            let created = try SalesHistory.seed(
                into: store,
                plan: SalesHistory.Plan(lines: lines, days: self.historyDays)
            ) { done in
                if done % 100_000 == 0 { FileHandle.standardError.write(Data("  \(done) order lines\n".utf8)) }
            }
            print(
                "seeded a sales history of \(created) order lines over \(self.historyDays) day(s) into \(self.database.path)"
            )
        }
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

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every invariant of the database; exit 1 and list the violations if any is broken."
    )
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let store = try await self.database.open()
        let violations = try await store.checkInvariants()
        await store.close()
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
