import FrameRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// TLS on the server's listener: a certificate chain and key in PEM files, and optionally the CA
/// that client certificates must chain to (mutual TLS, for service-to-service calls). The files
/// are read again by ``reload()`` (SIGHUP): connections opened afterwards get the new certificate,
/// open ones keep theirs.
public final class ServerTLS: Sendable {
    public let certificatePath: String
    public let keyPath: String
    public let clientCAPath: String?
    /// Offered in ALPN (the HTTP listener offers `h2` and `http/1.1`); none for FrameRPC.
    public let applicationProtocols: [String]
    private let current: NIOLockedValueBox<NIOSSLContext>

    public init(certificate: String, key: String, clientCA: String? = nil, applicationProtocols: [String] = []) throws {
        self.certificatePath = certificate
        self.keyPath = key
        self.clientCAPath = clientCA
        self.applicationProtocols = applicationProtocols
        self.current = NIOLockedValueBox(
            try Self.context(certificate: certificate, key: key, clientCA: clientCA, protocols: applicationProtocols)
        )
    }

    /// The same files, offering `protocols` in ALPN.
    public func offering(_ protocols: [String]) throws -> ServerTLS {
        try ServerTLS(
            certificate: self.certificatePath,
            key: self.keyPath,
            clientCA: self.clientCAPath,
            applicationProtocols: protocols
        )
    }

    /// Reads the files again; on failure the certificate in use stays.
    public func reload() throws {
        let context = try Self.context(
            certificate: self.certificatePath,
            key: self.keyPath,
            clientCA: self.clientCAPath,
            protocols: self.applicationProtocols
        )
        self.current.withLockedValue { $0 = context }
    }

    /// The context new connections get (replaced by ``reload()``).
    public var context: NIOSSLContext { self.current.withLockedValue { $0 } }

    private static func context(
        certificate: String,
        key: String,
        clientCA: String?,
        protocols: [String]
    ) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = protocols
        if let clientCA {
            // A client must present a certificate issued by this CA, or the handshake fails.
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .file(clientCA)
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// First in the pipeline of a TLS listener: a connection whose first byte is not a TLS handshake
/// record (a plaintext FrameRPC client) gets a plaintext preface and a GOAWAY `FAILED_PRECONDITION`
/// / `TLS_REQUIRED` it can read, instead of bytes it cannot; a TLS one passes on to NIOSSL.
final class PlaintextRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    /// The content type of a TLS handshake record.
    static let handshakeRecord: UInt8 = 0x16

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        if first == Self.handshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        let refusal = RefuseConnectionHandler.refusal(
            RPCError(
                code: .failedPrecondition,
                reason: WireReason.tlsRequired,
                message: "this server accepts TLS connections only"
            ),
            allocator: context.channel.allocator
        )
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(refusal)).whenComplete { _ in channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension PlaintextRefusalHandler: Sendable {}
