import FrameRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A small pool of multiplexed connections that reconnects with backoff and retries calls where
/// that is safe: always when the server provably did not process the call, and after a broken
/// connection only for calls marked ``CallOptions/idempotent``.
public final class RPCClient: Sendable {
    private enum Slot {
        case empty
        case connecting(EventLoopFuture<RPCConnection>)
        case connected(RPCConnection)
    }

    private struct State {
        var slots: [Slot]
        var next = 0
        var closed = false
    }

    public let configuration: ClientConfiguration
    private let group: any EventLoopGroup
    private let state: NIOLockedValueBox<State>

    public init(configuration: ClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.state = NIOLockedValueBox(State(slots: Array(repeating: .empty, count: configuration.connections)))
    }

    /// Calls `method` with an encoded request and returns the encoded response.
    public func call(_ method: String, request: [UInt8], options: CallOptions = CallOptions()) async throws -> [UInt8] {
        let timeout = options.timeout ?? self.configuration.defaultTimeout
        let giveUp = ContinuousClock.now + timeout
        var attempt = 0
        while true {
            let slot = self.state.withLockedValue { state in
                defer { state.next = (state.next + 1) % state.slots.count }
                return state.next
            }
            let remaining = giveUp - ContinuousClock.now
            guard remaining > .zero else {
                throw RPCError(
                    code: .deadlineExceeded,
                    reason: WireReason.deadlineExceeded,
                    message: "deadline passed while reconnecting"
                )
            }
            do {
                let connection = try await self.connection(slot: slot)
                return try await connection.send(
                    method: method,
                    request: request,
                    timeout: remaining,
                    metadata: options.metadata
                )
            } catch let failure as ClientFailure where Self.refusedByAdmission(failure.error) {
                // Refused by the server's admission before anything ran (OVERLOADED, WRITE_QUEUE_FULL):
                // safe to send again, writes included, after the hint, while attempts and the deadline last.
                attempt += 1
                let hint = Duration.milliseconds(Int64(failure.error.details["retry_after_ms"] ?? "") ?? 50)
                let delay = max(hint, self.configuration.backoff.delay(attempt: attempt - 1))
                guard attempt < self.configuration.maxAttempts, !Task.isCancelled, ContinuousClock.now + delay < giveUp
                else {
                    throw failure.error
                }
                try await Task.sleep(for: delay)
            } catch let failure as ClientFailure {
                let retryable = failure.kind == .notProcessed || (failure.kind == .connectionLost && options.idempotent)
                if failure.kind != .final { self.discard(slot: slot) }
                attempt += 1
                guard retryable, attempt < self.configuration.maxAttempts, !Task.isCancelled else {
                    throw failure.error
                }
                let delay = min(self.configuration.backoff.delay(attempt: attempt - 1), giveUp - ContinuousClock.now)
                if delay > .zero { try await Task.sleep(for: delay) }
            }
        }
    }

    /// A refusal that says when to come back: it was not processed.
    static func refusedByAdmission(_ error: RPCError) -> Bool {
        error.code == .resourceExhausted && error.details["retry_after_ms"] != nil
    }

    /// Closes every connection; later calls fail with `UNAVAILABLE`.
    public func close() async {
        let slots = self.state.withLockedValue { state in
            state.closed = true
            defer { state.slots = state.slots.map { _ in .empty } }
            return state.slots
        }
        for slot in slots {
            switch slot {
            case .connected(let connection): await connection.close()
            case .connecting(let future): if let connection = try? await future.get() { await connection.close() }
            case .empty: break
            }
        }
    }

    private enum Action {
        case use(RPCConnection)
        case wait(EventLoopFuture<RPCConnection>)
        case connect(EventLoopPromise<RPCConnection>)
        case closed
    }

    private func connection(slot index: Int) async throws -> RPCConnection {
        let action: Action = self.state.withLockedValue { state in
            if state.closed { return .closed }
            switch state.slots[index] {
            case .connected(let connection) where connection.isUsable:
                return .use(connection)
            case .connecting(let future):
                return .wait(future)
            default:
                let promise = self.group.any().makePromise(of: RPCConnection.self)
                state.slots[index] = .connecting(promise.futureResult)
                return .connect(promise)
            }
        }
        switch action {
        case .closed:
            throw RPCError(code: .unavailable, reason: WireReason.connectionClosed, message: "the client is closed")
        case .use(let connection):
            return connection
        case .wait(let future):
            return try await future.get()
        case .connect(let promise):
            do {
                let connection = try await RPCConnection.open(configuration: self.configuration, group: self.group)
                self.state.withLockedValue { state in
                    state.slots[index] = state.closed ? .empty : .connected(connection)
                }
                promise.succeed(connection)
                return connection
            } catch {
                self.state.withLockedValue { $0.slots[index] = .empty }
                promise.fail(error)
                throw error
            }
        }
    }

    private func discard(slot index: Int) {
        self.state.withLockedValue { state in
            if case .connected(let connection) = state.slots[index], !connection.isUsable {
                state.slots[index] = .empty
            }
        }
    }
}
