import FrameRPC

/// What carries a client's calls: ``RPCClient`` over TCP (or TLS) connections, or an in-process
/// transport straight into a server's router (`FrameRPCInProcess`), for tests that need no socket.
public protocol RPCTransport: Sendable {
    /// Calls `method` (`/package.Service/Method`) with an encoded request and returns the encoded
    /// response; failures are ``FrameRPC/RPCError``s with the server's code and reason.
    func call(_ method: String, request: [UInt8], options: CallOptions) async throws -> [UInt8]
    func close() async
}

extension RPCClient: RPCTransport {}
