import CommerceDomain
import CommerceUseCases
import Foundation

/// Where the PostgreSQL store connects and how it writes.
public struct PostgresStoreConfiguration: Sendable {
    /// `postgres://user[:password]@host[:port]/database`, or with `?host=/path/to/socket/dir` a Unix
    /// socket (as libpq's URLs). `sslmode=require` asks for TLS (verified against the system's CAs).
    public var url: String
    /// The shop's calendar; recorded in the database as with SQLite (``CalendarMismatch``).
    public var calendar: ShopCalendar
    /// Write lanes: each is one connection committing groups of writes, in submission order per
    /// lane. A user's writes (and a product's, a campaign's) always take the same lane.
    public var writeLanes: Int
    /// The most writes one lane commits in one transaction.
    public var maximumBatch: Int
    /// Connections for reads, besides the write lanes'.
    public var readConnections: Int
    /// Writes that may wait for a lane at once, over all lanes; more are refused `WRITE_QUEUE_FULL`.
    public var maxQueuedWrites: Int
    /// How often a write that lost a deadlock or a serialization conflict (40P01, 40001) runs again
    /// before it fails `STORAGE_BUSY`.
    public var conflictRetries: Int
    /// How long a call waits for a pooled connection before it fails `STORAGE_UNAVAILABLE`
    /// (PostgreSQL down or restarting, or every connection busy that long).
    public var connectionWaitTimeout: Duration = .seconds(2)
    /// Opened with a calendar other than the database's, re-count every rollup in the new one.
    public var recountRankings = false

    public init(
        url: String,
        calendar: ShopCalendar = .seoul,
        writeLanes: Int = 8,
        maximumBatch: Int = 32,
        readConnections: Int = 8,
        maxQueuedWrites: Int = 10_000,
        conflictRetries: Int = 10
    ) {
        self.url = url
        self.calendar = calendar
        self.writeLanes = max(1, writeLanes)
        self.maximumBatch = max(1, maximumBatch)
        self.readConnections = max(1, readConnections)
        self.maxQueuedWrites = max(1, maxQueuedWrites)
        self.conflictRetries = max(0, conflictRetries)
    }

    /// Whether `location` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgresURL(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// The parts of ``url``. - Throws: ``InvalidPostgresURL``.
    public var endpoint: Endpoint {
        get throws {
            guard Self.isPostgresURL(self.url), let components = URLComponents(string: self.url) else {
                throw InvalidPostgresURL(url: self.redactedURL, problem: "not a postgres:// URL")
            }
            let query = Dictionary(
                (components.queryItems ?? []).map { ($0.name, $0.value ?? "") },
                uniquingKeysWith: { $1 }
            )
            guard let user = components.user.flatMap({ $0.removingPercentEncoding }) ?? query["user"], !user.isEmpty
            else {
                throw InvalidPostgresURL(url: self.redactedURL, problem: "no user name")
            }
            let database = String(components.path.dropFirst()).removingPercentEncoding ?? ""
            let password = components.password.flatMap { $0.removingPercentEncoding } ?? query["password"]
            let tls = query["sslmode"] == "require" || query["sslmode"] == "verify-full"
            if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
                let port = components.port ?? 5432
                return Endpoint(
                    host: nil,
                    port: port,
                    socketPath: "\(socketDirectory)/.s.PGSQL.\(port)",
                    user: user,
                    password: password,
                    database: database.isEmpty ? user : database,
                    tls: false
                )
            }
            guard let host = components.host, !host.isEmpty else {
                throw InvalidPostgresURL(url: self.redactedURL, problem: "no host (or ?host=/socket/directory)")
            }
            return Endpoint(
                host: host,
                port: components.port ?? 5432,
                socketPath: nil,
                user: user,
                password: password,
                database: database.isEmpty ? user : database,
                tls: tls
            )
        }
    }

    /// ``url`` without its password, for logs and errors.
    public var redactedURL: String {
        guard var components = URLComponents(string: self.url) else { return "postgres://…" }
        if components.password != nil { components.password = "***" }
        components.queryItems = components.queryItems?.map {
            $0.name == "password" ? URLQueryItem(name: "password", value: "***") : $0
        }
        return components.string ?? "postgres://…"
    }

    public struct Endpoint: Hashable, Sendable {
        public var host: String?
        public var port: Int
        public var socketPath: String?
        public var user: String
        public var password: String?
        public var database: String
        public var tls: Bool
    }
}

public struct InvalidPostgresURL: Error, CustomStringConvertible {
    public var url: String
    public var problem: String
    public var description: String { "\(self.url) is not a usable PostgreSQL URL: \(self.problem)" }
}
