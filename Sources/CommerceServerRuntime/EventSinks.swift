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
