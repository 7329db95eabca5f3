import NIOCore

/// Runs Swift tasks on a NIO event loop.
///
/// A read's task starts on the loop that read its request and resumes there after each `await`,
/// so the common path — decode, validate, hop to a storage queue, come back, encode, write — wakes
/// no other thread besides the storage queue's (servers run writes' tasks off the loop). Code on such a task must never block: anything
/// that waits (SQLite, files) belongs on a Dispatch queue, as the commerce use cases do.
public final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
