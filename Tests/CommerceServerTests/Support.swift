import CommerceAuth
import CommerceClient
import CommerceDomain
import CommercePostgres
import CommerceSQLite
import CommerceServerRuntime
import CommerceService
import CommerceTestSupport
import CommerceUseCases
import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SocketTestSupport
import Synchronization
import Testing

/// The keys every test server verifies tokens with, and the tokens signed with them.
let credentials = TestCredentials()
let adminToken = credentials.adminToken
let testKeys = credentials.keys
let testAuth = credentials.auth

/// A token signed with ``testKeys``, valid for `ttl` seconds.
func testToken(subject: String, scopes: Set<Scope>, ttl: Int64 = 86_400) -> String {
    credentials.token(subject: subject, scopes: scopes, ttl: ttl)
}

/// What the tests' clients send: a storefront acting for the users it names.
let serviceToken = credentials.serviceToken

/// A token of user `id` only.
func userToken(_ id: Int64) -> String { credentials.userToken(id) }

/// ``testKeys`` as a key set file, for the server processes the tests start.
let testKeysFile: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
        "commerce-test-keys-\(UUID().uuidString).json"
    ).path
    try! testKeys.write(path: path)
    return path
}()

func clockFunction(_ clock: TestClock?) -> @Sendable () -> Int64 {
    guard let clock else { return systemClock }
    return { clock.now }
}

/// Wall-clock time the test can move forward.
final class TestClock: Sendable {
    private let offset = Mutex<Int64>(0)
    var now: Int64 { nowMillis() + self.offset.withLock { $0 } }
    func advance(byMillis millis: Int64) { self.offset.withLock { $0 += millis } }
    /// Puts the clock at `instant` (Unix ms), from where it runs on with real time.
    func set(to instant: Int64) { self.offset.withLock { $0 = instant - nowMillis() } }
}

func temporaryDatabasePath() -> String {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("commerce-test-\(UUID().uuidString)").appendingPathComponent("commerce.sqlite").path
}

/// The store a test runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// The PostgreSQL server the test command started (`scripts/test.sh` sets it), as a URL of
    /// its maintenance database; each test gets a database of its own on it.
    static let postgresServer = ProcessInfo.processInfo.environment["COMMERCE_TEST_POSTGRES"]

    /// SQLite always; PostgreSQL when a server is given. `scripts/test.sh` always gives one, and
    /// sets `COMMERCE_REQUIRE_POSTGRES`, which makes its absence a failure (see `PostgresTestServerTests`).
    static let available: [StoreKind] = postgresServer == nil ? [.sqlite] : [.sqlite, .postgres]

    var testDescription: String { self.rawValue }
}

/// A new, empty database on the test's PostgreSQL server; its URL.
func temporaryPostgresDatabase() throws -> String {
    let server = try #require(StoreKind.postgresServer, "COMMERCE_TEST_POSTGRES is not set")
    let name = "commerce_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "_"))"
    let created = try run("/usr/bin/psql", [server, "-qc", "CREATE DATABASE \(name)"], withErrors: true)
    guard created.status == 0 else { throw TestSetupError(message: "CREATE DATABASE failed: \(created.output)") }
    var components = URLComponents(string: server)!
    components.path = "/\(name)"
    return components.string!
}

