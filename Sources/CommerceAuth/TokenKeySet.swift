import Crypto
import Foundation

/// The keys a server verifies tokens with and `commerce-server token` signs them with, kept as a
/// JSON Web Key Set (RFC 7517) file: `{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": …, "x": …,
/// "d": …}, {"kty": "oct", "kid": …, "k": …}]}`.
///
/// Rotation: put a new key first (`commerce-server keys add`); the first key that can sign signs
/// new tokens, and every key in the set verifies. Once the tokens of the old key have expired,
/// remove it (`commerce-server keys remove`) and restart the servers.
public struct TokenKeySet: Sendable {
    public private(set) var keys: [TokenKey]

    public init(_ keys: [TokenKey]) throws {
        var seen = Set<String>()
        for key in keys where !seen.insert(key.id).inserted {
            throw TokenKeyError(message: "two keys have the id \"\(key.id)\"")
        }
        self.keys = keys
    }

    public subscript(id: String) -> TokenKey? { self.keys.first { $0.id == id } }

    /// The key new tokens are signed with: the first that can sign.
    public var signingKey: TokenKey? { self.keys.first(where: \.canSign) }

    public mutating func prepend(_ key: TokenKey) throws {
        self = try TokenKeySet([key] + self.keys)
    }

    public mutating func remove(id: String) throws {
        guard self[id] != nil else { throw TokenKeyError(message: "no key has the id \"\(id)\"") }
        self.keys.removeAll { $0.id == id }
    }

    // MARK: JWKS

    struct JWK: Codable {
        var kty: String
        var kid: String?
        var alg: String?
        var use: String?
        var crv: String?
        var x: String?
        var d: String?
        var k: String?
    }

    struct JWKS: Codable {
        var keys: [JWK]
    }

    public init(jwks data: Data) throws {
        let document: JWKS
        do {
            document = try JSONDecoder().decode(JWKS.self, from: data)
        } catch {
            throw TokenKeyError(message: "not a JSON Web Key Set ({\"keys\": [...]}): \(error)")
        }
        try self.init(try document.keys.enumerated().map { index, jwk in try Self.key(jwk, index: index) })
    }

    public static func load(path: String) throws -> TokenKeySet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenKeyError(message: "cannot read the key file \(path)")
        }
        do {
            return try TokenKeySet(jwks: data)
        } catch let error as TokenKeyError {
            throw TokenKeyError(message: "\(path): \(error.message)")
        }
    }

    /// The set as JWKS; with `privateParts: false`, only what verifies (Ed25519 public keys; an
    /// HMAC secret both signs and verifies, so it is always written).
    public func jwks(privateParts: Bool = true) throws -> Data {
        let keys = self.keys.map { key -> JWK in
            switch key.material {
            case .secret(let secret):
                return JWK(
                    kty: "oct",
                    kid: key.id,
                    alg: key.algorithm.rawValue,
                    use: "sig",
                    k: secret.withUnsafeBytes { Base64URL.encode($0) }
                )
            case .ed25519(let publicKey, let privateKey):
                return JWK(
                    kty: "OKP",
                    kid: key.id,
                    alg: key.algorithm.rawValue,
                    use: "sig",
                    crv: "Ed25519",
                    x: Base64URL.encode(publicKey.rawRepresentation),
                    d: privateParts ? privateKey.map { Base64URL.encode($0.rawRepresentation) } : nil
                )
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(JWKS(keys: keys))
    }

    /// Writes the set readable by its owner only.
    public func write(path: String) throws {
        let data = try self.jwks()
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        guard
            FileManager.default.createFile(
                atPath: temporary.path,
                contents: data,
                attributes: [.posixPermissions: 0o600]
            )
        else {
            throw TokenKeyError(message: "cannot write \(temporary.path)")
        }
        // rename(2) replaces the old set in one step: a server reloading it sees the old or the new.
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw TokenKeyError(message: "cannot write \(path): \(reason)")
        }
    }

    private static func key(_ jwk: JWK, index: Int) throws -> TokenKey {
        guard let id = jwk.kid, !id.isEmpty else { throw TokenKeyError(message: "key \(index) has no kid") }
        func bytes(_ field: String?, _ name: String) throws -> Data {
            guard let field, let data = Base64URL.decode(field) else {
                throw TokenKeyError(message: "key \(id): \(name) is missing or not base64url")
            }
            return data
        }
        switch (jwk.kty, jwk.crv) {
        case ("oct", _):
            guard jwk.alg == nil || jwk.alg == TokenKey.Algorithm.hs256.rawValue else {
                throw TokenKeyError(message: "key \(id): an oct key is for HS256, not \(jwk.alg ?? "")")
            }
            let secret = try bytes(jwk.k, "k")
            guard secret.count >= 32 else {
                throw TokenKeyError(message: "key \(id): an HS256 secret needs at least 32 bytes")
            }
            return TokenKey(id: id, material: .secret(SymmetricKey(data: secret)))
        case ("OKP", "Ed25519"):
            guard jwk.alg == nil || jwk.alg == TokenKey.Algorithm.edDSA.rawValue else {
                throw TokenKeyError(message: "key \(id): an Ed25519 key is for EdDSA, not \(jwk.alg ?? "")")
            }
            do {
                let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: try bytes(jwk.x, "x"))
                let privateKey = try jwk.d.map { _ in
                    try Curve25519.Signing.PrivateKey(rawRepresentation: try bytes(jwk.d, "d"))
                }
                if let privateKey, privateKey.publicKey.rawRepresentation != publicKey.rawRepresentation {
                    throw TokenKeyError(message: "key \(id): d is not the private key of x")
                }
                return TokenKey(id: id, material: .ed25519(public: publicKey, private: privateKey))
            } catch let error as TokenKeyError {
                throw error
            } catch {
                throw TokenKeyError(message: "key \(id): not an Ed25519 key: \(error)")
            }
        default:
            throw TokenKeyError(
                message:
                    "key \(id): kty \(jwk.kty) \(jwk.crv ?? "") is not supported (oct for HS256, OKP Ed25519 for EdDSA)"
            )
        }
    }
}
