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
        help: """
            MiB of unfinished requests (FrameRPC frames and HTTP bodies) held across all connections; \
            past it the connection holding the most is refused and closed.
            """
    )
    var maxPartialFrameMib = 64
    @Option(
        help: """
            KiB an event loop reads in one turn over its connections, shared among them (each read 128 B-64 KiB): \
            a flood's connections cannot make a turn long, so a health probe waits one short turn.
            """
    )
    var readKibPerTurn = 64
    @Option(
        help: """
            Calls an event loop reads in one turn at most, in requests of the mean size read so far: \
            small requests (a token sent once per connection) do not make a turn long either.
            """
    )
    var readCallsPerTurn = 256
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
    @Option(
        help: """
            Nice steps below the server's priority for its threads other than the event loops (group \
            commit, write queues, writes' tasks): on busy cores the loops read, refuse and answer health \
            checks first (19 at most). 0: every thread at the same priority.
            """
    )
    var workerNice = 12
    @Option(
        help: """
            glibc malloc arenas at most (default: one per core; MALLOC_ARENA_MAX in the environment wins; \
            0: glibc's default, eight per core): fewer arenas keep less freed memory after a flood.
            """
    )
    var mallocArenas = System.coreCount
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
            "Hours a delivered event stays in the outbox before the relay deletes it (0: for ever): the database grows with orders, not with their delivery."
    )
    var outboxRetentionHours: Int64 = 168
    @Option(
        help:
            "JSON-lines file for events when no --data-platform-url is given (default: named after the database, commerce.sqlite → commerce.events.jsonl)."
    )
    var eventsFile: String?
    @Option(
        help: """
            Send a span for every call, its use case, store write and group commit, and every relay delivery \
            to this OpenTelemetry collector over OTLP/HTTP (http://host:4318; spans go to /v1/traces). \
            A traceparent in a call's metadata or headers makes its span part of the caller's trace. Off by default.
            """
    )
    var otlpEndpoint: String?
    @Option(help: "How spans are encoded for --otlp-endpoint: http/protobuf or http/json.")
    var otlpProtocol: OTLPTracing.Encoding = .protobuf
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(help: "Once listening, write {\"rpc\": port, \"metrics\": port, \"pid\": pid} to this file (for scripts).")
    var portFile: String?

    func validate() throws {
        guard (1...DataPlatformTarget.maximumEventsPerPost).contains(self.eventsPerPost) else {
            throw ValidationError(
                "--events-per-post must be 1...\(DataPlatformTarget.maximumEventsPerPost), got \(self.eventsPerPost)"
            )
        }
        guard self.outboxRetentionHours >= 0 else {
            throw ValidationError(
                "--outbox-retention-hours must be 0 (for ever) or more, got \(self.outboxRetentionHours)"
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
        // Before the server starts its threads: an arena, once made, stays.
        if MallocArenas.limit(to: self.mallocArenas) {
            logger.info("malloc arenas limited", metadata: ["arenas": "\(self.mallocArenas)"])
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(CommerceMetricsFactory.make(registry: registry))

        if self.seedDemo {
            try await self.database.withStore { store in
                if try await DemoCatalogue.seed(into: store) { logger.info("loaded the demo catalogue") }
            }
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
                readBytesPerTurn: max(1, self.readKibPerTurn) * 1024,
                readCallsPerTurn: self.readCallsPerTurn,
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
            outboxRetentionMillis: self.outboxRetentionHours > 0 ? self.outboxRetentionHours * 3_600_000 : nil,
            eventLoopThreads: self.eventLoops,
            workerNiceness: min(max(self.workerNice, 0), 19)
        )
        configuration.postgres = self.database.postgres
        let tracing = try self.otlpEndpoint.map { try OTLPTracing(endpoint: $0, encoding: self.otlpProtocol) }
        configuration.tracer = tracing?.tracer
        if let endpoint = self.otlpEndpoint {
            logger.info(
                "tracing on",
                metadata: ["otlp_endpoint": "\(endpoint)", "protocol": "\(self.otlpProtocol.rawValue)"]
            )
        }
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
        if let metrics {
            logger.info(
                "metrics endpoint listening",
                metadata: ["address": "http://\(self.host):\(metrics.port)/metrics"]
            )
        }
        var reloader: Reloader?
        do {
            // One service group: SIGTERM or SIGINT stops the listener (draining its calls), the
            // metrics endpoint, the sweeper, the relay (after its pass) and the store, in that order.
            try await CommerceServer.run(
                configuration,
                logger: logger,
                httpRoutes: httpRoutes,
                alongside: (tracing.map { [$0.exporter] } ?? []) + (metrics.map { [$0] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint]
            ) { server in
                reloader = Reloader(server: server, keysPath: keysPath, tls: tls, logger: logger)
                if let portFile {
                    let json =
                        "{\"rpc\": \(server.port), \"metrics\": \(metrics?.port ?? -1), \"http\": \(server.httpPort ?? -1), \"pid\": \(ProcessInfo.processInfo.processIdentifier)}\n"
                    try json.write(toFile: portFile, atomically: true, encoding: .utf8)
                }
            }
        } catch {
            await metrics?.close()
            throw error
        }
        withExtendedLifetime(reloader) {}
    }
}

extension OTLPTracing.Encoding: ExpressibleByArgument {}
