import Foundation
import FrameRPC
import Histogram
import Synchronization

/// Latency and outcomes of one method.
struct MethodStats: Sendable {
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)  // µs
    /// Calls that did not succeed, by reason (the unknown ones included).
    var errors: [String: Int] = [:]
    /// Measured calls, whatever their outcome.
    var count = 0
    /// Of the errors, calls whose effect the client cannot know (``Outcome/unknown``).
    var unknown = 0

    var ok: Int { self.count - self.errors.values.reduce(0, +) }
    var failed: Int { self.errors.values.reduce(0, +) - self.unknown }

    mutating func record(_ outcome: Outcome, micros: UInt64) {
        self.count += 1
        _ = self.latency.record(micros)
        if let failure = outcome.failure { self.errors[failure, default: 0] += 1 }
        if outcome.unknown { self.unknown += 1 }
    }

    mutating func merge(_ other: MethodStats) {
        self.latency.add(other.latency)
        self.count += other.count
        self.unknown += other.unknown
        for (key, value) in other.errors { self.errors[key, default: 0] += value }
    }
}

/// An open-loop run against its schedule.
struct Schedule: Sendable {
    var targetPerSecond: Double
    /// Calls the schedule planned in the measured seconds.
    var planned = 0
    /// Calls started later than 1 ms after their planned time (their latency counts from it).
    var late = 0
}

/// One measured call, for plots: when it started (ms into the measured run) and how long it took.
struct Sample: Sendable {
    var startMillis: UInt32
    var micros: UInt32
    var failed: Bool
}

struct LoadResult: Sendable {
    var methods: [String: MethodStats]
    var seconds: Double
    /// Open loop only.
    var schedule: Schedule?
    /// The run ended at its deadline plus the drain with calls still unanswered (they count as unknown).
    var drainExpired = false
    /// Every measured call, by start time (only with `recordSamples`).
    var samples: [Sample] = []
}

/// Drives a workload closed-loop (N callers) or open-loop (fixed rate), with warm-up.
struct LoadRunner: Sendable {
    /// Where the callers' tasks run.
    var executor: EventLoopTaskExecutor
    var concurrency: Int
    var rate: Double?
    var warmup: Double
    var duration: Double
    var requests: Int?
    var progress: Bool
    /// Keep every call's start and latency (8 bytes each), for `--plot`.
    var recordSamples = false
    /// After `--duration`, how long calls in flight may take before they are cancelled (and counted
    /// unknown): the run ends whatever the server does.
    var drain: Duration = .seconds(5)

    private enum Finished: Sendable {
        case worker([Sample], late: Int)
        case drainExpired
        case done
    }

