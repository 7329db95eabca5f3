import CommerceAuth
import CommerceDomain
import CommerceService
import Foundation

/// A key set made for the test run and the tokens signed with it: what a test gives the gate and
/// what its clients send.
public struct TestCredentials: Sendable {
    /// One HS256 key: a shared secret, cheap to check.
    public let keys: TokenKeySet
    /// The static admin token (`--admin-token`).
    public let adminToken: String

    public init(adminToken: String = "test-admin-token") {
        self.keys = try! TokenKeySet([TokenKey.generate(id: "test-key", algorithm: .hs256)])
        self.adminToken = adminToken
    }

    public var auth: AuthMode { .tokens(self.keys) }

    /// A token for `subject` with `scopes`, valid for `ttl` seconds from now.
    public func token(subject: String, scopes: Set<Scope>, ttl: Int64 = 86_400) -> String {
        let now = Int64(Date().timeIntervalSince1970)
        return try! AccessToken(subject: subject, scopes: scopes, expiresAt: now + ttl, notBefore: now, issuedAt: now)
            .signed(with: self.keys.signingKey!)
    }

    /// A storefront's: acts for any user it names.
    public var serviceToken: String { self.token(subject: "test-storefront", scopes: [.service]) }

    /// User `id`'s own.
    public func userToken(_ id: Int64) -> String { self.token(subject: "\(id)", scopes: [.user]) }
}
