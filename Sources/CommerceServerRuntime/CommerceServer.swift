import CommerceService
import CommerceSQLite
import CommerceUseCases
import FrameRPCServer
import Logging

/// The composition root: opens the store, wires the use cases to their queues and the services
/// to the router, and starts the FrameRPC server.
public final class CommerceServer: Sendable {
    public let store: SQLiteStore
    private let rpc: RPCServer

    public var port: Int { self.rpc.port }
    public var openConnections: Int { self.rpc.openConnections }

    private init(store: SQLiteStore, rpc: RPCServer) {
        self.store = store
        self.rpc = rpc
    }

    public static func start(
        _ configuration: CommerceServerConfiguration, logger: Logger = Logger(label: "commerce.server")
    ) async throws -> CommerceServer {
        let store = try SQLiteStore(configuration.store)
        let useCases = CommerceUseCases(
            store: store,
            queues: WorkQueues(shards: configuration.writeQueueShards), policy: configuration.policy, clock: configuration.clock,
            rankingCacheMillis: configuration.rankingCacheMillis)
        let router = CommerceServices.router(useCases: useCases, adminToken: configuration.adminToken)
        let rpc = try await RPCServer.start(router: router, configuration: configuration.rpc, logger: logger)
        return CommerceServer(store: store, rpc: rpc)
    }

    /// GOAWAY to every client, finish calls in flight, close.
    public func shutdownGracefully() async throws {
        try await self.rpc.shutdownGracefully()
    }
}