/// Drops a database made by ``temporaryPostgresDatabase()``.
func dropPostgresDatabase(_ url: String) {
    guard let server = StoreKind.postgresServer, let name = URLComponents(string: url)?.path.dropFirst() else { return }
    _ = try? run("/usr/bin/psql", [server, "-qc", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"], withErrors: true)
}

/// A real server on port 0 over a fresh SQLite file (or a fresh PostgreSQL database), with a
/// client; both torn down afterwards.
func withCommerceServer<T>(
    store kind: StoreKind = .sqlite,
    adminToken token: String? = adminToken,
    connections: Int = 1,
    clock: TestClock? = nil,
    rankingCache: Int64 = 1_000,
    configure: (inout CommerceServerConfiguration) -> Void = { _ in },
    _ body: (CommerceServer, CommerceClient) async throws -> T
) async throws -> T {
    var configuration = CommerceServerConfiguration(
        rpc: ServerConfiguration(host: "127.0.0.1", port: 0),
        store: StoreConfiguration(path: temporaryDatabasePath(), synchronous: .normal),
        auth: testAuth,
        adminToken: token,
        clock: clockFunction(clock),
        rankingCacheMillis: rankingCache
    )
    configure(&configuration)
    var postgresDatabase: String?
    if kind == .postgres {
        let url = try temporaryPostgresDatabase()
        postgresDatabase = url
        var postgres = PostgresStoreConfiguration(url: url, calendar: configuration.store.calendar)
        postgres.maxQueuedWrites = configuration.store.maxQueuedWrites
        configuration.postgres = postgres
    }
    defer { if let postgresDatabase { dropPostgresDatabase(postgresDatabase) } }
    let server = try await CommerceServer.start(configuration)
    let client = CommerceClient(
        configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: connections),
        token: serviceToken,
        adminToken: token
    )
    do {
        let result = try await body(server, client)
        await client.close()
        try await server.shutdownGracefully()
        return result
    } catch {
        await client.close()
        try? await server.shutdownGracefully()
        throw error
    }
}

/// Expects `body` to fail with an RPCError of this code and reason.
func expectRPCError<T>(
    _ code: StatusCode,
    _ reason: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code.name)/\(reason), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RPCError {
        #expect(error.code == code && error.reason == reason, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected an RPCError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// The package root, from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A `commerce-server` binary built by `swift build` (the test command builds it first).
func serverBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["COMMERCE_SERVER_BIN"] { return path }
    let candidate = packageRoot.appendingPathComponent(".build/debug/commerce-server").path
    guard FileManager.default.isExecutableFile(atPath: candidate) else {
        throw TestSetupError(message: "no \(candidate): run `swift build` before `swift test` (scripts/test.sh does)")
    }
    return candidate
}

struct TestSetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}

/// Two `commerce-server` processes on one fresh SQLite file (or PostgreSQL database), a client
/// (with the admin token) for each; afterwards both get SIGTERM and must exit 0, and
/// `commerce-server audit` must exit 0.
func withTwoServerProcesses(
    store kind: StoreKind = .sqlite,
    extra: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (_ a: CommerceClient, _ b: CommerceClient, _ first: ServerProcess) async throws -> Void
) async throws {
    let database = kind == .postgres ? try temporaryPostgresDatabase() : temporaryDatabasePath()
    defer { if kind == .postgres { dropPostgresDatabase(database) } }
    #expect(
        try await run(try serverBinary(), ["migrate", "--db", database]).status == 0,
        sourceLocation: sourceLocation
    )
    let first = try await ServerProcess.launch(database: database, extra: extra)
    let second = try await ServerProcess.launch(database: database, extra: extra)
    let a = CommerceClient(
        configuration: ClientConfiguration(port: first.rpcPort, connections: 4),
        token: serviceToken,
        adminToken: adminToken
    )
    let b = CommerceClient(
        configuration: ClientConfiguration(port: second.rpcPort, connections: 4),
        token: serviceToken,
        adminToken: adminToken
    )
    do {
        try await body(a, b, first)
    } catch {
        Issue.record("\(error)", sourceLocation: sourceLocation)
    }
    await a.close()
    await b.close()
    #expect(await first.terminate() == 0, sourceLocation: sourceLocation)
    #expect(await second.terminate() == 0, sourceLocation: sourceLocation)
    let audit = try await run(try serverBinary(), ["audit", "--db", database])
    #expect(audit.status == 0, "\(audit.output)", sourceLocation: sourceLocation)
}

/// A `commerce-server serve` child process.
final class ServerProcess: Sendable {
    let process: Process
    let rpcPort: Int
    let metricsPort: Int

    private init(process: Process, rpcPort: Int, metricsPort: Int) {
        self.process = process
        self.rpcPort = rpcPort
        self.metricsPort = metricsPort
    }

