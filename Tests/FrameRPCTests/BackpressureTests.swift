import FrameRPC
import FrameRPCServer
import Glibc
import NIOCore
import SocketTestSupport
import Testing

@Suite("Backpressure: a client that does not read its answers is not read", .timeLimit(.minutes(2)))
struct BackpressureTests {
    @Test(
        "calls keep coming but their answers are not read: the server stops reading (the rest waits in TCP, not in its memory), and every call is answered once the client reads"
    )
    func unreadAnswersStopReads() async throws {
        try await withTestServer { server, _ in
            let socket = try UnreadingSocket(port: server.port)
            let calls = 2_048
            let payload = [UInt8](repeating: 9, count: 32 * 1024)
            var bytes = Preface().bytes
            for stream in 1...calls {
                bytes += try RawPeer.requestFrame(
                    streamID: UInt32(stream),
                    method: "/test.v1.Test/Echo",
                    payload: payload
                )
            }
            let request = bytes
            let stalledAt = try await offThePool { socket.sendUntilStalled(request) }
            #expect(
                stalledAt < request.count / 2,
                "the server kept reading a client that reads none of its answers: \(stalledAt) of \(request.count) bytes taken"
            )

            // The client reads: what waited is read in turn and every call answered, in full.
            let answered = try await offThePool { () -> [UInt32: Int] in
                var received = ByteBuffer()
                var decoder = FrameDecoder(maxFrameSize: 1 << 20)
                var answers: [UInt32: Int] = [:]
                try socket.exchange(request, from: stalledAt) { chunk in
                    received.writeBytes(chunk)
                    while let event = try decoder.next(from: &received) {
                        guard case .frame(let frame) = event, frame.type == .response else { continue }
                        let response = try Framerpc_V1_Response(serializedBytes: Array(frame.payload.readableBytesView))
                        answers[frame.streamID] = response.status.code == 0 ? response.payload.count : -1
                    }
                    return answers.count == calls
                }
                return answers
            }
            #expect(answered.count == calls)
            #expect(answered.values.allSatisfy { $0 == payload.count })
        }
    }
}
