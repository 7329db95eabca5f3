import AsyncHTTPClient
import CommerceDomain
import CommerceUseCases
import Dispatch
import Foundation
import FrameRPC
import FrameRPCServer
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Tracing

/// Delivers the outbox to the data platform, in order, at least once, surviving restarts (the
/// state is in the database) and outages (each failed event is retried with exponential backoff,
/// 100 ms doubling up to 30 s). Orders never wait for it: they only write the outbox row.
/// Several instances may run a relay on one database: a lease lets one of them deliver at a time,
/// and another takes over when it stops renewing (after `leaseMillis`, `--relay-lease-ms`).
final class DataPlatformRelay: Service, Sendable {
    /// This relay's name in the lease.
    let owner = "relay-\(UUID().uuidString.lowercased())"
    private let store: any OutboxStore
    private let sink: any EventSink
    private let clock: @Sendable () -> UnixMillis
    private let logger: Logger
    private let pollInterval: Duration
    private let leaseMillis: Int64
    private let queue = DispatchQueue(label: "commerce.outbox-relay")
    /// Events this relay delivered (each time, if delivered twice).
    private let delivered = Counter(label: "outbox_events_delivered_total")
    /// Passes that stopped at a failed delivery (it is retried with backoff).
    private let failures = Counter(label: "outbox_delivery_failures_total")
    private let passFailureLines = LogLimiter()
    private let deliveryFailureLines = LogLimiter()
    /// After a failed delivery the relay waits 100 ms, doubling per attempt up to 30 s.
    static let retryBackoff = Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(30))
    /// How long the last event this relay delivered waited after its commit: how far the data
    /// platform is behind, as of the last delivery.
    private let lag = Gauge(label: "outbox_delivery_lag_seconds")
    /// How long the oldest event not yet delivered has waited since its commit (0: none waits),
    /// read from the database about once a second by every instance, lease or not: it keeps
    /// growing while the platform is down, where the lag above stands still.
    private let oldestAge = Gauge(label: "outbox_oldest_undelivered_age_seconds")
    /// Delivered events deleted once past the retention.
    private let pruned = Counter(label: "outbox_events_pruned_total")
    /// How long a delivered event is kept; nil: for ever.
    private let retentionMillis: Int64?
    /// How often the relay prunes, and how many events one prune transaction deletes at most.
    static let pruneInterval: Duration = .seconds(60)
    static let pruneBatch = 10_000

    init(
        store: any OutboxStore,
        sink: any EventSink,
        clock: @escaping @Sendable () -> UnixMillis,
        logger: Logger,
        pollInterval: Duration,
        leaseMillis: Int64 = 60_000,
        retentionMillis: Int64? = nil
    ) {
        self.retentionMillis = retentionMillis
        self.leaseMillis = leaseMillis
        self.store = store
        self.sink = sink
        self.clock = clock
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// Relays until a graceful shutdown (or cancellation): a pass under way finishes, a wait does
    /// not. Then hands the lease back, so that another instance (or this one, restarted) relays
    /// at once rather than after the lease runs out, and closes the sink.
    func run() async {
        let (store, owner) = (self.store, self.owner)
        var agedAt = ContinuousClock.now - .seconds(1)
        var prunedAt = ContinuousClock.now - Self.pruneInterval
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if let retention = self.retentionMillis, ContinuousClock.now - prunedAt >= Self.pruneInterval {
                prunedAt = ContinuousClock.now
                await self.prune(retention: retention)
            }
            if ContinuousClock.now - agedAt >= .seconds(1) {
                agedAt = ContinuousClock.now
                if let oldest = try? await store.oldestUndeliveredEventTime() {
                    self.oldestAge.record(Double(max(0, self.clock() - oldest)) / 1_000)
                } else {
                    self.oldestAge.record(0)
                }
            }
            do {
                let delivered = try await self.relayOnce()
                if delivered == 0 { try await self.pause() }
            } catch is CancellationError {
                break
            } catch {
                // A pass fails on every poll while the database cannot be written (a full disk): a
                // few lines per window, with the count left out, instead of one per poll.
                if let suppressed = self.passFailureLines.admit() {
                    self.logger.warning(
                        "outbox relay pass failed",
                        metadata: ["error": "\(error)", "suppressed": "\(suppressed)"]
                    )
                }
                try? await self.pause()
            }
        }
        // Stopped by a graceful shutdown, the relay stops after the listener has drained: one last
        // pass takes what the drained calls committed, so a clean stop leaves nothing for the next start.
        if Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await self.relayOnce()
            } catch {
                self.logger.warning(
                    "outbox relay: the last pass failed; the next start delivers",
                    metadata: ["error": "\(error)"]
                )
            }
        }
        self.logger.debug("outbox relay: handing the lease back")
        _ = try? await self.onQueue { store.releaseRelayLease(owner: owner) }
        await self.sink.close()
        self.logger.debug("outbox relay stopped")
    }

    /// Deletes the delivered events older than the retention, a batch per transaction (so the
    /// commit thread is never held long), at most ten batches a minute; any instance may do it.
    func prune(retention: Int64) async {
        let (store, cutoff) = (self.store, self.clock() - retention)
        for _ in 0..<10 {
            do {
                let deleted = try await self.onQueue {
                    store.pruneDeliveredEvents(before: cutoff, limit: Self.pruneBatch)
                }
                self.pruned.increment(by: deleted)
                if deleted < Self.pruneBatch { return }
            } catch {
                if let suppressed = self.passFailureLines.admit() {
                    self.logger.warning(
                        "outbox prune failed",
                        metadata: ["error": "\(error)", "suppressed": "\(suppressed)"]
                    )
                }
                return
            }
        }
    }

    /// The poll interval, cut short by a graceful shutdown.
    private func pause() async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pollInterval) }
    }

    /// Claims a batch (up to the sink's ``EventSink/passLimit``) and delivers it in order; stops at
    /// the first failure (retried later, with the events after it waiting behind it).
    /// - Returns: how many events were delivered.
    func relayOnce() async throws -> Int {
        let batch = self.sink.passLimit
        let (store, clock, owner, leaseMillis) = (self.store, self.clock, self.owner, self.leaseMillis)
        guard
            let lease = try await self.onQueue({
                store.takeRelayLease(owner: owner, leaseMillis: leaseMillis, now: clock())
            })
        else {
            return 0
        }
        // Read outside the commit path; the lease keeps other relays off these events meanwhile.
        var events = try await store.events(for: lease, limit: batch)
        if !events.isEmpty { events[0].attempts = lease.headAttempts + 1 }
        let (count, failure) = await self.sink.deliver(inOrder: events)
        if count > 0 {
            let delivered = events[..<count].map(\.sequence)
            try await self.onQueue { store.markDelivered(delivered, owner: owner) }
            self.delivered.increment(by: count)
            self.lag.record(Double(max(0, clock() - events[count - 1].createdAt)) / 1_000)
        }
        if let failure, count < events.count, !(failure is CancellationError) {
            self.failures.increment()
            let event = events[count]
            let backoffMillis = Int64(Self.retryBackoff.delay(attempt: event.attempts - 1) / .milliseconds(1))
            let message = "\(failure)"
            if let suppressed = self.deliveryFailureLines.admit() {
                self.logger.warning(
                    "data platform delivery failed; will retry",
                    metadata: [
                        "event_id": "\(event.eventID)", "attempt": "\(event.attempts)",
                        "retry_in_ms": "\(backoffMillis)", "error": "\(message)",
                        "suppressed": "\(suppressed)",
                    ]
                )
            }
            try await self.onQueue {
                store.markFailed(
                    event.sequence,
                    attempts: event.attempts,
                    error: message,
                    retryAt: clock() + backoffMillis,
                    owner: owner
                )
            }
        }
        return count
    }

    /// Submits a store write from the relay's queue and waits until it is durable.
    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () -> PendingWrite<T>) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            self.queue.async { body().whenComplete { continuation.resume(with: $0) } }
        }
    }
}
