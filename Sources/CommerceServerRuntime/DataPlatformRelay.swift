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

/// Where events go.
public enum DataPlatformTarget: Sendable, Hashable {
    /// The events file a database gets by default: named after it, beside it
    /// (`shop/commerce.sqlite` → `shop/commerce.events.jsonl`), so two databases in one folder never share one.
    public static func defaultEventsFile(forDatabase path: String) -> String {
        let database = URL(fileURLWithPath: path)
        return database.deletingPathExtension().path + ".events.jsonl"
    }

    /// POST events to this URL; a 2xx answer delivers what the request held. With `eventsPerPost`
    /// 1, each event is one JSON object (`application/json`, `x-event-id` header). With more, a
    /// request holds up to that many, one JSON object per line in commit order
    /// (`application/x-ndjson`, `x-event-count` header): one round trip per batch instead of per
    /// event, for a platform far away or a high order rate. 1...1,000 (values outside are clamped).
    case http(url: String, eventsPerPost: Int = 1)
    /// Append each event as one JSON line to this file.
    case file(path: String)

    /// The most events one HTTP request may hold.
    public static let maximumEventsPerPost = 1_000
}

protocol EventSink: Sendable {
    /// The most events one relay pass takes. Each pass also renews the lease and records what was
    /// delivered (two small writes), so a sink that delivers a batch at once wants large passes.
    var passLimit: Int { get }
    func deliver(_ event: PendingEvent) async throws
    /// Delivers `events` in order, stopping at the first failure.
    /// - Returns: how many were delivered, and the failure that stopped it, if any.
    func deliver(inOrder events: [PendingEvent]) async -> (delivered: Int, failure: (any Error)?)
    /// Lets go of what the sink holds (connections); called once, after the relay stopped.
    func close() async
}

extension EventSink {
    /// One event at a time: a pass of 100 is recorded as delivered every 100 events.
    var passLimit: Int { 100 }
    func close() async {}

    func deliver(inOrder events: [PendingEvent]) async -> (delivered: Int, failure: (any Error)?) {
        for (index, event) in events.enumerated() {
            do { try await self.deliver(event) } catch { return (index, error) }
        }
        return (events.count, nil)
    }
}

struct DeliveryError: Error, CustomStringConvertible {
    var description: String
}

/// POSTs events with async-http-client: one per request, or up to `eventsPerPost` as JSON lines.
///
/// Its own client, so that a platform that is down fails an attempt at once: async-http-client
/// otherwise retries a refused connection until the request's deadline (5 s an attempt, against a
/// backoff that starts at 100 ms). A connection must be made within `connectTimeout`.
final class HTTPEventSink: EventSink {
    let url: String
    let timeout: TimeAmount
    let eventsPerPost: Int
    private let client: HTTPClient
    private let tracer: (any Tracer)?

    init(
        url: String,
        timeout: TimeAmount,
        eventsPerPost: Int = 1,
        connectTimeout: TimeAmount = .seconds(1),
        tracer: (any Tracer)? = nil
    ) {
        self.tracer = tracer
        self.url = url
        self.timeout = timeout
        self.eventsPerPost = eventsPerPost
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = connectTimeout
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func close() async {
        try? await self.client.shutdown()
    }

    /// 100 events a pass, one request each; with batches, ten requests a pass, up to 1,000 events.
    var passLimit: Int { Self.passLimit(eventsPerPost: self.eventsPerPost) }
    static func passLimit(eventsPerPost: Int) -> Int { max(100, min(1_000, eventsPerPost * 10)) }

    func deliver(_ event: PendingEvent) async throws {
        try await self.post([event])
    }

    func deliver(inOrder events: [PendingEvent]) async -> (delivered: Int, failure: (any Error)?) {
        var delivered = 0
        while delivered < events.count {
            let batch = events[delivered..<min(events.count, delivered + max(1, self.eventsPerPost))]
            do { try await self.post(batch) } catch { return (delivered, error) }
            delivered += batch.count
        }
        return (delivered, nil)
    }

    private func post(_ events: some Collection<PendingEvent>) async throws {
        guard let tracer = self.tracer else { return try await self.send(events, span: nil) }
        // One event: its delivery is a span of the order's trace. Several in one POST: a span of
        // its own, linked to each event's trace.
        var parent = ServiceContext.topLevel
        if events.count == 1, let traceParent = events.first?.traceParent {
            tracer.extract(["traceparent": traceParent], into: &parent, using: DictionaryCarrier())
        }
        let span = tracer.startSpan(
            events.count == 1 ? "deliver event" : "deliver events",
            context: parent,
            ofKind: .producer
        )
        span.attributes["http.request.method"] = "POST"
        span.attributes["url.full"] = self.url
        span.attributes["commerce.events"] = events.count
        if events.count > 1 {
            for case let traceParent? in events.map(\.traceParent) {
                var linked = ServiceContext.topLevel
                tracer.extract(["traceparent": traceParent], into: &linked, using: DictionaryCarrier())
                span.addLink(SpanLink(context: linked, attributes: [:]))
            }
        }
        defer { span.end() }
        do {
            try await self.send(events, span: span)
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// The POST itself; its `traceparent` header names `span`, if traced.
    private func send(_ events: some Collection<PendingEvent>, span: (any Span)?) async throws {
        var request = HTTPClientRequest(url: self.url)
        request.method = .POST
        if let span, let tracer = self.tracer {
            var headers: [String: String] = [:]
            tracer.inject(span.context, into: &headers, using: DictionaryCarrier())
            for (name, value) in headers { request.headers.add(name: name, value: value) }
        }
        if self.eventsPerPost == 1, let event = events.first {
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "x-event-id", value: event.eventID)
            request.body = .bytes(ByteBuffer(string: event.delivered))
        } else {
            request.headers.add(name: "content-type", value: "application/x-ndjson")
            request.headers.add(name: "x-event-count", value: "\(events.count)")
            request.body = .bytes(ByteBuffer(string: events.map { $0.delivered + "\n" }.joined()))
        }
        let response = try await self.client.execute(request, timeout: self.timeout)
        span?.attributes["http.response.status_code"] = Int(response.status.code)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw DeliveryError(description: "HTTP \(response.status.code) from \(self.url)")
        }
    }
}

/// Appends events as JSON lines and syncs the file before they count as delivered.
final class FileEventSink: EventSink {
    private let handle: NIOLockedValueBox<FileHandle>

    /// A pass is one write and one fsync, whatever its size. With passes of 100, at 10,000 orders/s
    /// the relay synced the file 100 times a second beside the database's own commits on the same
    /// disk; with passes of 1,000, durable PlaceOrder at 64 callers was faster in 9 of 12
    /// alternating pairs (median +8 %).
    let passLimit = 1_000

    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        self.handle = NIOLockedValueBox(handle)
    }

    func deliver(_ event: PendingEvent) async throws {
        let (_, failure) = await self.deliver(inOrder: [event])
        if let failure { throw failure }
    }

    /// The whole batch, then one fsync: a file sink costs one sync per relay pass, not per event
    /// (per-event syncs competed with the database's own commits for the disk).
    func deliver(inOrder events: [PendingEvent]) async -> (delivered: Int, failure: (any Error)?) {
        let lines = Data(events.map { $0.delivered + "\n" }.joined().utf8)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    try self.handle.withLockedValue { handle in
                        try handle.write(contentsOf: lines)
                        try handle.synchronize()
                    }
                    continuation.resume(returning: (events.count, nil))
                } catch {
                    continuation.resume(returning: (0, error))
                }
            }
        }
    }
}

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
