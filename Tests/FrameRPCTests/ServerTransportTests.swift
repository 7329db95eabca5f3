import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite("FrameRPC over a real socket", .timeLimit(.minutes(2)))
struct ServerTransportTests {
    @Test("many calls in flight on one connection are answered out of order, each matched to its caller")
    func multiplexedOutOfOrder() async throws {
        try await withTestServer { server, _ in
            let client = client(server)
            // Longer sleeps are sent first (25 ms apart), so answers arrive in reverse order.
            let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let millis = (40 - index) * 25
                        let reply = try await client.call(
                            "/test.v1.Test/Sleep",
                            request: Array("\(millis):t\(index)".utf8)
                        )
                        return (index, String(decoding: reply, as: UTF8.self))
                    }
                }
                var results: [(Int, String)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == 40)
            for (index, reply) in results { #expect(reply == "t\(index)") }
            // The earliest-finishing call was one of the ten sent last (sleeping 250 ms or less, against 1 s for the first).
            #expect(results.first?.0 ?? 0 >= 30)
            await client.close()
        }
    }

    @Test("a call's request id is the client's request-id entry, or one the server makes up per connection and stream")
    func requestIDs() async throws {
        try await withTestServer { server, _ in
            let client = client(server)
            let given = try await client.call(
                "/test.v1.Test/RequestID",
                request: [],
                options: CallOptions(metadata: ["Request-ID": "order-42", "trace-tag": "blue"])
            )
            #expect(String(decoding: given, as: UTF8.self) == "order-42|blue")

            var madeUp: [String] = []
            for _ in 0..<3 {
                let reply = String(
                    decoding: try await client.call("/test.v1.Test/RequestID", request: []),
                    as: UTF8.self
                )
                madeUp.append(String(reply.split(separator: "|", omittingEmptySubsequences: false)[0]))
            }
            // "<connection tag>-<stream id>": one tag for the connection, the stream ids of calls 2, 3, 4.
            let parts = madeUp.map { $0.split(separator: "-").map(String.init) }
            #expect(parts.allSatisfy { $0.count == 2 && UInt32($0[0], radix: 16) != nil })
            #expect(Set(parts.map { $0[0] }).count == 1)
            #expect(parts.map { $0[1] } == ["2", "3", "4"])
            await client.close()
        }
    }

    @Test(
        "errors reach the client with code, reason, message and details; unknown errors become INTERNAL without internals"
    )
    func errors() async throws {
        try await withTestServer { server, _ in
            let client = client(server)
            let failed = await #expect(throws: RPCError.self) {
                try await client.call("/test.v1.Test/Fail", request: [])
            }
            #expect(
                failed
                    == RPCError(
                        code: .failedPrecondition,
                        reason: "TEST_REASON",
                        message: "as asked",
                        details: ["k": "v"]
                    )
            )
            let crashed = await #expect(throws: RPCError.self) {
                try await client.call("/test.v1.Test/Crash", request: [])
            }
            #expect(crashed?.code == .internal && crashed?.reason == WireReason.internalError)
            #expect(crashed?.message.contains("hunter2") == false)
            let unknown = await #expect(throws: RPCError.self) {
                try await client.call("/test.v1.Test/Nope", request: [])
            }
            #expect(unknown?.code == .unimplemented && unknown?.reason == WireReason.methodNotFound)
            // The connection is still fine after errors.
            let echoed = try await client.call("/test.v1.Test/Echo", request: [1, 2, 3])
            #expect(echoed == [1, 2, 3])
            await client.close()
        }
    }

    @Test(
        "a read's task runs on the connection's event loop, a write's on the global executor (the loop stays free to read under a write flood)"
    )
    func writesRunOffTheLoop() async throws {
        try await withTestServer { server, _ in
            let client = client(server)
            for _ in 0..<3 {
                let read = try await client.call("/test.v1.Test/Where", request: [])
                let write = try await client.call("/test.v1.Test/WhereWrite", request: [])
                #expect(read == Array("loop".utf8) && write == Array("pool".utf8))
            }
            await client.close()
        }
    }

    @Test(
        "a burst far above one read's share — 2,000 calls in one write on one connection — is read over several turns, and every call is answered"
    )
    func burstReadOverTurns() async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            var burst = Preface().bytes
            for stream in 1...2_000 {
                burst += try RawPeer.requestFrame(
                    streamID: UInt32(stream),
                    method: "/test.v1.Test/Echo",
                    payload: [UInt8](repeating: 5, count: 100)
                )
            }
            try await peer.send(burst)
            #expect(try await peer.waitUntil { try $0.responses().count == 2_000 })
            let responses = try peer.responses()
            #expect(Set(responses.keys) == Set((1...2_000).map(UInt32.init)))
            #expect(
                responses.values.allSatisfy {
                    $0.status.code == 0 && Array($0.payload) == [UInt8](repeating: 5, count: 100)
                }
            )
            await peer.close()
        }
    }

    @Test("the server enforces the deadline: DEADLINE_EXCEEDED, and the handler's work is cancelled")
    func deadline() async throws {
        try await withTestServer { server, probe in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            try await peer.sendRequest(
                streamID: 1,
                method: "/test.v1.Test/Sleep",
                payload: Array("60000:slow".utf8),
                timeoutMicros: 100_000
            )
            let start = ContinuousClock.now
            #expect(try await peer.waitUntil { try $0.responses()[1] != nil })
            #expect(ContinuousClock.now - start < .seconds(30), "answered by the deadline, not by the 60 s sleep")
            let status = try #require(try peer.responses()[1]).status
            #expect(status.code == StatusCode.deadlineExceeded.rawValue && status.reason == WireReason.deadlineExceeded)
            #expect(await Self.eventually { probe.snapshot.cancelled.contains("slow") })
            #expect(!probe.snapshot.finished.contains("slow"))
            await peer.close()
        }
    }

    @Test("a client-side deadline fails the call locally and cancels it on the server")
    func clientDeadline() async throws {
        try await withTestServer { server, probe in
            let client = client(server)
            let error = await #expect(throws: RPCError.self) {
                try await client.call(
                    "/test.v1.Test/Sleep",
                    request: Array("60000:c".utf8),
                    options: CallOptions(timeout: .milliseconds(100))
                )
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(await Self.eventually { probe.snapshot.cancelled.contains("c") })
            await client.close()
        }
    }

    @Test("one connection, deadlines in any order: each call expires at its own, later ones keep running")
    func deadlinesInAnyOrder() async throws {
        try await withTestServer { server, probe in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            // The connection's one deadline timer is set for the long call first, and must move
            // earlier for each shorter one that arrives after it.
            try await peer.sendRequest(
                streamID: 1,
                method: "/test.v1.Test/Sleep",
                payload: Array("60000:long".utf8),
                timeoutMicros: 120_000_000
            )
            try await peer.sendRequest(
                streamID: 3,
                method: "/test.v1.Test/Sleep",
                payload: Array("60000:mid".utf8),
                timeoutMicros: 5_000_000
            )
            try await peer.sendRequest(
                streamID: 5,
                method: "/test.v1.Test/Sleep",
                payload: Array("60000:short".utf8),
                timeoutMicros: 150_000
            )
            let start = ContinuousClock.now
            #expect(try await peer.waitUntil { try $0.responses()[5] != nil })
            let shortAnswered = ContinuousClock.now - start
            #expect(
                try peer.responses()[3] == nil || shortAnswered > .seconds(4),
                "the 5 s call did not expire with the 150 ms one"
            )
            #expect(try await peer.waitUntil { try $0.responses()[3] != nil })
            #expect(
                ContinuousClock.now - start < .seconds(30) && shortAnswered < .seconds(5),
                "each by its own deadline, not by the 60 s sleep"
            )
            for streamID: UInt32 in [3, 5] {
                let status = try #require(try peer.responses()[streamID]).status
                #expect(
                    status.code == StatusCode.deadlineExceeded.rawValue && status.reason == WireReason.deadlineExceeded
                )
            }
            #expect(
                await Self.eventually {
                    probe.snapshot.cancelled.contains("mid") && probe.snapshot.cancelled.contains("short")
                }
            )
            // The long call is still running and unanswered; the connection serves new calls.
            #expect(try peer.responses()[1] == nil && !probe.snapshot.cancelled.contains("long"))
            try await peer.sendRequest(streamID: 7, method: "/test.v1.Test/Echo", payload: [9])
            #expect(try await peer.waitUntil { try $0.responses()[7] != nil })
            await peer.close()
        }
    }

    @Test("client side, one connection: a short deadline fails on time while a longer call stays pending")
    func clientDeadlinesInAnyOrder() async throws {
        try await withTestServer { server, probe in
            let client = client(server)
            let long = Task {
                try await client.call(
                    "/test.v1.Test/Sleep",
                    request: Array("60000:c-long".utf8),
                    options: CallOptions(timeout: .seconds(120))
                )
            }
            #expect(await Self.eventually { probe.snapshot.started.contains("c-long") })
            let start = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                try await client.call(
                    "/test.v1.Test/Sleep",
                    request: Array("60000:c-short".utf8),
                    options: CallOptions(timeout: .milliseconds(150))
                )
            }
            #expect(error?.code == .deadlineExceeded && ContinuousClock.now - start < .seconds(30))
            #expect(await Self.eventually { probe.snapshot.cancelled.contains("c-short") })
            #expect(!probe.snapshot.cancelled.contains("c-long"))
            long.cancel()
            #expect(await Self.eventually { probe.snapshot.cancelled.contains("c-long") })
            await client.close()
        }
    }

    @Test("a CANCEL frame stops work nobody waits for; the call gets no answer")
    func cancelFrame() async throws {
        try await withTestServer { server, probe in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            try await peer.sendRequest(streamID: 5, method: "/test.v1.Test/Sleep", payload: Array("60000:doomed".utf8))
            #expect(await Self.eventually { probe.snapshot.started.contains("doomed") })
            try await peer.sendFrame(streamID: 5, type: .cancel, payload: [])
            #expect(await Self.eventually { probe.snapshot.cancelled.contains("doomed") })
            // Other calls on the connection still work, and the cancelled one was never answered.
            try await peer.sendRequest(streamID: 7, method: "/test.v1.Test/Echo", payload: [9])
            #expect(try await peer.waitUntil { try $0.responses()[7] != nil })
            #expect(try peer.responses()[5] == nil)
            await peer.close()
        }
    }

    @Test("Swift task cancellation of a client call sends CANCEL")
    func taskCancellation() async throws {
        try await withTestServer { server, probe in
            let client = client(server)
            let task = Task { try await client.call("/test.v1.Test/Sleep", request: Array("60000:task".utf8)) }
            #expect(await Self.eventually { probe.snapshot.started.contains("task") })
            task.cancel()
            let error = await #expect(throws: RPCError.self) { try await task.value }
            #expect(error?.code == .cancelled)
            #expect(await Self.eventually { probe.snapshot.cancelled.contains("task") })
            await client.close()
        }
    }

    @Test("an oversize REQUEST is answered RESOURCE_EXHAUSTED/FRAME_TOO_LARGE and the connection keeps working")
    func oversizeRequest() async throws {
        try await withTestServer({ $0.maxFrameSize = 1024 }) { server, _ in
            let client = client(server)
            let error = await #expect(throws: RPCError.self) {
                try await client.call("/test.v1.Test/Echo", request: Array(repeating: 1, count: 4096))
            }
            #expect(error?.code == .resourceExhausted && error?.reason == WireReason.frameTooLarge)
            let echoed = try await client.call("/test.v1.Test/Echo", request: [42])
            #expect(echoed == [42])
            await client.close()
        }
    }

    @Test("a peer that is not speaking FrameRPC gets a plain-text refusal and is closed; other clients are unaffected")
    func garbagePeer() async throws {
        try await withTestServer { server, _ in
            let client = client(server)
            #expect(try await client.call("/test.v1.Test/Echo", request: [1]) == [1])
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(await peer.waitUntil { $0.isClosed })
            let text = String(decoding: peer.bytes.dropFirst(Preface.size), as: UTF8.self)
            #expect(text.contains("BAD_PREFACE"))
            #expect(try await client.call("/test.v1.Test/Echo", request: [2]) == [2])
            await client.close()
        }
    }

    @Test("garbage after the preface (unknown frame type) gets GOAWAY with the reason, then a clean close")
    func garbageFrames() async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes + [0, 0, 0, 1, 0, 0, 0, 1, 0xEE, 0, 0xFF])
            #expect(await peer.waitUntil { $0.isClosed })
            let goAway = try #require(try peer.goAway())
            #expect(goAway.status.reason == WireReason.unknownFrameType)
        }
    }

    @Test("a malformed envelope and a REQUEST on stream 0 are refused with reasons")
    func malformed() async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            try await peer.sendFrame(streamID: 3, type: .request, payload: [0xFF, 0xFF, 0xFF])
            #expect(try await peer.waitUntil { try $0.responses()[3] != nil })
            #expect(try peer.responses()[3]?.status.reason == WireReason.malformedEnvelope)
            try await peer.sendRequest(streamID: 0, method: "/test.v1.Test/Echo")
            #expect(await peer.waitUntil { $0.isClosed })
            #expect(try peer.goAway()?.status.reason == WireReason.invalidStreamID)
        }
    }

    @Test("a peer that stalls mid-frame does not hold up anyone else")
    func stalledPeer() async throws {
        try await withTestServer { server, _ in
            let staller = try await RawPeer.connect(port: server.port)
            // 100-byte frame, 2 bytes sent
            try await staller.send(Preface().bytes + [0, 0, 0, 100, 0, 0, 0, 1, 1, 0, 1, 2])
            let client = client(server, connections: 4)
            let replies = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for index in 0..<100 {
                    group.addTask { try await client.call("/test.v1.Test/Echo", request: [UInt8(index)]) }
                }
                return try await group.reduce(into: 0) { count, _ in count += 1 }
            }
            #expect(replies == 100)
            #expect(!staller.isClosed)
            await staller.close()
            await client.close()
        }
    }

    @Test("PING is answered with PONG carrying the same bytes")
    func ping() async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            try await peer.sendFrame(streamID: 0, type: .ping, payload: [1, 2, 3, 4, 5, 6, 7, 8])
            #expect(
                try await peer.waitUntil { peer in
                    try peer.events().contains {
                        if case .frame(let frame) = $0 {
                            return frame.type == .pong
                                && Array(frame.payload.readableBytesView) == [1, 2, 3, 4, 5, 6, 7, 8]
                        }
                        return false
                    }
                }
            )
            await peer.close()
        }
    }

    @Test("an unsupported protocol version is refused with UNSUPPORTED_VERSION")
    func unsupportedVersion() async throws {
        try await withTestServer { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface(version: 9).bytes)
            #expect(await peer.waitUntil { $0.isClosed })
            #expect(try peer.goAway()?.status.reason == WireReason.unsupportedVersion)
        }
    }

    @Test("calls beyond the per-connection limit get TOO_MANY_CONCURRENT_CALLS; the others complete")
    func concurrentCallLimit() async throws {
        try await withTestServer({ $0.maxConcurrentCallsPerConnection = 4 }) { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            // All six in one write: they arrive together, so none of the first four can have
            // finished before the last two arrive, however slow the machine.
            try await peer.send(
                (UInt32(1)...6).flatMap { stream in
                    try RawPeer.requestFrame(
                        streamID: stream,
                        method: "/test.v1.Test/Sleep",
                        payload: Array("300:s\(stream)".utf8)
                    )
                }
            )
            #expect(try await peer.waitUntil { try $0.responses().count == 6 })
            let responses = try peer.responses()
            let refused = responses.values.filter { $0.status.reason == WireReason.tooManyConcurrentCalls }
            #expect(refused.count == 2)
            #expect(responses.values.filter { $0.status.code == 0 }.count == 4)
            await peer.close()
        }
    }

    @Test("Health/Check is answered on arrival, ahead of the calls queued on its connection and beyond its call limit")
    func healthAnsweredOnArrival() async throws {
        try await withTestServer({ $0.maxConcurrentCallsPerConnection = 4 }) { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            // Four calls fill the connection's limit; the check arrives in the same write, behind them.
            try await peer.send(
                try (UInt32(1)...4).flatMap { stream in
                    try RawPeer.requestFrame(
                        streamID: stream,
                        method: "/test.v1.Test/Sleep",
                        payload: Array("2000:s\(stream)".utf8)
                    )
                } + RawPeer.requestFrame(streamID: 5, method: "/framerpc.v1.Health/Check")
            )
            #expect(try await peer.waitUntil { try $0.responses()[5] != nil })
            let responses = try peer.responses()
            #expect(responses[5]?.status.code == 0, "\(String(describing: responses[5]?.status))")
            #expect(
                try Framerpc_V1_HealthCheckResponse(serializedBytes: responses[5]?.payload ?? Data()).status == .serving
            )
            #expect(responses.count == 1, "the check was answered before the calls ahead of it")
            #expect(try await peer.waitUntil { try $0.responses().count == 5 })
            await peer.close()
        }
    }

    @Test("connections beyond the limit get GOAWAY TOO_MANY_CONNECTIONS")
    func connectionLimit() async throws {
        try await withTestServer({ $0.maxConnections = 2 }) { server, _ in
            let first = try await RawPeer.connect(port: server.port)
            let second = try await RawPeer.connect(port: server.port)
            try await first.send(Preface().bytes)
            try await second.send(Preface().bytes)
            #expect(await Self.eventually { server.openConnections == 2 })
            let client = client(server)
            let error = await #expect(throws: RPCError.self) {
                try await client.call("/test.v1.Test/Echo", request: [1])
            }
            #expect(error?.reason == WireReason.tooManyConnections)
            await first.close()
            await second.close()
            await client.close()
        }
    }

    @Test("an idle connection gets GOAWAY IDLE_TIMEOUT and is closed")
    func idleTimeout() async throws {
        try await withTestServer({ $0.idleTimeout = .milliseconds(200) }) { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            // On a loaded machine the timeout may already have closed the connection: then the
            // preface finds it closed, and the GOAWAY below is what this test is about.
            try? await peer.send(Preface().bytes)
            #expect(await peer.waitUntil { $0.isClosed })
            #expect(try peer.goAway()?.status.reason == WireReason.idleTimeout)
        }
    }

    @Test("graceful drain: GOAWAY, calls in flight finish and are answered, new calls are refused, then close")
    func drain() async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.drainTimeout = .seconds(10)
        let probe = Probe()
        let server = try await RPCServer.start(
            router: RPCRouter(services: [TestService(probe: probe)]),
            configuration: configuration
        )
        let peer = try await RawPeer.connect(port: server.port)
        try await peer.send(Preface().bytes)
        for stream in UInt32(1)...3 {
            try await peer.sendRequest(
                streamID: stream,
                method: "/test.v1.Test/Sleep",
                payload: Array("400:d\(stream)".utf8)
            )
        }
        #expect(await Self.eventually { probe.snapshot.started.count == 3 })
        let shutdown = Task { try await server.shutdownGracefully() }
        #expect(try await peer.waitUntil { try $0.goAway() != nil })
        let goAway = try #require(try peer.goAway())
        #expect(goAway.lastStreamID == 3 && goAway.status.reason == WireReason.draining)
        try await peer.sendRequest(streamID: 9, method: "/test.v1.Test/Echo", payload: [1])
        try await shutdown.value
        #expect(await peer.waitUntil { $0.isClosed })
        let responses = try peer.responses()
        for stream in UInt32(1)...3 { #expect(responses[stream]?.status.code == 0, "call \(stream) finished") }
        // Sent while calls 1–3 still ran, so the connection was open to answer it: refused, not run.
        let late = try #require(responses[9], "a call after GOAWAY gets an answer while the connection drains")
        #expect(late.status.code == StatusCode.unavailable.rawValue && late.status.reason == WireReason.draining)
        #expect(probe.snapshot.finished == ["d1", "d2", "d3"])
        // And the port no longer accepts.
        await #expect(throws: (any Error).self) { try await RawPeer.connect(port: server.port).close() }
    }

    @Test("the client reconnects after a connection is lost and retries calls that were not processed")
    func reconnect() async throws {
        try await withTestServer({ $0.idleTimeout = .milliseconds(600) }) { (server, _) async throws in
            let client = client(server, maxAttempts: 4)
            #expect(try await client.call("/test.v1.Test/Echo", request: [1]) == [1])
            #expect(await Self.eventually { server.openConnections == 0 }, "the server idled the connection out")
            #expect(try await client.call("/test.v1.Test/Echo", request: [2]) == [2])
            await client.close()
        }
    }

    @Test(
        "a call the server provably did not process (above a GOAWAY's last stream id) is retried on a new connection; without retries it fails UNAVAILABLE",
        .timeLimit(.minutes(1)),
        arguments: [4, 1]
    )
    func retriesUnprocessedCall(maxAttempts: Int) async throws {
        try await withTestServer { server, probe in
            // The first connection answers the first REQUEST with GOAWAY(last stream 0) and closes:
            // the call was not processed. Later connections reach the real server.
            let front = try await GoAwayFront.start(backendPort: server.port)
            let client = RPCClient(
                configuration: ClientConfiguration(
                    host: "127.0.0.1",
                    port: front.port,
                    connections: 1,
                    maxAttempts: maxAttempts
                )
            )
            do {
                let reply = try await client.call(
                    "/test.v1.Test/Sleep",
                    request: Array("1:retried".utf8),
                    options: CallOptions(timeout: .seconds(10))
                )
                #expect(maxAttempts > 1, "without retries the refused call cannot succeed")
                #expect(reply == Array("retried".utf8))
                #expect(probe.snapshot.finished == ["retried"], "run once, by the real server")
                #expect(front.refusedRequests == 1 && front.connections == 2)
            } catch let error as RPCError {
                #expect(maxAttempts == 1, "a retry was allowed but the call failed: \(error)")
                #expect(error.code == .unavailable && probe.snapshot.started.isEmpty)
                #expect(front.refusedRequests == 1)
            }
            await client.close()
            try await front.close()
        }
    }

    @Test("an idle client connection sends keepalive PINGs, so the server's idle timeout does not close it")
    func keepalive() async throws {
        try await withTestServer({ $0.idleTimeout = .seconds(1) }) { server, _ in
            let connection = try await RPCConnection.connect(
                configuration: ClientConfiguration(
                    port: server.port,
                    keepaliveInterval: .milliseconds(100)
                )
            )
            #expect(try await connection.call(method: "/test.v1.Test/Echo", request: [1], timeout: .seconds(5)) == [1])
            try await Task.sleep(for: .seconds(3))  // three idle timeouts: ten PINGs fit in each
            #expect(connection.isUsable, "the server did not close the connection")
            #expect(try await connection.call(method: "/test.v1.Test/Echo", request: [2], timeout: .seconds(5)) == [2])
            await connection.close()

            // Without keepalive (an interval longer than the idle timeout) the same wait ends it.
            let quiet = try await RPCConnection.connect(
                configuration: ClientConfiguration(
                    port: server.port,
                    keepaliveInterval: .seconds(60)
                )
            )
            #expect(try await quiet.call(method: "/test.v1.Test/Echo", request: [3], timeout: .seconds(5)) == [3])
            #expect(await Self.eventually { !quiet.isUsable }, "the server closed the idle connection")
            await quiet.close()
        }
    }

    @Test("Health reports SERVING and unknown services; Reflection lists methods")
    func builtins() async throws {
        try await withTestServer { server, _ in
            let client = client(server)
            let health = try Framerpc_V1_HealthCheckResponse(
                serializedBytes: try await client.call(
                    "/framerpc.v1.Health/Check",
                    request: try Framerpc_V1_HealthCheckRequest().serializedBytes()
                )
            )
            #expect(health.status == .serving)
            var unknown = Framerpc_V1_HealthCheckRequest()
            unknown.service = "no.such.Service"
            let unknownHealth = try Framerpc_V1_HealthCheckResponse(
                serializedBytes: try await client.call(
                    "/framerpc.v1.Health/Check",
                    request: try unknown.serializedBytes()
                )
            )
            #expect(unknownHealth.status == .serviceUnknown)
            let listing = try Framerpc_V1_ListMethodsResponse(
                serializedBytes: try await client.call(
                    "/framerpc.v1.Reflection/ListMethods",
                    request: []
                )
            )
            #expect(listing.methods.map(\.name).contains("/test.v1.Test/Echo"))
            #expect(listing.methods.map(\.name).contains("/framerpc.v1.Reflection/ListMethods"))
            await client.close()
        }
    }

    static func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }
}

