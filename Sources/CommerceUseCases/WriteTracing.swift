import CommerceDomain
import Dispatch
import Synchronization
import Tracing

/// The spans of one write, when writes are traced: `store write` from its submission to the end of
/// the group commit that made it durable (or its failure), and inside it `group commit`, the
/// transaction it shared with the other writes of its batch (`commerce.commit.sequence` tells which:
/// every write of one commit has the same). Both are children of the caller's span.
struct WriteTracing: Sendable {
    let tracer: any Tracer

    /// Whether the caller's use case records spans (``ServiceContext/tracesWrites``).
    static var wanted: Bool { ServiceContext.current?.tracesWrites ?? false }

    struct Started: Sendable {
        let span: any Span
        let parent: ServiceContext
    }

    func start(_ queue: String) -> Started {
        let parent = ServiceContext.current ?? .topLevel
        let span = self.tracer.startSpan("store write", context: parent, ofKind: .client)
        span.attributes["commerce.write_queue"] = queue
        return Started(span: span, parent: parent)
    }

    func end(_ started: Started, commit: GroupCommit?, error: (any Error)?) {
        let span = started.span
        if let error {
            if let error = error as? CommerceError {
                span.attributes["commerce.reason"] = error.reason.rawValue
            } else {
                span.recordError(error)
            }
        }
        if let commit {
            span.attributes["db.system"] = commit.system
            span.attributes["commerce.commit.sequence"] = commit.sequence
            span.attributes["commerce.commit.writes"] = commit.writes
            let group = self.tracer.startSpan(
                "group commit",
                context: span.context,
                ofKind: .internal,
                at: WallInstant(uptime: commit.startedUptime)
            )
            group.attributes["db.system"] = commit.system
            group.attributes["commerce.commit.sequence"] = commit.sequence
            group.attributes["commerce.commit.writes"] = commit.writes
            group.end(at: WallInstant(uptime: commit.endedUptime))
        }
        span.end()
    }
}

/// Marks a context whose writes are traced: set by a use case's span, so that a call the sampler
/// left out (or work outside any call) makes no write spans and stores no trace context.
public enum TracesWritesKey: ServiceContextKey {
    public typealias Value = Bool
}

extension ServiceContext {
    /// Whether writes made in this context record spans (``TracesWritesKey``).
    public var tracesWrites: Bool {
        get { self[TracesWritesKey.self] ?? false }
        set { self[TracesWritesKey.self] = newValue }
    }
}

/// An instant given by the monotonic clock (`DispatchTime`'s uptime), placed on the wall clock the
/// tracer's other instants use.
struct WallInstant: TracerInstant {
    let nanosecondsSinceEpoch: UInt64

    init(uptime: UInt64) {
        let wallNow = DefaultTracerClock.now.nanosecondsSinceEpoch
        let uptimeNow = DispatchTime.now().uptimeNanoseconds
        self.nanosecondsSinceEpoch = wallNow &- (uptimeNow &- min(uptime, uptimeNow))
    }

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }
}

/// A value set on one thread and read after a happens-before edge (a continuation's resumption).
final class Box<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)

    var value: Value? {
        get { self.storage.withLock { $0 } }
        set { self.storage.withLock { $0 = newValue } }
    }
}

/// W3C trace context in a dictionary of header names.
public struct DictionaryCarrier: Extractor, Injector {
    public init() {}

    public func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }

    public func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}
