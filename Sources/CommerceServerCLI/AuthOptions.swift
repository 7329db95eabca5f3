import ArgumentParser
import CommerceAuth
import CommerceService
import Foundation
import FrameRPCServer

/// How `serve` identifies callers (docs/security.md).
struct AuthOptions: ParsableArguments {
    enum Switch: String, ExpressibleByArgument, CaseIterable { case on, off }

    @Option(
        help:
            "on: every call but browsing needs a bearer token signed by --auth-keys; off trusts every caller (a warning at start)."
    )
    var auth: Switch = .on

    @Option(
        help:
            "JSON Web Key Set the tokens are verified with (or env COMMERCE_AUTH_KEYS); `commerce-server keys add` makes one."
    )
    var authKeys: String?

    @Option(
        help:
            "A static admin credential for AdminService calls (or env COMMERCE_ADMIN_TOKEN), besides tokens with the admin scope."
    )
    var adminToken: String?

    var keysPath: String? { self.authKeys ?? ProcessInfo.processInfo.environment["COMMERCE_AUTH_KEYS"] }
    var staticAdminToken: String? { self.adminToken ?? ProcessInfo.processInfo.environment["COMMERCE_ADMIN_TOKEN"] }

    func validate() throws {
        if self.auth == .on && self.keysPath == nil {
            throw ValidationError(
                "authentication is on and no keys were given: pass --auth-keys FILE (`commerce-server keys add --file FILE` makes one), or --auth off"
            )
        }
    }

    func mode() throws -> AuthMode {
        switch self.auth {
        case .off: return .off
        case .on:
            guard let path = self.keysPath else { throw ValidationError("--auth-keys is missing") }
            do {
                return .tokens(try TokenKeySet.load(path: path))
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }
}

/// TLS on the FrameRPC listener.
struct TLSOptions: ParsableArguments {
    @Option(
        help:
            "PEM certificate chain: with --tls-key, the listener takes TLS connections only (plaintext ones get TLS_REQUIRED)."
    )
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(help: "PEM CA file: clients must present a certificate it issued (mutual TLS, for services).")
    var tlsClientCa: String?

    func validate() throws {
        guard (self.tlsCert == nil) == (self.tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if self.tlsClientCa != nil && self.tlsCert == nil {
            throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key")
        }
    }

    func serverTLS() throws -> ServerTLS? {
        guard let certificate = self.tlsCert, let key = self.tlsKey else { return nil }
        do {
            return try ServerTLS(certificate: certificate, key: key, clientCA: self.tlsClientCa)
        } catch {
            throw ValidationError("cannot use the TLS certificate \(certificate) and key \(key): \(error)")
        }
    }
}
