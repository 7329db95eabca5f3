import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A client transport straight into a server's method table, without a socket: the request
/// bytes reach the same handler a FrameRPC connection would call (its access check, its decoding,
/// its use case), with the same metadata and deadline, and its errors come back as the same
/// ``FrameRPC/RPCError``s. What it leaves out is the wire: framing, the envelope, admission,
/// connection limits and timeouts, which the real-socket tests cover.
///
/// ```swift
/// let transport = InProcessTransport(router: CommerceServices.router(useCases: useCases, gate: gate))
/// let client = CommerceClient(transport: transport, token: token)
/// ```
public final class InProcessTransport: RPCTransport {
    private let router: RPCRouter
    private let defaultTimeout: Duration
    private let logger: Logger
    private let streams = NIOLockedValueBox<UInt32>(0)

    /// - Parameter router: the services, as a server would be given them (Health and Reflection are added).
    public init(
        router: RPCRouter,
        defaultTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "framerpc.in-process")
    ) {
        self.router = router.withBuiltins { false }
        self.defaultTimeout = defaultTimeout
        self.logger = logger
    }

    public func call(_ method: String, request: [UInt8], options: CallOptions) async throws -> [UInt8] {
        guard let served = self.router[method] else {
            throw RPCError(
                code: .unimplemented,
                reason: WireReason.methodNotFound,
                message: "no method \"\(method)\"; call /framerpc.v1.Reflection/ListMethods for the list"
            )
        }
        let timeout = options.timeout ?? self.defaultTimeout
        let streamID = self.streams.withLockedValue { id in
            id &+= 2
            return id &- 1
        }
        let context = ServerContext(
            method: method,
            metadata: options.metadata,
            deadline: .now() + TimeAmount(timeout),
            connectionTag: "in-process",
            streamID: streamID,
            connectionLogger: self.logger,
            remoteAddress: "in-process"
        )
        let handler = served.handler
        let payload = Data(request)
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask { try await handler(payload, context) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            do {
                guard let reply = try await group.next(), let bytes = reply else {
                    throw RPCError(
                        code: .deadlineExceeded,
                        reason: WireReason.deadlineExceeded,
                        message:
                            "deadline exceeded; for a state-changing call the outcome is unknown: retry with the same idempotency key"
                    )
                }
                return bytes
            } catch let error as RPCError {
                throw error
            } catch {
                throw RPCError.answering(error, logger: context.logger)
            }
        }
    }

    public func close() async {}
}