/// Peers that hold a connection without finishing frames: the timeouts count whole frames.
@Suite("Slow peers", .timeLimit(.minutes(2)))
struct SlowPeerTests {
    /// Sends one byte of `bytes` every `interval` until `stop` says so or they run out.
    static func drip(_ peer: RawPeer, _ bytes: [UInt8], every interval: Duration, while going: () -> Bool) async {
        for byte in bytes where going() {
            do { try await peer.send([byte]) } catch { return }
            try? await Task.sleep(for: interval)
        }
    }

    static func requestFrame() -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeFrame(streamID: 1, type: .request, payload: [UInt8](repeating: 7, count: 64))
        return Array(buffer.readableBytesView)
    }

    /// The start of a frame declaring `length` payload bytes, with `sent` of them.
    static func partialFrame(length: Int, sent: Int) -> [UInt8] {
        var buffer = ByteBuffer()
        // the header's layout
        buffer.writeMultipleIntegers(UInt32(length), UInt32(1), FrameType.request.rawValue, UInt8(0))
        buffer.writeBytes([UInt8](repeating: 7, count: sent))
        return Array(buffer.readableBytesView)
    }

    @Test(
        "past the server-wide budget for unfinished frames, the connection holding the most gets GOAWAY PARTIAL_FRAME_BUDGET; the others and new clients are served"
    )
    func partialFrameBudget() async throws {
        try await withTestServer({
            $0.maxBufferedPartialBytes = 1_000_000
            $0.frameTimeout = .seconds(60)
        }) { server, _ in
            var peers: [RawPeer] = []
            // 600 kB, 300 kB, then 200 kB of three 2 MB frames: the third pushes the total past 1 MB.
            for sent in [600_000, 300_000, 200_000] {
                let peer = try await RawPeer.connect(port: server.port)
                try await peer.send(Preface().bytes)
                try await peer.send(Self.partialFrame(length: 2_000_000, sent: sent))
                peers.append(peer)
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(await peers[0].waitUntil { $0.isClosed })
            let goAway = try #require(try peers[0].goAway())
            #expect(
                goAway.status.code == StatusCode.resourceExhausted.rawValue
                    && goAway.status.reason == WireReason.partialFrameBudget
            )
            #expect(!peers[1].isClosed && !peers[2].isClosed, "only the largest holder was closed")
            // A new client is served.
            let fresh = try await RawPeer.connect(port: server.port)
            try await fresh.send(Preface().bytes)
            try await fresh.sendRequest(streamID: 1, method: "/framerpc.v1.Health/Check")
            #expect(try await fresh.waitUntil { try $0.responses()[1] != nil })
            for peer in peers { await peer.close() }
            await fresh.close()
        }
    }

    @Test(
        "a frame dripped a byte at a time gets GOAWAY FRAME_TIMEOUT and a close, though bytes keep arriving within the idle timeout"
    )
    func dripFedFrame() async throws {
        try await withTestServer({
            $0.frameTimeout = .milliseconds(500)
            $0.idleTimeout = .seconds(60)
        }) { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            try await peer.send(Preface().bytes)
            let started = ContinuousClock.now
            await Self.drip(peer, Self.requestFrame(), every: .milliseconds(50)) { !peer.isClosed }
            // The drip also stops when a send fails on the closed socket, maybe before the reader has
            // seen the close: wait for it.
            #expect(await peer.waitUntil { $0.isClosed } && ContinuousClock.now - started < .seconds(30))
            let goAway = try #require(try peer.goAway())
            #expect(
                goAway.status.code == StatusCode.resourceExhausted.rawValue
                    && goAway.status.reason == WireReason.frameTimeout
            )
        }
    }

    @Test(
        "no preface, or part of one, within the handshake timeout: GOAWAY HANDSHAKE_TIMEOUT and a close",
        arguments: [0, 3]
    )
    func lateHandshake(prefaceBytes: Int) async throws {
        try await withTestServer({
            $0.handshakeTimeout = .milliseconds(800)  // room for a loaded machine between connect and send
            $0.idleTimeout = .seconds(60)
        }) { server, _ in
            let peer = try await RawPeer.connect(port: server.port)
            if prefaceBytes > 0 { try await peer.send(Array(Preface().bytes.prefix(prefaceBytes))) }
            #expect(await peer.waitUntil { $0.isClosed })
            #expect(try peer.goAway()?.status.reason == WireReason.handshakeTimeout)
        }
    }

    @Test("slow peers holding every connection slot are closed, so a new client gets in")
    func slowPeersDoNotLockOut() async throws {
        // The peers start their frames only once all 20 are connected, and the frame timeout (6 s)
        // leaves a loaded machine time to let the newcomer knock before any slot frees up.
        try await withTestServer({
            $0.maxConnections = 20
            $0.frameTimeout = .seconds(6)
            $0.idleTimeout = .seconds(60)
        }) { server, _ in
            let frame = Self.requestFrame()
            var peers: [RawPeer] = []
            for _ in 0..<20 {
                let peer = try await RawPeer.connect(port: server.port)
                try await peer.send(Preface().bytes)
                peers.append(peer)
            }
            #expect(await ServerTransportTests.eventually { server.openConnections == 20 })
            for peer in peers { try await peer.send([frame[0]]) }
            let held = peers
            let dripping = Task {
                await withTaskGroup(of: Void.self) { group in
                    for peer in held {
                        group.addTask {
                            await Self.drip(peer, Array(frame.dropFirst()), every: .milliseconds(200)) {
                                !peer.isClosed
                            }
                        }
                    }
                }
            }
            // Every slot is taken: a newcomer is refused.
            let refused = try await RawPeer.connect(port: server.port)
            #expect(await refused.waitUntil { $0.isClosed })
            #expect(try refused.goAway()?.status.reason == WireReason.tooManyConnections)
            // The drippers are closed by the frame timeout; then a client gets in and is answered.
            #expect(await ServerTransportTests.eventually { held.allSatisfy(\.isClosed) })
            #expect(await ServerTransportTests.eventually { server.openConnections == 0 })
            let client = RPCClient(
                configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 1)
            )
            #expect(try await client.call("/test.v1.Test/Echo", request: [5]) == [5])
            await client.close()
            dripping.cancel()
        }
    }

    @Test(
        "a keepalive PING every 100 ms keeps a connection with no calls open past the idle timeout; bytes of an unfinished frame do not"
    )
    func idleCountsFrames() async throws {
        try await withTestServer({
            // Margins for a loaded machine (the whole suite runs at once on two cores): a PING
            // every 100 ms against an idle timeout of 1.2 s.
            $0.idleTimeout = .milliseconds(1_200)
            $0.frameTimeout = .seconds(60)
        }) { server, _ in
            // Whole PING frames are activity.
            let pinging = try await RawPeer.connect(port: server.port)
            try await pinging.send(Preface().bytes)
            for _ in 0..<30 {
                try await pinging.sendFrame(streamID: 0, type: .ping, payload: [1, 2, 3, 4, 5, 6, 7, 8])
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(!pinging.isClosed, "3 s of PINGs against a 1.2 s idle timeout")
            // A frame dripped slower than the frame timeout allows is not: the idle timeout ends it.
            let dripping = try await RawPeer.connect(port: server.port)
            try await dripping.send(Preface().bytes)
            await Self.drip(dripping, Self.requestFrame(), every: .milliseconds(100)) { !dripping.isClosed }
            // A send can fail on the closed socket a moment before the reader sees the close.
            #expect(await dripping.waitUntil { $0.isClosed })
            #expect(try dripping.goAway()?.status.reason == WireReason.idleTimeout)
            await pinging.close()
        }
    }
}

