#if canImport(Glibc)
import Glibc
#endif

/// A POSIX socket to a server on the loopback that sends without reading, with small buffers of its
/// own, so what piles up is on the server's side: for tests of backpressure. Its calls block; run
/// them ``offThePool(_:)``. The socket closes with the value.
public final class UnreadingSocket: Sendable {
    public struct ConnectFailed: Error {
        public let errno: Int32
    }

    private let fd: Int32

    public init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConnectFailed(errno: errno) }
        var size: Int32 = 64 * 1024
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let failure = ConnectFailed(errno: errno)
            close(fd)
            throw failure
        }
        self.fd = fd
    }

    deinit { close(self.fd) }

    /// Sends `bytes` without reading until the socket takes nothing for a second; returns how many
    /// it took.
    public func sendUntilStalled(_ bytes: [UInt8]) -> Int {
        var sent = 0
        var progress = ContinuousClock.now
        while sent < bytes.count && ContinuousClock.now - progress < .seconds(1) {
            let taken = self.sendSome(bytes, from: sent)
            if taken > 0 {
                sent += taken
                progress = .now
            } else {
                usleep(2_000)
            }
        }
        return sent
    }

    /// Sends the rest of `bytes` from `start` while reading, handing each chunk read to `received`,
    /// until it returns true, the server closes, or `timeout` passes.
    public func exchange(
        _ bytes: [UInt8],
        from start: Int,
        timeout: Duration = .seconds(60),
        received: ([UInt8]) throws -> Bool
    ) rethrows {
        var sent = start
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if sent < bytes.count { sent += self.sendSome(bytes, from: sent) }
            let count = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                if try received(Array(chunk[..<count])) { return }
            } else if count == 0 {
                return
            } else {
                usleep(1_000)
            }
        }
    }

    /// Sends from `bytes[sent...]` without blocking; returns how many the socket took.
    private func sendSome(_ bytes: [UInt8], from sent: Int) -> Int {
        let count = bytes[sent...].withUnsafeBytes { send(self.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return max(count, 0)
    }
}
