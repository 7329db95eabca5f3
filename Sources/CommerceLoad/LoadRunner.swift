import FrameRPC
import Foundation
import Histogram
import Synchronization

/// Latency and outcomes of one method.
struct MethodStats: Sendable {
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)  // µs
    var errors: [String: Int] = [:]
    var count = 0

    mutating func merge(_ other: MethodStats) {
        self.latency.add(other.latency)
        self.count += other.count
        for (key, value) in other.errors { self.errors[key, default: 0] += value }
    }
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

    func run(_ call: @escaping @Sendable (Int) async -> Outcome) async throws -> LoadResult {
        let shared = SharedCounters()
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start + .milliseconds(Int64(self.warmup * 1000))
        let stopAt = measureFrom + .milliseconds(Int64(self.duration * 1000))
        let requests = self.requests
        let interval: Duration? = self.rate.map { .nanoseconds(Int64(1_000_000_000 / $0)) }
        let concurrency = self.concurrency

        let progressTask = self.progress ? Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let snapshot = shared.live.withLock { stats -> MethodStats in defer { stats = MethodStats() }; return stats }
                let errors = snapshot.errors.values.reduce(0, +)
                let line = String(format: "\r%7d calls/s  errors %5d  p50 %7.0f µs  p99 %7.0f µs   ",
                                  snapshot.count, errors, Double(snapshot.latency.valueAtPercentile(50)),
                                  Double(snapshot.latency.valueAtPercentile(99)))
                FileHandle.standardError.write(Data(line.utf8))
            }
        } : nil

        let recordSamples = self.recordSamples
        let perWorker = try await withThrowingTaskGroup(of: ([String: MethodStats], [Sample]).self) { group in
            for worker in 0..<concurrency {
                group.addTask(executorPreference: self.executor) {
                    var stats: [String: MethodStats] = [:]
                    var samples: [Sample] = []
                    var next = interval.map { start + $0 * worker }
                    while true {
                        if let requests, shared.measured.load(ordering: .relaxed) >= requests { break }
                        var scheduled = clock.now
                        if let interval, let planned = next {
                            if planned > scheduled { try await Task.sleep(until: planned, clock: clock) }
                            scheduled = planned
                            next = planned + interval * concurrency
                        }
                        if requests == nil && scheduled >= stopAt { break }
                        let sequence = shared.sequence.add(1, ordering: .relaxed).oldValue
                        let outcome = await call(sequence)
                        let (method, failure) = (outcome.method, outcome.failure)
                        let end = clock.now
                        guard scheduled >= measureFrom else { continue }
                        if requests != nil { shared.measured.add(1, ordering: .relaxed) }
                        let micros = UInt64(max(0, (end - scheduled) / .microseconds(1)))
                        stats[method, default: MethodStats()].count += 1
                        _ = stats[method]!.latency.record(micros)
                        if let failure { stats[method]!.errors[failure, default: 0] += 1 }
                        if recordSamples {
                            let startMillis = UInt32(max(0, min(Double(UInt32.max), (scheduled - measureFrom) / .milliseconds(1))))
                            samples.append(Sample(startMillis: startMillis, micros: UInt32(clamping: micros), failed: failure != nil))
                        }
                        if self.progress {
                            shared.live.withLock { live in
                                live.count += 1
                                _ = live.latency.record(micros)
                                if let failure { live.errors[failure, default: 0] += 1 }
                            }
                        }
                    }
                    return (stats, samples)
                }
            }
            var merged: [String: MethodStats] = [:]
            var samples: [Sample] = []
            for try await (stats, workerSamples) in group {
                for (method, value) in stats { merged[method, default: MethodStats()].merge(value) }
                samples += workerSamples
            }
            samples.sort { $0.startMillis < $1.startMillis }
            return (merged, samples)
        }
        progressTask?.cancel()
        if self.progress { FileHandle.standardError.write(Data("\n".utf8)) }
        let elapsed = clock.now - measureFrom
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return LoadResult(methods: perWorker.0, seconds: requests == nil ? min(seconds, self.duration) : seconds, samples: perWorker.1)
    }
}

/// State the callers share.
final class SharedCounters: Sendable {
    let sequence = Atomic<Int>(0)
    let measured = Atomic<Int>(0)
    /// Since the last progress line.
    let live = Mutex(MethodStats())
}