    /// - Parameter standardError: a file the server's log goes to (it inherits the test's otherwise).
    static func launch(
        database: String,
        metricsPort: String = "0",
        extra: [String] = [],
        standardError: String? = nil
    ) async throws -> ServerProcess {
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("port-\(UUID().uuidString).json")
            .path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try serverBinary())
        process.arguments =
            [
                "serve", "--db", database, "--port", "0", "--metrics-port", metricsPort, "--port-file", portFile,
                "--admin-token", adminToken, "--auth-keys", testKeysFile, "--log-level",
                ProcessInfo.processInfo.environment["COMMERCE_TEST_SERVER_LOG_LEVEL"] ?? "warning",
                "--synchronous", "normal",
            ] + extra
        if let standardError {
            _ = FileManager.default.createFile(atPath: standardError, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: standardError)
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: portFile),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Int],
                let rpc = object["rpc"], let metrics = object["metrics"]
            {
                return ServerProcess(process: process, rpcPort: rpc, metricsPort: metrics)
            }
            guard process.isRunning else {
                throw TestSetupError(message: "commerce-server exited with \(process.terminationStatus)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw TestSetupError(message: "commerce-server did not start within 30 s")
    }

    var pid: Int32 { self.process.processIdentifier }

    /// SIGKILL: no drain, no cleanup, as a crash or the OOM killer would end it.
    func kill() async {
        _ = Foundation.kill(self.process.processIdentifier, SIGKILL)
        while self.process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// SIGTERM, then wait for the exit status.
    /// A server still running 60 s after SIGTERM is SIGKILLed and reported as -1: a shutdown that
    /// hangs fails the test instead of hanging the suite.
    func terminate() async -> Int32 {
        self.process.terminate()
        let deadline = ContinuousClock.now + .seconds(60)
        while self.process.isRunning {
            if ContinuousClock.now > deadline {
                await self.kill()
                return -1
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return self.process.terminationStatus
    }
}

extension ServerProcess {
    /// Charges each of `users` new users `charges` times at once (1,000 each: 1,000 charges reach
    /// the balance ceiling exactly), one user after another, on `connections` connections. A failed
    /// call kills the server before the error is rethrown, so no test leaves it running.
    func chargeConcurrently(users: Int = 1, charges: Int, connections: Int) async throws {
        let client = CommerceClient(
            configuration: ClientConfiguration(port: self.rpcPort, connections: connections),
            token: serviceToken
        )
        do {
            for round in 0..<users {
                let user = try await client.createUser(name: "concurrent charges \(round)")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<charges {
                        group.addTask {
                            _ = try await client.chargeBalance(
                                userID: user.id,
                                amount: 1_000,
                                idempotencyKey: "c-\(round)-\(index)"
                            )
                        }
                    }
                    try await group.waitForAll()
                }
            }
        } catch {
            await client.close()
            await self.kill()
            throw error
        }
        await client.close()
    }
}

/// ``run(_:_:withErrors:)`` on a thread of its own: a test waiting for a child process must not
/// hold one of the cooperative pool's few threads, which an in-process server's calls need (with
/// tests running in parallel, a few such waits stopped every write).
func run(
    _ executable: String,
    _ arguments: [String],
    withErrors: Bool = false
) async throws -> (status: Int32, output: String) {
    try await offThePool { try run(executable, arguments, withErrors: withErrors) }
}

/// Runs a command to completion and returns its exit status and standard output (with standard
/// error, if `withErrors`). Blocks: from async code, `try await run(…)`.
func run(
    _ executable: String,
    _ arguments: [String],
    withErrors: Bool = false
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    if withErrors { process.standardError = pipe }
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Every sample of a Prometheus `/metrics` page, by its series (name and labels, as written).
func metrics(port: Int) async throws -> [String: Double] {
    let text = try await httpGet(port: port, path: "/metrics")
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            continue
        }
        values[String(line[..<space])] = value
    }
    return values
}

/// `GET path` over HTTP/1.0 on loopback with NIO (Foundation's URL loading would block a
/// cooperative thread); returns the whole response, headers included.
func httpGet(port: Int, path: String, method: String = "GET") async throws -> String {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(
            ByteBuffer(string: "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\ncontent-length: 0\r\n\r\n")
        )
        var response = ""
        for try await chunk in inbound { response += String(buffer: chunk) }
        return response
    }
}

/// Tells callers racing in a test's task group when to stop.
final class StopFlag: Sendable {
    let value = Atomic(false)
}

/// A raw TCP connection that sends whatever bytes a test wants (part of a request, then nothing)
/// and collects what comes back, until the server closes it.
final class RawConnection: Sendable {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private let received = NIOLockedValueBox<(bytes: [UInt8], closed: Bool)>(([], false))
    private let reader: Task<Void, Never>

    init(port: Int) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        self.channel = channel
        let received = self.received
        self.reader = Task {
            do {
                try await channel.executeThenClose { inbound, _ in
                    for try await chunk in inbound {
                        received.withLockedValue { $0.bytes += Array(chunk.readableBytesView) }
                    }
                }
            } catch {}
            received.withLockedValue { $0.closed = true }
        }
    }

    func send(_ bytes: [UInt8]) async throws {
        try await self.channel.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    var text: String { String(decoding: self.received.withLockedValue { $0.bytes }, as: UTF8.self) }
    var isClosed: Bool { self.received.withLockedValue { $0.closed } }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    func waitUntil(timeout: Duration = .seconds(20), _ condition: (RawConnection) -> Bool) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end && !condition(self) { try? await Task.sleep(for: .milliseconds(5)) }
        return condition(self)
    }

    func close() async {
        try? await self.channel.channel.close()
        await self.reader.value
    }
}
