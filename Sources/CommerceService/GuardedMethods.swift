import CommerceDomain
import Foundation
import FrameRPC
import FrameRPCServer
import SwiftProtobuf
import Tracing

/// Builds the commerce methods, each behind the access its proto declares (the generated
/// `...ServiceHandler.methods(guarded:)` picks the function here from it): the gate runs before
/// the request is decoded, and a user method's body receives the user only after the caller was
/// found to act for them. A method cannot reach a use case without passing its check.
struct GuardedMethods: Sendable {
    let gate: Gate

    /// Browsing: no credential is read.
    func open<Method: RPCMethodSpec>(
        _ method: Method.Type,
        _ body: @escaping @Sendable (Method.Request, ServerContext) async throws -> Method.Response
    ) -> RPCMethod {
        self.method(method, scope: nil) { request, _, context in try await body(request, context) }
    }

    /// A user's own data, named by the request's `user_id`: the body gets that user, authorized.
    func user<Method: RPCMethodSpec>(
        _ method: Method.Type,
        user: @escaping @Sendable (Method.Request) -> Int64,
        _ body: @escaping @Sendable (Method.Request, UserID, ServerContext) async throws -> Method.Response
    ) -> RPCMethod {
        self.method(method, scope: .user) { request, caller, context in
            let id = try Validate.userID(user(request))
            try caller.authorize(actingFor: id)
            context.span?.attributes["enduser.id"] = id.rawValue
            return try await body(request, id, context)
        }
    }

    /// A user's own data found by another id (an order): the body gets the caller and must show
    /// the data only if ``Caller/maySee(ownedBy:)``.
    func owned<Method: RPCMethodSpec>(
        _ method: Method.Type,
        _ body: @escaping @Sendable (Method.Request, Caller, ServerContext) async throws -> Method.Response
    ) -> RPCMethod {
        self.method(method, scope: .user, body)
    }

    func service<Method: RPCMethodSpec>(
        _ method: Method.Type,
        _ body: @escaping @Sendable (Method.Request, ServerContext) async throws -> Method.Response
    ) -> RPCMethod {
        self.method(method, scope: .service) { request, _, context in try await body(request, context) }
    }

    func admin<Method: RPCMethodSpec>(
        _ method: Method.Type,
        _ body: @escaping @Sendable (Method.Request, ServerContext) async throws -> Method.Response
    ) -> RPCMethod {
        self.method(method, scope: .admin) { request, _, context in try await body(request, context) }
    }

    private func method<Method: RPCMethodSpec>(
        _ method: Method.Type,
        scope: Scope?,
        _ body: @escaping @Sendable (Method.Request, Caller, ServerContext) async throws -> Method.Response
    ) -> RPCMethod {
        let gate = self.gate
        let name = Method.descriptor.path
        let useCase = "use case \(Method.descriptor.method)"
        return RPCMethod(Method.self) { payload, context in
            // Who calls is settled before anything of the request is read.
            let caller =
                try scope.map { scope throws(CommerceError) in try gate.caller(context, needs: scope) }
                ?? .unauthenticated
            let request: Method.Request
            do {
                request = try Method.Request(serializedBytes: payload)
            } catch {
                throw RPCError(decoding: error, what: "request for \(name)")
            }
            if let span = context.span {
                span.attributes["enduser.id"] = caller.user?.rawValue
                span.attributes["commerce.caller"] = caller.subject
            }
            do {
                guard let tracer = context.tracer else {
                    return try await body(request, caller, context).serializedBytes()
                }
                return try await Self.traced(useCase, tracer) { try await body(request, caller, context) }
                    .serializedBytes()
            } catch let error as CommerceError {
                StoreMetrics.refused(error)
                throw error
            }
        }
    }

    /// `body` inside an internal span named for the use case, under the call's span.
    private static func traced<Response>(
        _ name: String,
        _ tracer: any Tracer,
        _ body: () async throws -> Response
    ) async throws -> Response {
        let span = tracer.startSpan(name, context: ServiceContext.current ?? .topLevel, ofKind: .internal)
        defer { span.end() }
        var inside = span.context
        inside.tracesWrites = true
        do {
            return try await ServiceContext.withValue(inside) { try await body() }
        } catch let error as CommerceError {
            span.attributes["commerce.reason"] = error.reason.rawValue
            throw error
        }
    }
}