    func run(_ call: @escaping @Sendable (Int) async -> Outcome) async throws -> LoadResult {
        let shared = SharedCounters()
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start + .milliseconds(Int64(self.warmup * 1000))
        let stopAt = measureFrom + .milliseconds(Int64(self.duration * 1000))
        let requests = self.requests
        let interval: Duration? = self.rate.map { .nanoseconds(Int64(1_000_000_000 / $0)) }
        let concurrency = self.concurrency

        let progressTask =
            self.progress
            ? Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    let snapshot = shared.live.withLock { stats -> MethodStats in
                        defer { stats = MethodStats() }
                        return stats
                    }
                    let errors = snapshot.errors.values.reduce(0, +)
                    let line = String(
                        format: "\r%7d calls/s  errors %5d  p50 %7.0f µs  p99 %7.0f µs   ",
                        snapshot.count,
                        errors,
                        Double(snapshot.latency.valueAtPercentile(50)),
                        Double(snapshot.latency.valueAtPercentile(99))
                    )
                    FileHandle.standardError.write(Data(line.utf8))
                }
            } : nil

        let recordSamples = self.recordSamples
        // Callers record into a few shared shards, not stats of their own: a histogram is ~240 KB,
        // and 20,000 callers each with their own spent their generator's core clearing pages.
        let shards = (0..<min(concurrency, 32)).map { _ in StatsShard() }
        let drainDeadline = requests == nil ? stopAt + self.drain : nil
        let (merged, allSamples, late, drainExpired) = try await withThrowingTaskGroup(of: Finished.self) { group in
            for worker in 0..<concurrency {
                group.addTask(executorPreference: self.executor) {
                    let shard = shards[worker % shards.count]
                    var samples: [Sample] = []
                    var late = 0
                    var next = interval.map { start + $0 * worker }
                    while !Task.isCancelled {
                        if let requests, shared.measured.load(ordering: .relaxed) >= requests { break }
                        var scheduled = clock.now
                        if let interval, let planned = next {
                            if planned > scheduled { try? await Task.sleep(until: planned, clock: clock) }
                            // Behind schedule at the end: the slots left are not started (the report says how many).
                            if requests == nil && clock.now >= stopAt { break }
                            if clock.now - planned > .milliseconds(1) && planned >= measureFrom { late += 1 }
                            scheduled = planned
                            next = planned + interval * concurrency
                        }
                        if requests == nil && scheduled >= stopAt { break }
                        // --requests: a measured call claims its slot before it starts, so exactly that many run.
                        if let requests, scheduled >= measureFrom,
                            shared.measured.add(1, ordering: .relaxed).oldValue >= requests
                        {
                            break
                        }
                        let sequence = shared.sequence.add(1, ordering: .relaxed).oldValue
                        let outcome = await call(sequence)
                        let end = clock.now
                        guard scheduled >= measureFrom else { continue }
                        let micros = UInt64(max(0, (end - scheduled) / .microseconds(1)))
                        shard.stats.withLock {
                            $0[outcome.method, default: MethodStats()].record(outcome, micros: micros)
                        }
                        if recordSamples {
                            let startMillis = UInt32(
                                max(0, min(Double(UInt32.max), (scheduled - measureFrom) / .milliseconds(1)))
                            )
                            samples.append(
                                Sample(
                                    startMillis: startMillis,
                                    micros: UInt32(clamping: micros),
                                    failed: outcome.failure != nil
                                )
                            )
                        }
                        if self.progress { shared.live.withLock { $0.record(outcome, micros: micros) } }
                    }
                    return .worker(samples, late: late)
                }
            }
            if let drainDeadline {
                // The watchdog: past the deadline and the drain, calls still in flight are cancelled.
                group.addTask {
                    guard (try? await Task.sleep(until: drainDeadline, clock: clock)) != nil else { return .done }
                    return .drainExpired
                }
            }
            var merged: [String: MethodStats] = [:]
            var samples: [Sample] = []
            var late = 0
            var finishedWorkers = 0
            var drainExpired = false
            for try await finished in group {
                switch finished {
                case .worker(let workerSamples, let workerLate):
                    samples += workerSamples
                    late += workerLate
                    finishedWorkers += 1
                    if finishedWorkers == concurrency { group.cancelAll() }  // stops the watchdog
                case .drainExpired:
                    drainExpired = true
                    group.cancelAll()
                case .done:
                    break
                }
            }
            for shard in shards {
                for (method, value) in shard.stats.withLock({ $0 }) {
                    merged[method, default: MethodStats()].merge(value)
                }
            }
            samples.sort { $0.startMillis < $1.startMillis }
            return (merged, samples, late, drainExpired)
        }
        progressTask?.cancel()
        if self.progress { FileHandle.standardError.write(Data("\n".utf8)) }
        let elapsed = clock.now - measureFrom
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let measured = requests == nil ? min(seconds, self.duration) : seconds
        let schedule = self.rate.map {
            Schedule(targetPerSecond: $0, planned: Int(($0 * measured).rounded()), late: late)
        }
        return LoadResult(
            methods: merged,
            seconds: measured,
            schedule: schedule,
            drainExpired: drainExpired,
            samples: allSamples
        )
    }
}

/// Stats some of the callers record into.
final class StatsShard: Sendable {
    let stats = Mutex<[String: MethodStats]>([:])
}

/// State the callers share.
final class SharedCounters: Sendable {
    let sequence = Atomic<Int>(0)
    let measured = Atomic<Int>(0)
    /// Since the last progress line.
    let live = Mutex(MethodStats())
}
