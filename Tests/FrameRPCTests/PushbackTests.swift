import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import Synchronization
import Testing

@Suite("Pushback: a connection refused for load waits for room", .timeLimit(.minutes(2)))
struct PushbackTests {
    @Test(
        "room is announced once the calls in flight fall to seven eighths of the writes' slots, at once if they have, once per waiter"
    )
    func roomLevel() {
        let admission = Admission(limit: 16)  // 12 for writes; room at 10
        #expect(admission.roomLevel == 10)
        let told = Atomic(0)
        final class Connection {}
        let (a, b) = (Connection(), Connection())
        admission.whenRoom(for: ObjectIdentifier(a)) { told.add(1, ordering: .relaxed) }
        #expect(told.load(ordering: .relaxed) == 1, "nothing in flight: room now")
        for _ in 0..<12 { #expect(admission.admit(mutating: true, exempt: false)) }
        #expect(!admission.admit(mutating: true, exempt: false))
        admission.whenRoom(for: ObjectIdentifier(a)) { told.add(100, ordering: .relaxed) }
        admission.whenRoom(for: ObjectIdentifier(a)) { told.add(1, ordering: .relaxed) }  // replaces a's
        admission.whenRoom(for: ObjectIdentifier(b)) { told.add(10, ordering: .relaxed) }
        admission.release()  // 11
        #expect(told.load(ordering: .relaxed) == 1)
        admission.release()  // 10
        #expect(told.load(ordering: .relaxed) == 12, "both told, once")
        admission.release(10)
        #expect(told.load(ordering: .relaxed) == 12)
    }

    @Test("the high-water mark of calls in flight holds a surge that has ended until it is taken, then starts from now")
    func highWaterMark() {
        let admission = Admission(limit: 16)
        #expect(admission.takeHighest() == 0)
        for _ in 0..<12 { #expect(admission.admit(mutating: true, exempt: false)) }
        #expect(!admission.admit(mutating: true, exempt: false), "refused calls do not count")
        #expect(admission.admit(mutating: false, exempt: true))  // 13, a health check
        admission.release(11)  // 2 left
        #expect(admission.takeHighest() == 13)
        #expect(admission.takeHighest() == 2, "taken: from the calls in flight now")
        admission.release(2)
        #expect(admission.takeHighest() == 2)
        #expect(admission.takeHighest() == 0)
    }

    /// A client of one connection that sends each call once.
    private static func client(_ server: RPCServer) -> RPCClient {
        RPCClient(
            configuration: ClientConfiguration(host: "127.0.0.1", port: server.port, connections: 1, maxAttempts: 1)
        )
    }

    /// Calls Health/Check on `client` and returns how long the answer took.
    private static func timedCheck(_ client: RPCClient) async throws -> Duration {
        let started = ContinuousClock.now
        _ = try await client.call("/framerpc.v1.Health/Check", request: [])
        return ContinuousClock.now - started
    }

    @Test(
        "after an OVERLOADED refusal the connection is not read until calls end; other connections are read; reading resumes when slots come back"
    )
    func pausedUntilRoom() async throws {
        try await withTestServer({ $0.maxCallsInFlight = 4 }) { server, probe in  // 3 for writes; room at 2
            let holder = Self.client(server)
            let held = (0..<3).map { index in
                Task { try await holder.call("/test.v1.Test/SleepWrite", request: Array("60000:held\(index)".utf8)) }
            }
            #expect(await ServerTransportTests.eventually { probe.snapshot.started.count == 3 })

            let refused = Self.client(server)
            let refusal = await #expect(throws: RPCError.self) {
                try await refused.call("/test.v1.Test/SleepWrite", request: Array("1:late".utf8))
            }
            #expect(refusal?.reason == WireReason.overloaded)
            // Its next call waits in the socket: no answer while the slots stay taken…
            let waiting = Task { try await Self.timedCheck(refused) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(probe.snapshot.started.count == 3)
            // …while a connection without refusals is read and answered.
            let other = Self.client(server)
            #expect(try await Self.timedCheck(other) < .milliseconds(300))
            #expect(try await other.call("/test.v1.Test/Echo", request: [7]) == [7])

            // Two calls end: one in flight, below the room level; the paused connection is read.
            held[0].cancel()
            held[1].cancel()
            let waited = try await waiting.value
            #expect(waited >= .milliseconds(250), "answered only once the connection was read again")
            #expect(
                try await refused.call("/test.v1.Test/SleepWrite", request: Array("1:after".utf8))
                    == Array("after".utf8)
            )
            held[2].cancel()
            await holder.close()
            await refused.close()
            await other.close()
        }
    }

    @Test("a connection waiting for room is read again after at most a second even if no call ends")
    func resumesAfterTheLimit() async throws {
        try await withTestServer({ $0.maxCallsInFlight = 4 }) { server, probe in
            let holder = Self.client(server)
            let held = (0..<3).map { index in
                Task { try await holder.call("/test.v1.Test/SleepWrite", request: Array("60000:held\(index)".utf8)) }
            }
            #expect(await ServerTransportTests.eventually { probe.snapshot.started.count == 3 })
            let refused = Self.client(server)
            await #expect(throws: RPCError.self) {
                try await refused.call("/test.v1.Test/SleepWrite", request: Array("1:late".utf8))
            }
            // Health/Check is admitted whatever the load: answered once read, about a second on.
            let waited = try await Self.timedCheck(refused)
            #expect(waited >= .milliseconds(700) && waited < .seconds(10), "\(waited)")
            for task in held { task.cancel() }
            await holder.close()
            await refused.close()
        }
    }
}
