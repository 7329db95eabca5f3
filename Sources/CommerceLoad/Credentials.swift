import CommerceAuth
import CommerceDomain
import Foundation
import FrameRPC
import FrameRPCClient

/// The credential each call of a run carries: the client's own (a service token) by default, or,
/// with `--user-tokens`, the token of the user the call acts for, minted once before the run.
struct Credentials: Sendable {
    private let byUser: [Int64: CallOptions]

    init() { self.byUser = [:] }

    init(keys path: String, users: [Int64]) throws {
        let keys = try TokenKeySet.load(path: path)
        guard let key = keys.signingKey else { throw FixtureError(message: "no key in \(path) can sign user tokens") }
        let now = Int64(Date().timeIntervalSince1970)
        var byUser: [Int64: CallOptions] = [:]
        for user in users {
            var options = CallOptions()
            options.metadata[MetadataKey.authorization] =
                "Bearer \(try AccessToken.user(UserID(user), now: now, ttl: 86_400).signed(with: key))"
            byUser[user] = options
        }
        self.byUser = byUser
    }

    /// The call options for a call acting for `user`.
    func options(_ user: Int64) -> CallOptions { self.byUser[user] ?? CallOptions() }
}
