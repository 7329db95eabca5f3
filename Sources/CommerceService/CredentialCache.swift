import CommerceAuth
import CommerceDomain
import NIOConcurrencyHelpers
import Synchronization

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
    /// Moves on at every ``removeAll()`` (a key reload): a verification that began before it must
    /// not store what the old keys said after the cache was emptied.
    private let generations = Atomic<UInt64>(0)

    /// Read before verifying; pass it to ``store(_:for:generation:)``.
    var generation: UInt64 { self.generations.load(ordering: .acquiring) }

    init() {
        self.storage = (0..<Self.shards).map { _ in NIOLockedValueBox([:]) }
    }

    subscript(credential: String) -> Entry? {
        self.shard(credential).withLockedValue { $0[credential] }
    }

    /// Stores `entry` unless the cache was emptied since `generation` was read.
    func store(_ entry: Entry, for credential: String, generation: UInt64) {
        self.shard(credential).withLockedValue { entries in
            // Checked under the shard's lock: a reload moves the generation before it empties the
            // shards, so an entry stored before the move is emptied with them.
            guard self.generations.load(ordering: .acquiring) == generation else { return }
            if entries.count >= Self.entriesPerShard && entries[credential] == nil {
                entries.removeAll(keepingCapacity: true)
            }
            entries[credential] = entry
        }
    }

    func removeAll() {
        self.generations.add(1, ordering: .releasing)
        for shard in self.storage { shard.withLockedValue { $0.removeAll() } }
    }

    private func shard(_ credential: String) -> NIOLockedValueBox<[String: Entry]> {
        // A token ends with its signature: its last byte is as good as random.
        self.storage[Int(credential.utf8.last ?? 0) % Self.shards]
    }
}