@Suite("The client against a server that never speaks", .timeLimit(.minutes(1)))
struct SilentServerTests {
    @Test(
        "a listener that accepts but never sends its preface: the call fails UNAVAILABLE / CONNECT_FAILED after the connect timeout, not never"
    )
    func noPreface() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // accepts, reads nothing, writes nothing
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        let client = RPCClient(
            configuration: ClientConfiguration(
                host: "127.0.0.1",
                port: port,
                connections: 1,
                connectTimeout: .milliseconds(300),
                maxAttempts: 1
            )
        )
        // Watched from outside, so that a hang fails the test instead of holding the suite.
        let outcome = NIOLockedValueBox<Result<[UInt8], any Error>?>(nil)
        _ = Task {
            let result: Result<[UInt8], any Error>
            do {
                result = .success(
                    try await client.call(
                        "/test.v1.Test/Echo",
                        request: [1],
                        options: CallOptions(timeout: .seconds(30))
                    )
                )
            } catch {
                result = .failure(error)
            }
            outcome.withLockedValue { $0 = result }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while outcome.withLockedValue({ $0 }) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard let result = outcome.withLockedValue({ $0 }) else {
            Issue.record(
                "the call was still waiting for the preface after 20 s (connect timeout 300 ms, call deadline 30 s)"
            )
            return
        }
        switch result {
        case .success: Issue.record("a silent server answered")
        case .failure(let error as RPCError):
            #expect(error.code == .unavailable && error.reason == WireReason.connectFailed, "\(error)")
        case .failure(let error): Issue.record("not an RPCError: \(error)")
        }
        await client.close()
        try await listener.close()
    }
}

