import CommerceDomain
import CommerceUseCases
import PostgresNIO

extension PostgresStore: RankingStore {
    /// The length of the windows whose totals are kept (migration v3: the last week's windows).
    static let windowTotalsDays = 3

    /// A three-day window is read from its kept totals, best first, a few rows, through the domain's
    /// ``SalesTally`` as in the SQLite store, so both rank by the same rule (ties included); another
    /// by the domain's threshold search (``TopSellersSearch``), one round trip per round for the
    /// days' next rows and one for the rollups it lacks. Names for the ranked few only, in the same snapshot.
    public func topSellers(in span: ClosedRange<SalesDay>, limit: Int, by rankBy: RankBy) async throws -> [TopSeller] {
        guard limit > 0 else { return [] }
        return try await self.read { session in
            let (first, end) = (span.lowerBound.rawValue, span.upperBound.rawValue)
            let ranked: [SalesTally.Total]
            // `kept_from` is read only for a window the totals are kept for.
            if end - first + 1 == Self.windowTotalsDays,
                end
                    >= (try await session.first("SELECT kept_from FROM window_totals_kept WHERE id = 1", as: Int64.self)
                        ?? 0)
            {
                // A product whose every sale was refunded is not ranked: its row is past the range read.
                let (sold, order) =
                    rankBy == .units
                    ? ("quantity", "quantity DESC, orders DESC") : ("orders", "orders DESC, quantity DESC")
                var tally = SalesTally()
                for (product, quantity, orders) in try await session.all(
                    """
                    SELECT product_id, quantity, orders FROM product_window_sales WHERE window_end = \(end) AND \(unescaped: sold) > 0
                    ORDER BY \(unescaped: order), product_id LIMIT \(Int64(limit))
                    """,
                    as: (Int64, Int64, Int64).self
                ) {
                    tally.add(ProductID(product), quantity: quantity, orders: orders)
                }
                ranked = tally.top(limit, by: rankBy)
            } else {
                ranked = try await Self.search(session, span: span, limit: limit, by: rankBy)
            }
            let names = try await Self.productNames(session, ranked.map(\.productID))
            return ranked.map {
                TopSeller(
                    productID: $0.productID,
                    name: names[$0.productID] ?? "",
                    quantitySold: $0.quantity,
                    orderCount: $0.orders
                )
            }
        }
    }

    /// Runs ``TopSellersSearch`` over the rollups' per-day indexes (migration v4).
    private static func search(
        _ session: Session,
        span: ClosedRange<SalesDay>,
        limit: Int,
        by rankBy: RankBy
    ) async throws -> [SalesTally.Total] {
        let measure = rankBy == .units ? "quantity" : "orders"
        var search = TopSellersSearch(span: span, limit: limit, by: rankBy)
        while true {
            let open = search.openDays
            var rows: [SalesDay: [TopSellersSearch.Rollup]] = [:]
            for (day, product, quantity, orders) in try await session.all(
                """
                SELECT d.day, s.product_id, s.quantity, s.orders FROM unnest(\(open.map(\.rawValue))::int8[]) AS d(day)
                CROSS JOIN LATERAL (
                    SELECT product_id, quantity, orders FROM product_daily_sales WHERE day = d.day
                    ORDER BY \(unescaped: measure) DESC, product_id LIMIT \(Int64(search.batch)) OFFSET \(Int64(search.offset))
                ) s
                """,
                as: (Int64, Int64, Int64, Int64).self
            ) {
                rows[SalesDay(rawValue: day), default: []].append((ProductID(product), quantity, orders))
            }
            for day in open { search.record(rows[day] ?? [], of: day) }
            let missing = search.incomplete.flatMap { product, days in days.map { ($0.rawValue, product.rawValue) } }
            if !missing.isEmpty {
                var found: [ProductID: [(day: SalesDay, quantity: Int64, orders: Int64)]] = [:]
                for (day, product, quantity, orders) in try await session.all(
                    """
                    SELECT r.day, r.product_id, r.quantity, r.orders FROM unnest(\(missing.map(\.0))::int8[], \(missing.map(\.1))::int8[]) AS m(day, product_id)
                    JOIN product_daily_sales r ON r.day = m.day AND r.product_id = m.product_id
                    """,
                    as: (Int64, Int64, Int64, Int64).self
                ) {
                    found[ProductID(product), default: []].append((SalesDay(rawValue: day), quantity, orders))
                }
                for (product, rollups) in found { search.complete(product, with: rollups) }
            }
            if let best = search.settle() { return best }
        }
    }

    public func pruneWindowTotals(keptFrom: SalesDay, limit: Int) -> PendingWrite<Int> {
        self.transaction(
            ifDue: { session in
                try await session.first(
                    "SELECT 1::BIGINT FROM product_window_sales WHERE window_end < \(keptFrom.rawValue) LIMIT 1",
                    as: Int64.self
                ) != nil
            },
            otherwise: 0
        ) { session in
            // First the mark (from its commit no trigger writes a window before it), then the rows.
            try await session.write(
                "UPDATE window_totals_kept SET kept_from = GREATEST(kept_from, \(keptFrom.rawValue)) WHERE id = 1"
            )
            return try await session.write(
                """
                DELETE FROM product_window_sales WHERE (window_end, product_id) IN (
                    SELECT window_end, product_id FROM product_window_sales WHERE window_end < \(keptFrom.rawValue)
                    LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING window_end
                """,
                returning: Int64.self
            ).count
        }
    }

    /// Whether `today`'s snapshot was taken (its day row exists).
    static func snapshotTaken(_ session: Session, today: SalesDay) async throws -> Bool {
        try await session.first("SELECT day FROM ranking_snapshot_days WHERE day = \(today.rawValue)", as: Int64.self)
            != nil
    }

