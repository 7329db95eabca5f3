import Crypto
import Foundation

/// A key tokens are signed or verified with, named by its key id (`kid`). Each key has one
/// algorithm: a token is checked only with the algorithm of the key its `kid` names, so a token
/// cannot pick how it is verified (no `alg: none`, no HMAC keyed with a public key).
public struct TokenKey: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable, Codable {
        /// HMAC with SHA-256: one shared secret signs and verifies.
        case hs256 = "HS256"
        /// Ed25519: the private key signs; the public key verifies, and is all a server needs.
        case edDSA = "EdDSA"
    }

    enum Material: Sendable {
        case secret(SymmetricKey)
        case ed25519(public: Curve25519.Signing.PublicKey, private: Curve25519.Signing.PrivateKey?)
    }

    public let id: String
    let material: Material

    public var algorithm: Algorithm {
        switch self.material {
        case .secret: .hs256
        case .ed25519: .edDSA
        }
    }

    /// Whether the key can sign (an HMAC secret, or an Ed25519 key with its private part).
    public var canSign: Bool {
        switch self.material {
        case .secret: true
        case .ed25519(_, let privateKey): privateKey != nil
        }
    }

    /// A new random key: 256 bits of secret for HS256, a new key pair for EdDSA.
    public static func generate(id: String, algorithm: Algorithm) -> TokenKey {
        switch algorithm {
        case .hs256: return TokenKey(id: id, material: .secret(SymmetricKey(size: .bits256)))
        case .edDSA:
            let privateKey = Curve25519.Signing.PrivateKey()
            return TokenKey(id: id, material: .ed25519(public: privateKey.publicKey, private: privateKey))
        }
    }

    func sign(_ input: Data) throws -> Data {
        switch self.material {
        case .secret(let key): return Data(HMAC<SHA256>.authenticationCode(for: input, using: key))
        case .ed25519(_, let privateKey):
            guard let privateKey else {
                throw TokenKeyError(message: "key \(self.id) holds only a public key: it cannot sign")
            }
            return try privateKey.signature(for: input)
        }
    }

    /// Constant-time for HMAC (swift-crypto compares the codes so).
    func verify(_ signature: Data, of input: Data) -> Bool {
        switch self.material {
        case .secret(let key): HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case .ed25519(let publicKey, _): publicKey.isValidSignature(signature, for: input)
        }
    }
}

public struct TokenKeyError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}
