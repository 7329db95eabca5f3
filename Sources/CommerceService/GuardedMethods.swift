import CommerceDomain
import FrameRPC
import FrameRPCServer
import Foundation
import SwiftProtobuf

extension RPCAccess {
    /// Acts for the user the request names: that user's own token, or a service token.
    public static let user = RPCAccess("user")
    /// Trusted backends only (a service token).
    public static let service = RPCAccess("service")
    /// The admin token or a token with the admin scope.
    public static let admin = RPCAccess("admin")
}

/// Builds the commerce methods, each with its access declared where it is registered: the gate
/// runs before the request is decoded, and a user method's body receives the user only after the
/// caller was found to act for them. A method cannot reach a use case without passing its check.
struct GuardedMethods: Sendable {
    let gate: Gate

    /// Browsing: no credential is read.
    func open<Request: Message, Response: Message>(
        _ name: String, _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> RPCMethod {
        self.method(name, mutating: false, access: .public, scope: nil) { request, _, context in try await body(request, context) }
    }

    /// A user's own data, named by the request's `user_id`: the body gets that user, authorized.
    func user<Request: Message, Response: Message>(
        _ name: String, mutating: Bool = false, user: @escaping @Sendable (Request) -> Int64,
        _ body: @escaping @Sendable (Request, UserID, ServerContext) async throws -> Response
    ) -> RPCMethod {
        self.method(name, mutating: mutating, access: .user, scope: .user) { request, caller, context in
            let id = try Validate.userID(user(request))
            try caller.authorize(actingFor: id)
            return try await body(request, id, context)
        }
    }

    /// A user's own data found by another id (an order): the body gets the caller and must show
    /// the data only if ``Caller/maySee(ownedBy:)``.
    func owned<Request: Message, Response: Message>(
        _ name: String, _ body: @escaping @Sendable (Request, Caller, ServerContext) async throws -> Response
    ) -> RPCMethod {
        self.method(name, mutating: false, access: .user, scope: .user, body)
    }

    func service<Request: Message, Response: Message>(
        _ name: String, mutating: Bool = false, _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> RPCMethod {
        self.method(name, mutating: mutating, access: .service, scope: .service) { request, _, context in try await body(request, context) }
    }

    func admin<Request: Message, Response: Message>(
        _ name: String, mutating: Bool = false, _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> RPCMethod {
        self.method(name, mutating: mutating, access: .admin, scope: .admin) { request, _, context in try await body(request, context) }
    }

    private func method<Request: Message, Response: Message>(
        _ name: String, mutating: Bool, access: RPCAccess, scope: Scope?,
        _ body: @escaping @Sendable (Request, Caller, ServerContext) async throws -> Response
    ) -> RPCMethod {
        let gate = self.gate
        return RPCMethod(
            name: name, requestType: Request.protoMessageName, responseType: Response.protoMessageName, mutating: mutating, access: access
        ) { payload, context in
            // Who calls is settled before anything of the request is read.
            let caller = try scope.map { scope throws(CommerceError) in try gate.caller(context, needs: scope) } ?? .unauthenticated
            let request: Request
            do {
                request = try Request(serializedBytes: payload)
            } catch {
                throw RPCError(decoding: error, what: "request for \(name)")
            }
            return try await body(request, caller, context).serializedBytes()
        }
    }
}
