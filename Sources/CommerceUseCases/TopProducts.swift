import CommerceDomain
import Synchronization

/// The best sellers over calendar days of the shop's time zone.
///
/// `ROLLING` windows are read from the per-day rollups (at most days × products rows, never the
/// order table) and cached briefly: a flash sale's thousand readers a second cost one query per
/// cache period. `COMPLETED_DAYS` windows are read from the day's snapshot (``RankingSnapshot``),
/// taken by ``TakeRankingSnapshot`` when it is first needed that day, and never change during the day.
public struct TopProducts: Sendable {
    let store: any RankingStore
    let clock: @Sendable () -> UnixMillis
    let calendar: ShopCalendar
    let cache: RankingCache
    let snapshots: TakeRankingSnapshot

    public func callAsFunction(_ query: RankingQuery) async throws -> Ranking {
        let now = self.clock()
        let today = self.calendar.day(containing: now)
        if let cached = self.cache.lookup(query, today: today, now: now) { return cached }
        let span = query.span(today: today)
        let sellers: [TopSeller]
        switch query.window {
        case .rolling:
            sellers = try await self.store.topSellers(in: span, limit: query.limit, by: query.rankBy)
        case .completedDays:
            if let snapshot = try await self.store.rankingSnapshot(
                today: today,
                days: query.days,
                rankBy: query.rankBy,
                limit: query.limit
            ) {
                sellers = snapshot
            } else {
                try await self.snapshots(today: today)
                guard
                    let snapshot = try await self.store.rankingSnapshot(
                        today: today,
                        days: query.days,
                        rankBy: query.rankBy,
                        limit: query.limit
                    )
                else {
                    throw SnapshotMissing(day: today)  // reaches the caller as INTERNAL
                }
                sellers = snapshot
            }
        }
        let ranking = Ranking(
            sellers: sellers,
            windowStart: self.calendar.start(of: span.lowerBound),
            windowEnd: self.calendar.start(of: span.upperBound.adding(days: 1))
        )
        self.cache.store(ranking, for: query, today: today, now: now)
        return ranking
    }
}

/// Takes today's ranking snapshot unless it exists: run by the server after each midnight of the
/// shop's calendar, and by TopProducts if a `COMPLETED_DAYS` query comes first. Instances sharing a
/// database take it once between them: the store's insert of the day's row arbitrates.
public struct TakeRankingSnapshot: Sendable {
    let store: any RankingStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis
    let calendar: ShopCalendar
    let taken: LatestSnapshot

    /// The snapshot for the current day. - Returns: whether this call took it (false: it existed).
    @discardableResult
    public func callAsFunction() async throws -> Bool {
        try await self(today: self.calendar.day(containing: self.clock()))
    }

    @discardableResult
    func callAsFunction(today: SalesDay) async throws -> Bool {
        if self.taken.covers(today) { return false }
        let (store, clock) = (self.store, self.clock)
        // Ranked on a read lane; only the save holds the writer, briefly.
        guard let entries = try await store.rankingSnapshotEntries(today: today) else {
            self.taken.record(today)
            return false
        }
        let took = try await self.queues.writeNew {
            store.saveRankingSnapshot(today: today, at: clock(), entries: entries)
        }
        self.taken.record(today)
        return took
    }
}

/// Prunes the kept window totals a week back, a batch per transaction: run by the server's sweep.
/// TopProducts reads the window ending today; a server answering across midnight may still read
/// yesterday's, so a week is kept.
public struct PruneWindowTotals: Sendable {
    /// Windows ending this many days before today and earlier are not kept.
    public static let keptDays = 7
    static let batch = 10_000
    let store: any RankingStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis
    let calendar: ShopCalendar

    /// - Returns: how many rows were deleted.
    @discardableResult
    public func callAsFunction() async throws -> Int {
        let keptFrom = self.calendar.day(containing: self.clock()).adding(days: -Self.keptDays)
        let store = self.store
        var total = 0
        while true {
            let deleted = try await self.queues.writeNew {
                store.pruneWindowTotals(keptFrom: keptFrom, limit: Self.batch)
            }
            total += deleted
            if deleted < Self.batch { return total }
        }
    }
}

struct SnapshotMissing: Error, CustomStringConvertible {
    let day: SalesDay
    var description: String { "the ranking snapshot of \(self.day) is missing after it was taken" }
}

/// The latest day this process knows has its snapshot.
final class LatestSnapshot: Sendable {
    private let day = Mutex<SalesDay?>(nil)
    func covers(_ today: SalesDay) -> Bool { self.day.withLock { $0 == today } }
    func record(_ today: SalesDay) { self.day.withLock { $0 = today } }
}

/// Answers younger than `ttl` milliseconds, per query and day; a `COMPLETED_DAYS` answer holds for the whole day.
public final class RankingCache: Sendable {
    private struct Key: Hashable {
        let query: RankingQuery
        let day: SalesDay
    }
    private let entries = Mutex<[Key: (ranking: Ranking, at: UnixMillis)]>([:])
    let ttl: Int64

    public init(ttlMillis: Int64 = 1_000) { self.ttl = ttlMillis }

    func lookup(_ query: RankingQuery, today: SalesDay, now: UnixMillis) -> Ranking? {
        guard self.ttl > 0 || query.window == .completedDays else { return nil }
        return self.entries.withLock { entries in
            guard let entry = entries[Key(query: query, day: today)],
                query.window == .completedDays || now - entry.at < self.ttl
            else {
                return nil
            }
            return entry.ranking
        }
    }

    func store(_ ranking: Ranking, for query: RankingQuery, today: SalesDay, now: UnixMillis) {
        guard self.ttl > 0 || query.window == .completedDays else { return }
        self.entries.withLock { entries in
            if entries.count > 256 { entries.removeAll() }
            entries[Key(query: query, day: today)] = (ranking, now)
        }
    }
}
