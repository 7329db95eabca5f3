import Dispatch
import Synchronization

/// A write the store has accepted, in submission order, and finishes later: once it is durable,
/// or has failed (then nothing of it happened).
///
/// Store writes hand one back at once. The serialized write queue that submitted it is then free
/// for its next write — which the store runs after this one — instead of holding a thread while
/// the commit waits for the disk. Use cases await ``value``; tools and tests may block on ``wait()``.
public final class PendingWrite<Value: Sendable>: Sendable {
    public typealias Completion = @Sendable (Result<Value, any Error>) -> Void

    private enum State {
        case waiting([Completion])
        case done(Result<Value, any Error>, GroupCommit?)
    }

    private let state: Mutex<State>
    private let abandonedFlag = Atomic<Bool>(false)

    /// A write still in flight; the store calls ``complete(_:)`` once.
    public init() {
        self.state = Mutex(.waiting([]))
    }

    /// A write that is already over (nothing to write, or refused before it was queued).
    public init(_ result: Result<Value, any Error>) {
        self.state = Mutex(.done(result, nil))
    }

    /// Finishes the write and runs what waits for it, on the caller's thread. Later calls are ignored.
    /// - Parameter commit: the group commit the write was in, if it reached one.
    public func complete(_ result: Result<Value, any Error>, commit: GroupCommit? = nil) {
        let waiting = self.state.withLock { state -> [Completion] in
            guard case .waiting(let completions) = state else { return [] }
            state = .done(result, commit)
            return completions
        }
        for completion in waiting { completion(result) }
    }

    /// Runs `completion` with the result: now if the write is over, else on the thread that finishes it.
    public func whenComplete(_ completion: @escaping Completion) {
        let result = self.state.withLock { state -> Result<Value, any Error>? in
            switch state {
            case .done(let result, _):
                return result
            case .waiting(var completions):
                completions.append(completion)
                state = .waiting(completions)
                return nil
            }
        }
        if let result { completion(result) }
    }

    /// Nobody waits for the result any more (the caller's connection closed, its deadline passed
    /// or it was cancelled): a store that has not started the write drops it. One that has, finishes it.
    public func abandon() { self.abandonedFlag.store(true, ordering: .releasing) }

    /// Whether ``abandon()`` was called.
    public var isAbandoned: Bool { self.abandonedFlag.load(ordering: .acquiring) }

    /// The group commit the write was in, once it is over (nil before, or if it never reached one).
    public var commit: GroupCommit? {
        self.state.withLock { state in
            guard case .done(_, let commit) = state else { return nil }
            return commit
        }
    }

    /// The write's result, once it is durable.
    public var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                self.whenComplete { continuation.resume(with: $0) }
            }
        }
    }

    /// Blocks the calling thread until the write is over. For tools and tests; never call it on an
    /// event loop or on the store's own queues.
    public func wait() throws -> Value {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<Value, any Error>?>(nil)
        self.whenComplete { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try box.withLock { $0! }.get()
    }
}

/// One transaction of a store's group commit, as the writes in it see it (for their trace spans).
public struct GroupCommit: Sendable, Hashable {
    /// The database, as OpenTelemetry's `db.system` names it: `sqlite`, `postgresql`.
    public var system: String
    /// The store's count of its transactions: the same number for every write of one commit.
    public var sequence: Int
    /// The writes the transaction held.
    public var writes: Int
    /// When the transaction began and when its commit was durable (or failed), as
    /// `DispatchTime.now().uptimeNanoseconds`.
    public var startedUptime: UInt64
    public var endedUptime: UInt64

    public init(system: String, sequence: Int, writes: Int, startedUptime: UInt64, endedUptime: UInt64) {
        self.system = system
        self.sequence = sequence
        self.writes = writes
        self.startedUptime = startedUptime
        self.endedUptime = endedUptime
    }
}
