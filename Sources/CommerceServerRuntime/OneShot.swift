import Synchronization

/// A value delivered once, awaited once: the first of ``succeed(_:)`` or ``fail(_:)`` settles it,
/// later ones are ignored.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, any Error>?)
        case settled(Result<Value, any Error>)
        case taken
    }

    private let state = Mutex(State.waiting(nil))

    func succeed(_ value: Value) { self.settle(.success(value)) }

    func fail(_ error: any Error) { self.settle(.failure(error)) }

    private func settle(_ result: Result<Value, any Error>) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard case .waiting(let waiter) = state else { return nil }
            if let waiter {
                state = .taken
                return waiter
            }
            state = .settled(result)
            return nil
        }
        waiter?.resume(with: result)
    }

    var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready = self.state.withLock { state -> Result<Value, any Error>? in
                    switch state {
                    case .waiting:
                        state = .waiting(continuation)
                        return nil
                    case .settled(let result):
                        state = .taken
                        return result
                    case .taken:
                        preconditionFailure("a OneShot is awaited once")
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}
