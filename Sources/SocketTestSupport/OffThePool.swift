import Foundation

/// Runs `body`, which blocks, on a thread of its own and waits for it without blocking a thread: a
/// test must not hold one of the cooperative pool's few threads, which an in-process server's calls
/// need.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
