import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
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
    /// What carries the calls: an ``FrameRPCClient/RPCClient`` (TCP or TLS connections), or an
    /// in-process transport in tests.
    public let rpc: any RPCTransport
    /// The bearer token sent as `authorization: Bearer <token>` on every call (a user's own, or a
    /// service's); browsing needs none. Calls whose options carry an `authorization` entry keep theirs.
    public let token: String?
    /// Sent instead of ``token`` on admin calls (the server's static `--admin-token`), if set.
    public let adminToken: String?

    /// - Parameter group: where the connections live. Pass a single `EventLoop` to keep every
    ///   connection on one thread; callers whose tasks run on that loop (see
    ///   ``FrameRPC/EventLoopTaskExecutor``) then send and resume without any thread hop.
    public convenience init(
        configuration: ClientConfiguration,
        token: String? = nil,
        adminToken: String? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        // The token crosses each connection once (a METADATA frame), not with every call.
        var configuration = configuration
        if let token, !token.isEmpty, configuration.connectionMetadata[MetadataKey.authorization] == nil {
            configuration.connectionMetadata[MetadataKey.authorization] = "Bearer \(token)"
        }
        self.init(
            transport: RPCClient(configuration: configuration, group: group),
            token: token,
            adminToken: adminToken
        )
    }

    /// A client over `transport`: `FrameRPCInProcess`'s `InProcessTransport` for tests without a socket.
    public init(transport: any RPCTransport, token: String? = nil, adminToken: String? = nil) {
        self.rpc = transport
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : $0 }
        self.authorization = self.token.map { "Bearer \($0)" }
    }

    public convenience init(
        host: String = "127.0.0.1",
        port: Int = 7070,
        connections: Int = 1,
        token: String? = nil,
        adminToken: String? = nil
    ) {
        self.init(
            configuration: ClientConfiguration(host: host, port: port, connections: connections),
            token: token,
            adminToken: adminToken
        )
    }

    private let authorization: String?

    public func close() async {
        await self.rpc.close()
    }

    /// Calls any method with typed messages.
    public func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) async throws -> Response {
        let options = self.authorized(options)
        let bytes = try await self.rpc.call(method, request: try request.serializedBytes(), options: options)
        do {
            return try Response(serializedBytes: bytes)
        } catch {
            throw RPCError(decoding: error, what: "reply of \(method)")
        }
    }

    /// Calls the method `spec` declares, with this client's credential (the admin token, if any, on
    /// an admin method) and retries where it is a read (`idempotency_level = NO_SIDE_EFFECTS`).
    /// The generated typed methods (`getBalance(_:options:)`, …) call this.
    public func call<Method: RPCMethodSpec>(
        _ spec: Method.Type,
        _ request: Method.Request,
        options: CallOptions = CallOptions()
    ) async throws -> Method.Response {
        var options = self.authorized(options, admin: Method.descriptor.access == .admin)
        if !Method.descriptor.mutating { options.idempotent = true }
        let bytes = try await self.rpc.call(
            Method.descriptor.path,
            request: try request.serializedBytes(),
            options: options
        )
        do {
            return try Method.Response(serializedBytes: bytes)
        } catch {
            throw RPCError(decoding: error, what: "reply of \(Method.descriptor.path)")
        }
    }

    /// `options` with this client's credential in `authorization`, unless they carry one: the
    /// admin token on admin calls if there is one, the token otherwise.
    public func authorized(_ options: CallOptions, admin: Bool = false) -> CallOptions {
        guard options.metadata[MetadataKey.authorization] == nil else { return options }
        var options = options
        if admin, let token = self.adminToken {
            options.metadata[MetadataKey.authorization] = "Bearer \(token)"
        } else if let authorization = self.authorization {
            options.metadata[MetadataKey.authorization] = authorization
        }
        return options
    }
}

/// Runs `body` with a client, and closes the client on every way out of it, as `withGRPCClient`
/// does:
///
/// ```swift
/// let balance = try await withCommerceClient(configuration: ClientConfiguration(port: 7070), token: token) { client in
///     try await client.getBalance(userID: 6)
/// }
/// ```
public func withCommerceClient<Result: Sendable>(
    configuration: ClientConfiguration,
    token: String? = nil,
    adminToken: String? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (CommerceClient) async throws -> Result
) async throws -> Result {
    let client = CommerceClient(configuration: configuration, token: token, adminToken: adminToken)
    let result: Result
    do {
        result = try await body(client)
    } catch {
        await client.close()
        throw error
    }
    await client.close()
    return result
}
