import CommerceClient
import CommerceDomain
import CommerceSQLite
import CommerceService
import CommerceUseCases
import Foundation
import FrameRPCInProcess
import FrameRPCServer

/// The whole service without a socket: a SQLite store in a temporary folder, the use cases on
/// their queues, the gate, and the services' router, reached by clients over an in-process
/// transport. A service test on it runs in milliseconds; what it does not cover (framing,
/// admission, connections, processes) the real-socket tests do.
///
/// ```swift
/// try await withInProcessCommerce { commerce in
///     let client = commerce.client()
///     let user = try await client.createUser(name: "Kim")
/// }
/// ```
public final class InProcessCommerce: Sendable {
    public let store: SQLiteStore
    public let useCases: CommerceUseCases
    public let credentials: TestCredentials
    public let router: RPCRouter
    /// The folder holding the database, removed by ``close()``.
    public let folder: URL

    public init(
        credentials: TestCredentials = TestCredentials(),
        policy: BalancePolicy = .standard,
        clock: @escaping @Sendable () -> UnixMillis = systemClock
    ) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "commerce-in-process-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try SQLiteStore(
            StoreConfiguration(path: folder.appendingPathComponent("commerce.sqlite").path, synchronous: .normal)
        )
        let useCases = CommerceUseCases(
            store: store,
            queues: WorkQueues(),
            policy: policy,
            clock: clock,
            calendar: store.calendar
        )
        let gate = Gate(mode: credentials.auth, adminToken: credentials.adminToken, clock: systemClock)
        self.folder = folder
        self.store = store
        self.useCases = useCases
        self.credentials = credentials
        self.router = CommerceServices.router(useCases: useCases, gate: gate)
    }

    /// A client sending `token` (the service token unless told otherwise), with the admin token
    /// for admin methods.
    public func client(token: String? = nil) -> CommerceClient {
        CommerceClient(
            transport: InProcessTransport(router: self.router),
            token: token ?? self.credentials.serviceToken,
            adminToken: self.credentials.adminToken
        )
    }

    /// A client sending nothing: what an anonymous caller gets.
    public func anonymousClient() -> CommerceClient {
        CommerceClient(transport: InProcessTransport(router: self.router))
    }

    public func close() async {
        await self.store.close()
        try? FileManager.default.removeItem(at: self.folder)
    }
}

/// Runs `body` with a fresh ``InProcessCommerce`` and closes it on every way out.
public func withInProcessCommerce<Result: Sendable>(
    credentials: TestCredentials = TestCredentials(),
    policy: BalancePolicy = .standard,
    clock: @escaping @Sendable () -> UnixMillis = systemClock,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (InProcessCommerce) async throws -> Result
) async throws -> Result {
    let commerce = try InProcessCommerce(credentials: credentials, policy: policy, clock: clock)
    do {
        let result = try await body(commerce)
        await commerce.close()
        return result
    } catch {
        await commerce.close()
        throw error
    }
}
