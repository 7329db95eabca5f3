import FrameRPC
import FrameRPCServer
import Glibc
import NIOCore
import Testing

@Suite("Backpressure: a client that does not read its answers is not read", .timeLimit(.minutes(2)))
struct BackpressureTests {
    /// A blocking-free POSIX socket to the server, with small buffers of its own, so what piles up
    /// is on the server's side.
    private static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var size: Int32 = 64 * 1024
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
        return fd
    }

    /// Sends from `bytes[sent...]` without blocking; returns how many the socket took.
    private static func sendSome(_ fd: Int32, _ bytes: [UInt8], from sent: Int) -> Int {
        let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return max(count, 0)
    }

    @Test(
        "calls keep coming but their answers are not read: the server stops reading (the rest waits in TCP, not in its memory), and every call is answered once the client reads"
    )
    func unreadAnswersStopReads() async throws {
        try await withTestServer { server, _ in
            let fd = try Self.connect(port: server.port)
            defer { close(fd) }
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
            // Send, never reading, until the socket takes nothing for a second.
            let stalledAt = try await offThePool { () -> Int in
                var sent = 0
                var progress = ContinuousClock.now
                while sent < request.count && ContinuousClock.now - progress < .seconds(1) {
                    let taken = Self.sendSome(fd, request, from: sent)
                    if taken > 0 {
                        sent += taken
                        progress = .now
                    } else {
                        usleep(2_000)
                    }
                }
                return sent
            }
            #expect(
                stalledAt < request.count / 2,
                "the server kept reading a client that reads none of its answers: \(stalledAt) of \(request.count) bytes taken"
            )

            // The client reads: what waited is read in turn and every call answered, in full.
            let answered = try await offThePool { () -> [UInt32: Int] in
                var sent = stalledAt
                var received = ByteBuffer()
                var decoder = FrameDecoder(maxFrameSize: 1 << 20)
                var answers: [UInt32: Int] = [:]
                var chunk = [UInt8](repeating: 0, count: 256 * 1024)
                let end = ContinuousClock.now + .seconds(60)
                while answers.count < calls && ContinuousClock.now < end {
                    if sent < request.count { sent += Self.sendSome(fd, request, from: sent) }
                    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if count > 0 {
                        received.writeBytes(chunk[..<count])
                        while let event = try decoder.next(from: &received) {
                            guard case .frame(let frame) = event, frame.type == .response else { continue }
                            let response = try Framerpc_V1_Response(
                                serializedBytes: Array(frame.payload.readableBytesView)
                            )
                            answers[frame.streamID] = response.status.code == 0 ? response.payload.count : -1
                        }
                    } else if count == 0 {
                        break
                    } else {
                        usleep(1_000)
                    }
                }
                return answers
            }
            #expect(answered.count == calls)
            #expect(answered.values.allSatisfy { $0 == payload.count })
        }
    }
}
