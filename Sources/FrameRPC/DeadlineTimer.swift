import NIOCore

/// The one timer behind every call deadline of a connection, instead of one timer per call.
///
/// A per-call timer costs an allocation, a push onto the event loop's timer heap when the call
/// starts and a removal when it ends, though nearly every call ends long before its deadline.
/// This timer is set for the earliest deadline and only moved when a call with an earlier one
/// starts. When it fires, the owner expires whatever is overdue and sets it again for the earliest
/// deadline still pending (``set(for:on:_:)``), so deadlines are kept to the same tick as before.
///
/// Used on the connection's event loop only.
public struct DeadlineTimer {
    private var scheduled: (deadline: NIODeadline, task: Scheduled<Void>)?

    public init() {}

    /// When the timer fires next, if it is set.
    public var deadline: NIODeadline? { self.scheduled?.deadline }

    /// Whether the timer is already set to fire no later than `deadline`: then a call with that
    /// deadline needs nothing (checked before building the callback, which allocates).
    public func covers(_ deadline: NIODeadline) -> Bool {
        self.scheduled.map { $0.deadline <= deadline } ?? false
    }

    /// Makes sure `fire` runs on `eventLoop` no later than `deadline`: sets the timer if it is not
    /// set, moves it if it is set for later, and otherwise leaves it as it is.
    public mutating func set(
        for deadline: NIODeadline,
        on eventLoop: any EventLoop,
        _ fire: @escaping @Sendable () -> Void
    ) {
        if let scheduled = self.scheduled {
            guard deadline < scheduled.deadline else { return }
            scheduled.task.cancel()
        }
        self.scheduled = (deadline, eventLoop.scheduleTask(deadline: deadline, fire))
    }

    /// Forgets the timer that just fired, so the next ``set(for:on:_:)`` sets a new one.
    public mutating func fired() {
        self.scheduled = nil
    }

    /// Sorts the calls of a connection into those whose deadline has passed (by key, in order) and
    /// the earliest deadline still ahead: what the owner needs when the timer fires.
    public static func sweep<Key: Comparable, Call>(
        _ calls: [Key: Call],
        now: NIODeadline = .now(),
        deadline: (Call) -> NIODeadline
    ) -> (overdue: [Key], next: NIODeadline?) {
        var next: NIODeadline?
        var overdue: [Key] = []
        for (key, call) in calls {
            let due = deadline(call)
            if due <= now {
                overdue.append(key)
            } else {
                next = min(next ?? due, due)
            }
        }
        return (overdue.sorted(), next)
    }

    /// Stops the timer, when the connection closes.
    public mutating func cancel() {
        self.scheduled?.task.cancel()
        self.scheduled = nil
    }
}