@Suite("Admission across connections", .timeLimit(.minutes(1)))
struct AdmissionTests {
    @Test(
        "8 calls in flight server-wide: writes stop at 6, reads at 8, each refused OVERLOADED at once with a retry hint; Health/Check always answers; slots come back as calls end"
    )
    func boundedInFlight() async throws {
        try await withTestServer({ $0.maxCallsInFlight = 8 }) { server, probe in
            // Two connections, so the bound is the server's, not one connection's.
            let a = RPCClient(
                configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 1, maxAttempts: 1)
            )
            let b = RPCClient(
                configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 1, maxAttempts: 1)
            )
            var writes: [Task<[UInt8], any Error>] = []
            for index in 0..<6 {
                writes.append(
                    Task {
                        try await (index % 2 == 0 ? a : b).call(
                            "/test.v1.Test/SleepWrite",
                            request: Array("60000:w\(index)".utf8)
                        )
                    }
                )
            }
            #expect(await ServerTransportTests.eventually { probe.snapshot.started.count == 6 })
            let refusedWrite = await #expect(throws: RPCError.self) {
                try await b.call("/test.v1.Test/SleepWrite", request: Array("1:w6".utf8))
            }
            #expect(refusedWrite?.code == .resourceExhausted && refusedWrite?.reason == WireReason.overloaded)
            #expect(refusedWrite?.details["retry_after_ms"] == "50")
            // Reads still have two slots.
            var reads: [Task<[UInt8], any Error>] = []
            for index in 0..<2 {
                reads.append(Task { try await a.call("/test.v1.Test/Sleep", request: Array("60000:r\(index)".utf8)) })
            }
            #expect(await ServerTransportTests.eventually { probe.snapshot.started.count == 8 })
            let refusedRead = await #expect(throws: RPCError.self) {
                try await a.call("/test.v1.Test/Echo", request: [1])
            }
            #expect(refusedRead?.reason == WireReason.overloaded)
            // A probe always gets an answer (a refusal would throw here).
            _ = try await b.call("/framerpc.v1.Health/Check", request: [])
            // Calls that end give their slots back.
            for task in writes + reads { task.cancel() }
            #expect(
                await ServerTransportTests.eventually {
                    probe.snapshot.cancelled.count == 2 && probe.snapshot.finished.isEmpty
                }
            )
            #expect(
                try await ServerTransportTests.eventuallyAsync {
                    (try? await a.call("/test.v1.Test/Echo", request: [2])) == [2]
                }
            )
            await a.close()
            await b.close()
        }
    }
}

