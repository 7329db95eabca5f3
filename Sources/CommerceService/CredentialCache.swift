import CommerceAuth
import CommerceDomain
import NIOConcurrencyHelpers

/// Credentials already verified, so that a client sending the same token on every call pays for
/// its verification once, on whichever connection it comes. Only what verified is stored (a forged
/// token never is), so entries grow with real tokens, not with an attacker's; each shard still
/// holds at most ``entriesPerShard`` and is emptied when full. Expiry is checked again at each use.
final class CredentialCache: Sendable {
    static let shards = 16
    static let entriesPerShard = 1_024

    struct Entry: Sendable {
        var caller: Caller
        /// nil for the static admin token, which does not expire.
        var token: AccessToken?
    }

    private let storage: [NIOLockedValueBox<[String: Entry]>]

    init() {
        self.storage = (0..<Self.shards).map { _ in NIOLockedValueBox([:]) }
    }

    subscript(credential: String) -> Entry? {
        self.shard(credential).withLockedValue { $0[credential] }
    }

    func store(_ entry: Entry, for credential: String) {
        self.shard(credential).withLockedValue { entries in
            if entries.count >= Self.entriesPerShard && entries[credential] == nil {
                entries.removeAll(keepingCapacity: true)
            }
            entries[credential] = entry
        }
    }

    func removeAll() {
        for shard in self.storage { shard.withLockedValue { $0.removeAll() } }
    }

    private func shard(_ credential: String) -> NIOLockedValueBox<[String: Entry]> {
        // A token ends with its signature: its last byte is as good as random.
        self.storage[Int(credential.utf8.last ?? 0) % Self.shards]
    }
}
