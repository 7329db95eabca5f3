import CommerceDomain
import Foundation

/// Checks access tokens against a key set: the `kid` picks the key, the key fixes the algorithm,
/// the signature is checked before any claim is believed, then `exp` and `nbf` with a little
/// clock skew allowed. Every refusal has its own reason (docs/security.md).
public struct TokenVerifier: Sendable {
    public let keys: TokenKeySet
    /// Seconds a clock may be off: a token is taken until `exp + skew` and from `nbf - skew`.
    public static let allowedSkew: Int64 = 30
    /// Longer tokens are refused unread.
    public static let maximumLength = 4_096

    public init(keys: TokenKeySet) {
        self.keys = keys
    }

    /// The token's claims, if it verifies at `now` (seconds since 1970).
    public func verify(_ token: some StringProtocol, now: Int64) throws(CommerceError) -> AccessToken {
        guard token.utf8.count <= Self.maximumLength else {
            throw Self.malformed("is longer than \(Self.maximumLength) bytes")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw Self.malformed("is not three base64url parts joined by dots") }
        guard let headerBytes = Base64URL.decode(parts[0]), let claimBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw Self.malformed("has a part that is not base64url") }
        guard let header = try? JSONDecoder().decode(AccessToken.Header.self, from: headerBytes) else {
            throw Self.malformed("has a header that is not JSON with alg")
        }
        guard let algorithm = TokenKey.Algorithm(rawValue: header.alg) else {
            throw CommerceError(
                .tokenAlgorithmRefused,
                "the token's alg \"\(header.alg.prefix(16))\" is not accepted (HS256, EdDSA)"
            )
        }
        guard let kid = header.kid, let key = self.keys[kid] else {
            throw CommerceError(
                .tokenKeyUnknown,
                header.kid == nil ? "the token names no kid" : "no key has the token's kid"
            )
        }
        guard key.algorithm == algorithm else {
            throw CommerceError(
                .tokenAlgorithmRefused,
                "the token's alg \(algorithm.rawValue) is not its key's (\(key.algorithm.rawValue))"
            )
        }
        let signingInput = token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)
        guard key.verify(signature, of: Data(signingInput)) else {
            throw CommerceError(.tokenSignatureInvalid, "the token's signature does not verify")
        }
        guard let claims = try? JSONDecoder().decode(AccessToken.Claims.self, from: claimBytes) else {
            throw Self.malformed("has claims that are not JSON with sub, scope and exp")
        }
        var scopes = Set<Scope>()
        for name in claims.scope.split(separator: " ") {
            // Scopes this server does not know grant nothing here; they are not an error.
            if let scope = Scope(rawValue: String(name)) { scopes.insert(scope) }
        }
        let token = AccessToken(
            subject: claims.sub,
            scopes: scopes,
            expiresAt: claims.exp,
            notBefore: claims.nbf,
            issuedAt: claims.iat
        )
        if scopes.contains(.user) && token.caller.user == nil {
            throw Self.malformed("has the user scope but a subject that is not a user id")
        }
        try Self.check(token, now: now)
        return token
    }

    /// `exp` and `nbf` at `now`: for a token verified earlier and cached.
    public static func check(_ token: AccessToken, now: Int64) throws(CommerceError) {
        guard now <= token.expiresAt + Self.allowedSkew else {
            throw CommerceError(.tokenExpired, "the token expired at \(token.expiresAt) (now \(now))")
        }
        if let notBefore = token.notBefore, now < notBefore - Self.allowedSkew {
            throw CommerceError(.tokenNotYetValid, "the token is valid from \(notBefore) (now \(now))")
        }
    }

    private static func malformed(_ what: String) -> CommerceError {
        CommerceError(.tokenMalformed, "the bearer token \(what)")
    }
}