extension AdmissionTests {
    @Test("a call refused OVERLOADED is sent again after the server's hint, and runs once the server has room")
    func clientRetriesOverloaded() async throws {
        try await withTestServer({ $0.maxCallsInFlight = 4 }) { server, probe in
            let holder = RPCClient(
                configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 1, maxAttempts: 1)
            )
            let held = (0..<3).map { index in
                Task { try await holder.call("/test.v1.Test/SleepWrite", request: Array("60000:held\(index)".utf8)) }
            }
            #expect(await ServerTransportTests.eventually { probe.snapshot.started.count == 3 })
            let retrying = RPCClient(
                configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 1, maxAttempts: 8)
            )
            let call = Task {
                try await retrying.call(
                    "/test.v1.Test/SleepWrite",
                    request: Array("1:late".utf8),
                    options: CallOptions(timeout: .seconds(20))
                )
            }
            try await Task.sleep(for: .milliseconds(150))
            #expect(!probe.snapshot.started.contains("late"), "refused while the write slots are taken")
            for task in held { task.cancel() }
            #expect(try await call.value == Array("late".utf8))
            #expect(probe.snapshot.finished.filter { $0 == "late" }.count == 1)
            await holder.close()
            await retrying.close()
        }
    }
}

extension ServerTransportTests {
    static func eventuallyAsync(
        timeout: Duration = .seconds(20),
        _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return try await condition()
    }
}
