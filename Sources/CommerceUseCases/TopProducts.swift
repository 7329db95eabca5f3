import CommerceDomain
import Synchronization

/// The best sellers of the last few UTC days, read from per-day rollups (at most days × products
/// rows, never the order table) and cached briefly: a flash sale's thousand readers a second cost
/// one query per cache period.
public struct TopProducts: Sendable {
    let store: any ProductStore
    let clock: @Sendable () -> UnixMillis
    let cache: RankingCache

    public func callAsFunction(days: Int32, limit: Int32) async throws -> Ranking {
        let query = try RankingQuery.validate(days: days, limit: limit)
        let now = self.clock()
        let today = SalesDay(containing: now)
        if let cached = self.cache.lookup(query, today: today, now: now) { return cached }
        let first = query.firstDay(today: today)
        let sellers = try await self.store.topSellers(from: first, through: today, limit: query.limit)
        let ranking = Ranking(sellers: sellers, windowStart: first.start, windowEnd: today.start + SalesDay.millisPerDay)
        self.cache.store(ranking, for: query, today: today, now: now)
        return ranking
    }
}

/// Answers younger than `ttl` milliseconds, per query and day.
public final class RankingCache: Sendable {
    private struct Key: Hashable { let query: RankingQuery; let day: SalesDay }
    private let entries = Mutex<[Key: (ranking: Ranking, at: UnixMillis)]>([:])
    let ttl: Int64

    public init(ttlMillis: Int64 = 1_000) { self.ttl = ttlMillis }

    func lookup(_ query: RankingQuery, today: SalesDay, now: UnixMillis) -> Ranking? {
        guard self.ttl > 0 else { return nil }
        return self.entries.withLock { entries in
            guard let entry = entries[Key(query: query, day: today)], now - entry.at < self.ttl else { return nil }
            return entry.ranking
        }
    }

    func store(_ ranking: Ranking, for query: RankingQuery, today: SalesDay, now: UnixMillis) {
        guard self.ttl > 0 else { return }
        self.entries.withLock { entries in
            if entries.count > 256 { entries.removeAll() }
            entries[Key(query: query, day: today)] = (ranking, now)
        }
    }
}
