import CommerceProto
import FrameRPC
import FrameRPCClient
import Foundation
import NIOCore
import NIOPosix
import SwiftProtobuf

/// The Swift client of the commerce service: typed async methods over one multiplexed FrameRPC
/// connection (or a small pool), per-call deadlines, typed errors (``RPCError``: code, reason,
/// message), reconnect with backoff, and retries only where they are safe.
///
/// ```swift
/// let client = CommerceClient(host: "127.0.0.1", port: 7070)
/// let user = try await client.createUser(name: "Kim")
/// let receipt = try await client.chargeBalance(userID: user.id, amount: 10_000, idempotencyKey: UUID().uuidString)
/// ```
public final class CommerceClient: Sendable {
    public let rpc: RPCClient
    /// Sent as `authorization: Bearer <token>` on admin calls.
    public let adminToken: String?

    /// - Parameter group: where the connections live. Pass a single `EventLoop` to keep every
    ///   connection on one thread; callers whose tasks run on that loop (see
    ///   ``FrameRPC/EventLoopTaskExecutor``) then send and resume without any thread hop.
    public init(configuration: ClientConfiguration, adminToken: String? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.rpc = RPCClient(configuration: configuration, group: group)
        self.adminToken = adminToken
    }

    public convenience init(host: String = "127.0.0.1", port: Int = 7070, connections: Int = 1, adminToken: String? = nil) {
        self.init(configuration: ClientConfiguration(host: host, port: port, connections: connections), adminToken: adminToken)
    }

    public func close() async {
        await self.rpc.close()
    }

    /// Calls any method with typed messages.
    public func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request, as: Response.Type = Response.self, options: CallOptions = CallOptions()
    ) async throws -> Response {
        let bytes = try await self.rpc.call(method, request: try request.serializedBytes(), options: options)
        do {
            return try Response(serializedBytes: bytes)
        } catch {
            throw RPCError(decoding: error, what: "reply of \(method)")
        }
    }

    func read<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request, _ options: CallOptions
    ) async throws -> Response {
        var options = options
        options.idempotent = true
        return try await self.call(method, request, options: options)
    }

    func admin(_ options: CallOptions) -> CallOptions {
        var options = options
        if let token = self.adminToken, options.metadata[MetadataKey.authorization] == nil {
            options.metadata[MetadataKey.authorization] = "Bearer \(token)"
        }
        return options
    }
}
