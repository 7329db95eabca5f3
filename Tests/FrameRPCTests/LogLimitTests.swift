import FrameRPC
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import FrameRPCServer

/// Log lines kept in memory.
final class CapturedLog: Sendable {
    private let lines = NIOLockedValueBox<[(message: String, metadata: Logger.Metadata)]>([])
    var entries: [(message: String, metadata: Logger.Metadata)] { self.lines.withLockedValue { $0 } }
    func append(_ message: String, _ metadata: Logger.Metadata) {
        self.lines.withLockedValue { $0.append((message, metadata)) }
    }

    var logger: Logger {
        Logger(label: "captured") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            self.log.append(event.message.description, self.metadata.merging(event.metadata ?? [:]) { $1 })
        }
    }
}

@Suite("Protocol errors in the log")
struct LogLimitTests {
    @Test("a flood of 100 connections that send garbage writes 10 lines a window, not 100")
    func flood() async throws {
        let log = CapturedLog()
        let server = try await RPCServer.start(
            router: RPCRouter(services: [TestService(probe: Probe())]),
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            logger: log.logger
        )
        for _ in 0..<100 {
            let peer = try await RawPeer.connect(port: server.port)
            try? await peer.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(await peer.waitUntil { $0.isClosed })
        }
        let lines = log.entries.filter { $0.message.contains("protocol error") }
        #expect((1...20).contains(lines.count), "\(lines.count) lines for 100 bad connections (10 a window of 10 s)")
        try await server.shutdownGracefully()
    }

    @Test("10 lines a window; the rest are counted, and the first line of the next window says how many")
    func limiter() {
        let start = NIODeadline.now()
        let limiter = LogLimiter(perWindow: 10, window: .seconds(10))
        let first = (0..<25).map { limiter.admit(now: start + .milliseconds(Int64($0))) }
        #expect(first.prefix(10).allSatisfy { $0 == 0 } && first.dropFirst(10).allSatisfy { $0 == nil })
        #expect(limiter.admit(now: start + .seconds(11)) == 15, "the 15 left out are reported with the next line")
        #expect(limiter.admit(now: start + .seconds(11)) == 0)
    }
}
