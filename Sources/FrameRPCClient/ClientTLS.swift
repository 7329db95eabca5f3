import NIOSSL

/// TLS for a client's connections: whom to trust, and the client's own certificate for mutual TLS.
public struct ClientTLS: Sendable {
    let context: NIOSSLContext
    /// The name sent in SNI and checked against the server's certificate; nil: the host connected
    /// to, unless it is an IP address (then the certificate must name that address).
    public let serverName: String?

    /// - Parameters:
    ///   - trustRoots: a PEM file of the CAs the server's certificate must chain to; nil: the system's.
    ///   - certificate, key: the client's certificate chain and key (PEM), for servers that require one.
    public init(
        trustRoots: String? = nil,
        certificate: String? = nil,
        key: String? = nil,
        serverName: String? = nil
    ) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustRoots { configuration.trustRoots = .file(trustRoots) }
        if let certificate, let key {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        self.context = try NIOSSLContext(configuration: configuration)
        self.serverName = serverName
    }

    /// The SNI name for a connection to `host`: never an IP address (TLS forbids it).
    func hostname(for host: String) -> String? {
        if let serverName { return serverName }
        let isAddress =
            host.contains(":") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        return isAddress ? nil : host
    }
}

extension ClientTLS {
    /// What command-line tools take: TLS if asked for (`enabled`) or if any file is named; nil: plaintext.
    public static func options(
        enabled: Bool,
        trustRoots: String?,
        certificate: String?,
        key: String?,
        serverName: String?
    ) throws -> ClientTLS? {
        guard enabled || trustRoots != nil || certificate != nil || serverName != nil else { return nil }
        guard (certificate == nil) == (key == nil) else {
            throw ClientTLSError(message: "--tls-cert and --tls-key go together")
        }
        do {
            return try ClientTLS(trustRoots: trustRoots, certificate: certificate, key: key, serverName: serverName)
        } catch {
            throw ClientTLSError(message: "cannot set up TLS: \(error)")
        }
    }
}

public struct ClientTLSError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}
