import Foundation
import FrameRPC
import NIOCore
import SwiftProtobuf

/// One method a server offers: its name, its message types and the code that answers it.
public struct RPCMethod: Sendable {
    public typealias Handler = @Sendable (_ payload: Data, _ context: ServerContext) async throws -> [UInt8]

    /// `/package.Service/Method`.
    public let name: String
    public let requestType: String
    public let responseType: String
    /// Whether the call changes state.
    public let mutating: Bool
    /// Who may call it (see ``RPCAccess``).
    public var access: RPCAccess
    /// The Swift types of its messages, where known (every generated method): what a transport
    /// that speaks JSON (Connect) converts the binary request and reply with.
    public var messageTypes: (request: any SwiftProtobuf.Message.Type, response: any SwiftProtobuf.Message.Type)?
    public let handler: Handler
    /// Set for a method answered on the connection's event loop as its request arrives (see
    /// ``immediate(_:_:)``); it then never runs as a task.
    public let immediate: (@Sendable (_ payload: Data) throws(RPCError) -> [UInt8])?

    public init(
        name: String,
        requestType: String,
        responseType: String,
        mutating: Bool,
        access: RPCAccess = .unclassified,
        handler: @escaping Handler,
        immediate: (@Sendable (_ payload: Data) throws(RPCError) -> [UInt8])? = nil
    ) {
        self.access = access
        self.name = name
        self.requestType = requestType
        self.responseType = responseType
        self.mutating = mutating
        self.handler = handler
        self.immediate = immediate
    }

    /// The method `spec` declares (name, message types, access, side effects), answered by `handler`.
    public init<Method: RPCMethodSpec>(_ spec: Method.Type, handler: @escaping Handler) {
        self.init(
            name: Method.descriptor.path,
            requestType: Method.Request.protoMessageName,
            responseType: Method.Response.protoMessageName,
            mutating: Method.descriptor.mutating,
            access: Method.descriptor.access,
            handler: handler
        )
        self.messageTypes = (Method.Request.self, Method.Response.self)
    }

    /// The method `spec` declares, over its protobuf messages; decoding failures become `INVALID_ARGUMENT`.
    public static func unary<Method: RPCMethodSpec>(
        _ spec: Method.Type,
        _ body: @escaping @Sendable (Method.Request, ServerContext) async throws -> Method.Response
    ) -> RPCMethod {
        Self.unary(Method.descriptor.path, mutating: Method.descriptor.mutating, access: Method.descriptor.access, body)
    }

    /// A unary method over protobuf messages; decoding failures become `INVALID_ARGUMENT`.
    public static func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ name: String,
        mutating: Bool = false,
        access: RPCAccess = .unclassified,
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> RPCMethod {
        var method = RPCMethod(
            name: name,
            requestType: Request.protoMessageName,
            responseType: Response.protoMessageName,
            mutating: mutating,
            access: access
        ) { payload, context in
            let request: Request
            do {
                request = try Request(serializedBytes: payload)
            } catch {
                throw RPCError(decoding: error, what: "request for \(name)")
            }
            return try await body(request, context).serializedBytes()
        }
        method.messageTypes = (Request.self, Response.self)
        return method
    }

    /// A method answered on the event loop that reads its request, ahead of every call already
    /// queued there, without a task or an admission slot: for what is cheap, never blocks and must
    /// stay fast under any load — a health check measures the server, not the queue of a flood.
    public static func immediate<Method: RPCMethodSpec>(
        _ spec: Method.Type,
        _ body: @escaping @Sendable (Method.Request) -> Method.Response
    ) -> RPCMethod {
        precondition(
            !Method.descriptor.mutating,
            "\(Method.descriptor) changes state: it cannot be answered on the event loop"
        )
        return Self.immediate(Method.descriptor.path, access: Method.descriptor.access, body)
    }

    /// ``immediate(_:_:)`` for a method without a generated spec (tests).
    public static func immediate<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ name: String,
        access: RPCAccess = .public,
        _ body: @escaping @Sendable (Request) -> Response
    ) -> RPCMethod {
        let answer: @Sendable (Data) throws(RPCError) -> [UInt8] = { payload throws(RPCError) in
            let request: Request
            do {
                request = try Request(serializedBytes: payload)
            } catch {
                throw RPCError(decoding: error, what: "request for \(name)")
            }
            do {
                return try body(request).serializedBytes()
            } catch {
                throw RPCError(
                    code: .internal,
                    reason: WireReason.internalError,
                    message: "the reply could not be encoded"
                )
            }
        }
        var method = RPCMethod(
            name: name,
            requestType: Request.protoMessageName,
            responseType: Response.protoMessageName,
            mutating: false,
            access: access,
            handler: { payload, _ in try answer(payload) },
            immediate: answer
        )
        method.messageTypes = (Request.self, Response.self)
        return method
    }

    /// Runs the handler as a task on `executor` (the connection's event loop; nil: the global
    /// executor), then hands its result to `completion` on `eventLoop`: how every transport starts
    /// a call.
    public func start(
        _ payload: Data,
        _ context: ServerContext,
        executor: EventLoopTaskExecutor?,
        on eventLoop: any EventLoop,
        then completion: @escaping @Sendable (Result<[UInt8], any Error>) -> Void
    ) -> Task<Void, Never> {
        let body = self.handler
        return Task(executorPreference: executor) {
            let result: Result<[UInt8], any Error>
            do {
                result = .success(try await body(payload, context))
            } catch {
                result = .failure(error)
            }
            // A task on the loop's executor ends on the loop: answer now rather than a tick later.
            if eventLoop.inEventLoop {
                completion(result)
            } else {
                eventLoop.execute { completion(result) }
            }
        }
    }

    /// The service part of the name: `package.Service`.
    public var serviceName: String {
        let parts = self.name.split(separator: "/")
        return parts.count == 2 ? String(parts[0]) : ""
    }

    /// The method part of the name: `Method`.
    public var methodName: String {
        let parts = self.name.split(separator: "/")
        return parts.count == 2 ? String(parts[1]) : ""
    }
}

/// A group of methods registered together.
public protocol RPCService: Sendable {
    var methods: [RPCMethod] { get }
}
