import ArgumentParser
import FrameRPCClient

/// The TLS options every client command line takes (`commerce`, `commerce-load`), declared once.
public struct ClientTLSOptions: ParsableArguments {
    @Flag(help: "Connect with TLS, trusting the system's CAs (implied by the other --tls options).") public var tls =
        false
    @Option(help: "PEM file of the CAs the server's certificate must chain to.") public var tlsCa: String?
    @Option(help: "PEM client certificate, for servers that require one (mutual TLS).") public var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") public var tlsKey: String?
    @Option(help: "The name the server's certificate must carry (default: --host).") public var tlsServerName: String?

    public init() {}

    /// The client's TLS settings, or nil for plaintext.
    public func clientTLS() throws -> ClientTLS? {
        try ClientTLS.options(
            enabled: self.tls,
            trustRoots: self.tlsCa,
            certificate: self.tlsCert,
            key: self.tlsKey,
            serverName: self.tlsServerName
        )
    }
}