    public func rankingSnapshotEntries(today: SalesDay) async throws -> [RankingSnapshot.Entry]? {
        try await self.read { session in
            guard try await !Self.snapshotTaken(session, today: today) else { return nil }
            let span = RankingSnapshot.span(today: today)
            let rollups = try await session.all(
                """
                SELECT day, product_id, quantity, orders FROM product_daily_sales WHERE day BETWEEN \(span.lowerBound.rawValue) AND \(span.upperBound.rawValue)
                """,
                as: (Int64, Int64, Int64, Int64).self
            ).map {
                (day: SalesDay(rawValue: $0.0), productID: ProductID($0.1), quantity: $0.2, orders: $0.3)
            }
            return RankingSnapshot.entries(today: today, rollups: rollups)
        }
    }

    public func saveRankingSnapshot(
        today: SalesDay,
        at: UnixMillis,
        entries: [RankingSnapshot.Entry]
    ) -> PendingWrite<Bool> {
        self.transaction { session in
            // The day's row decides who takes it: another instance that got here first leaves nothing to do.
            let taken = try await session.write(
                """
                INSERT INTO ranking_snapshot_days (day, taken_at) VALUES (\(today.rawValue), \(at)) ON CONFLICT (day) DO NOTHING RETURNING day
                """,
                returning: Int64.self
            )
            guard !taken.isEmpty else { return false }
            // Every entry in one statement (3,000 at most): one round trip while the lane is held.
            if !entries.isEmpty {
                try await session.write(
                    """
                    INSERT INTO ranking_snapshots (day, rank_by, days, position, product_id, quantity, orders)
                    SELECT \(today.rawValue), * FROM unnest(\(entries.map(\.rankBy.rawValue))::text[],
                        \(entries.map { Int64($0.days) })::int8[], \(entries.map { Int64($0.position) })::int8[],
                        \(entries.map(\.productID.rawValue))::int8[], \(entries.map(\.quantity))::int8[], \(entries.map(\.orders))::int8[])
                    """
                )
            }
            // A week of snapshots is kept; their entries go with their day.
            try await session.write("DELETE FROM ranking_snapshot_days WHERE day < \(today.adding(days: -7).rawValue)")
            return true
        }
    }

    public func rankingSnapshot(today: SalesDay, days: Int, rankBy: RankBy, limit: Int) async throws -> [TopSeller]? {
        try await self.read { session in
            guard try await Self.snapshotTaken(session, today: today) else {
                return nil
            }
            let rows = try await session.all(
                """
                SELECT s.product_id, p.name, s.quantity, s.orders FROM ranking_snapshots s JOIN products p ON p.id = s.product_id
                WHERE s.day = \(today.rawValue) AND s.rank_by = \(rankBy.rawValue) AND s.days = \(Int64(days)) AND s.position <= \(Int64(limit))
                ORDER BY s.position
                """,
                as: (Int64, String, Int64, Int64).self
            )
            return rows.map { TopSeller(productID: ProductID($0.0), name: $0.1, quantitySold: $0.2, orderCount: $0.3) }
        }
    }

    /// The names of `ids`, in one round trip.
    static func productNames(_ session: Session, _ ids: [ProductID]) async throws -> [ProductID: String] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await session.all(
            "SELECT id, name FROM products WHERE id = ANY(\(ids.map(\.rawValue)))",
            as: (Int64, String).self
        )
        return Dictionary(rows.map { (ProductID($0.0), $0.1) }, uniquingKeysWith: { first, _ in first })
    }

    /// Refuses a calendar other than the one the database's rollups count in, or re-counts them in
    /// it when the configuration says so.
    func checkCalendar(_ session: Session) async throws {
        let recorded =
            try await session.first("SELECT time_zone FROM shop_calendar WHERE id = 1", as: String.self) ?? "UTC"
        let configured = self.configuration.calendar
        guard recorded != configured.identifier else { return }
        guard self.configuration.recountRankings else {
            throw CalendarMismatch(database: recorded, configured: configured.identifier)
        }
        try await session.control("BEGIN")
        do {
            // Every writer of rollups waits while they are re-counted.
            try await session.control("LOCK TABLE product_daily_sales IN EXCLUSIVE MODE")
            var sums: [Key: (quantity: Int64, orders: Int64)] = [:]
            for (at, product, quantity) in try await session.all(
                """
                SELECT COALESCE(o.paid_at, o.created_at), l.product_id, l.quantity FROM orders o JOIN order_lines l ON l.order_id = o.id
                WHERE o.status = 'PAID'
                """,
                as: (Int64, Int64, Int64).self
            ) {
                let key = Key(day: configured.day(containing: at).rawValue, product: product)
                sums[key, default: (0, 0)].quantity += quantity
                sums[key, default: (0, 0)].orders += 1
            }
            try await session.write("DELETE FROM product_daily_sales")  // its trigger empties the window totals
            try await session.write("DELETE FROM ranking_snapshot_days")
            for (key, sum) in sums {
                try await session.write(
                    """
                    INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (\(key.day), \(key.product), \(sum.quantity), \(sum.orders))
                    """
                )
            }
            try await session.write("UPDATE shop_calendar SET time_zone = \(configured.identifier) WHERE id = 1")
            try await session.control("COMMIT")
        } catch {
            try? await session.control("ROLLBACK")
            throw error
        }
    }

    private struct Key: Hashable {
        var day: Int64
        var product: Int64
    }

    /// The applied migrations, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await self.withSession { session in try await PostgresSchema.applied(session) }
    }
}
