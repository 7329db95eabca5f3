import CommerceDomain
import Foundation

/// The claims of an access token (a JWT, RFC 7519): who (`sub`), what (`scope`, space-separated
/// as in RFC 8693), and when (`exp` required, `nbf` and `iat` optional; seconds since 1970).
public struct AccessToken: Sendable, Hashable {
    public var subject: String
    public var scopes: Set<Scope>
    public var expiresAt: Int64
    public var notBefore: Int64?
    public var issuedAt: Int64?

    public init(subject: String, scopes: Set<Scope>, expiresAt: Int64, notBefore: Int64? = nil, issuedAt: Int64? = nil)
    {
        self.subject = subject
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.issuedAt = issuedAt
    }

    /// A token for user `user`, valid for `ttl` seconds from `now` (seconds since 1970).
    public static func user(_ user: UserID, now: Int64, ttl: Int64) -> AccessToken {
        AccessToken(subject: "\(user)", scopes: [.user], expiresAt: now + ttl, notBefore: now, issuedAt: now)
    }

    public var caller: Caller { Caller(subject: self.subject, scopes: self.scopes) }

    struct Header: Codable {
        var alg: String
        var typ: String?
        var kid: String?
    }

    struct Claims: Codable {
        var sub: String
        var scope: String
        var exp: Int64
        var nbf: Int64?
        var iat: Int64?
    }

    /// Signs the token with `key`: `header.claims.signature`, each base64url.
    public func signed(with key: TokenKey) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = try encoder.encode(Header(alg: key.algorithm.rawValue, typ: "JWT", kid: key.id))
        let claims = try encoder.encode(
            Claims(
                sub: self.subject,
                scope: Scope.allCases.filter(self.scopes.contains).map(\.rawValue).joined(separator: " "),
                exp: self.expiresAt,
                nbf: self.notBefore,
                iat: self.issuedAt
            )
        )
        let input = Base64URL.encode(header) + "." + Base64URL.encode(claims)
        return input + "." + Base64URL.encode(try key.sign(Data(input.utf8)))
    }
}
