import CommerceDomain
import CommerceUseCases
import GRDB

extension SQLiteStore: RankingStore {
    /// The window's best sellers: for a window of ``WindowTotals/days`` days the first rows of its
    /// kept totals, for another the threshold algorithm over the rollups' per-day indexes
    /// (``TopSellersQuery``); names are looked up for the ranked few only. One read transaction:
    /// the names come from the rollups' snapshot.
    public func topSellers(in span: ClosedRange<SalesDay>, limit: Int, by rankBy: RankBy) async throws -> [TopSeller] {
        try await self.read { db in
            let totals: [SalesTally.Total]
            // `kept_from` is read only for a window the totals are kept for.
            if span.upperBound.rawValue - span.lowerBound.rawValue + 1 == WindowTotals.days,
                span.upperBound >= (try WindowTotals.keptFrom(db))
            {
                totals = try WindowTotals.top(db, endingOn: span.upperBound, limit: limit, by: rankBy)
            } else {
                totals = try TopSellersQuery.top(db, in: span, limit: limit, by: rankBy)
            }
            return try totals.map { total in
                TopSeller(
                    productID: total.productID,
                    name: try Self.productName(db, total.productID),
                    quantitySold: total.quantity,
                    orderCount: total.orders
                )
            }
        }
    }

    /// Whether `today`'s snapshot was taken (its day row exists).
    static func snapshotTaken(_ db: Database, today: SalesDay) throws -> Bool {
        try db.fetchFirst(direct: "SELECT 1 FROM ranking_snapshot_days WHERE day = ?", today.rawValue) { _ in true }
            ?? false
    }

    public func rankingSnapshotEntries(today: SalesDay) async throws -> [RankingSnapshot.Entry]? {
        try await self.read { db in
            guard try !Self.snapshotTaken(db, today: today) else { return nil }
            let span = RankingSnapshot.span(today: today)
            var rollups: [(day: SalesDay, productID: ProductID, quantity: Int64, orders: Int64)] = []
            try db.forEachRow(
                direct: "SELECT day, product_id, quantity, orders FROM product_daily_sales WHERE day BETWEEN ? AND ?",
                span.lowerBound.rawValue,
                span.upperBound.rawValue
            ) { row in
                rollups.append((SalesDay(rawValue: row.int64(0)), ProductID(row.int64(1)), row.int64(2), row.int64(3)))
            }
            return RankingSnapshot.entries(today: today, rollups: rollups)
        }
    }

    public func saveRankingSnapshot(
        today: SalesDay,
        at: UnixMillis,
        entries: [RankingSnapshot.Entry]
    ) -> PendingWrite<Bool> {
        self.transaction { db in
            // The day's row decides who takes it: another instance that got here first leaves nothing to do.
            try db.execute(
                direct: "INSERT INTO ranking_snapshot_days (day, taken_at) VALUES (?, ?) ON CONFLICT (day) DO NOTHING",
                today.rawValue,
                at
            )
            guard db.changesCount == 1 else { return false }
            for entry in entries {
                try db.execute(
                    direct: """
                        INSERT INTO ranking_snapshots (day, rank_by, days, position, product_id, quantity, orders) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    today.rawValue,
                    entry.rankBy.rawValue,
                    Int64(entry.days),
                    Int64(entry.position),
                    entry.productID.rawValue,
                    entry.quantity,
                    entry.orders
                )
            }
            // A week of snapshots is kept (a server answering across midnight may still read yesterday's).
            let oldest = today.adding(days: -7).rawValue
            try db.execute(direct: "DELETE FROM ranking_snapshots WHERE day < ?", oldest)
            try db.execute(direct: "DELETE FROM ranking_snapshot_days WHERE day < ?", oldest)
            return true
        }
    }

    public func pruneWindowTotals(keptFrom: SalesDay, limit: Int) -> PendingWrite<Int> {
        // Every instance asks each sweep: a database with nothing to prune takes no write lock.
        let due: (Database) throws -> Bool = { db in
            try db.fetchFirst(
                direct: "SELECT 1 FROM product_window_sales WHERE window_end < ? LIMIT 1",
                keptFrom.rawValue,
                read: { _ in true }
            ) != nil
        }
        return self.transaction(ifDue: due, otherwise: 0) { db in
            // First the mark (from now on no trigger writes a window before it), then the rows.
            try db.execute(
                direct: "UPDATE window_totals_kept SET kept_from = MAX(kept_from, ?) WHERE id = 1",
                keptFrom.rawValue
            )
            try db.execute(
                direct: """
                    DELETE FROM product_window_sales WHERE (window_end, product_id) IN (
                        SELECT window_end, product_id FROM product_window_sales WHERE window_end < ? LIMIT ?)
                    """,
                keptFrom.rawValue,
                Int64(limit)
            )
            return db.changesCount
        }
    }

    public func rankingSnapshot(today: SalesDay, days: Int, rankBy: RankBy, limit: Int) async throws -> [TopSeller]? {
        try await self.read { db in
            guard try Self.snapshotTaken(db, today: today) else {
                return nil
            }
            var sellers: [TopSeller] = []
            try db.forEachRow(
                direct: """
                    SELECT product_id, quantity, orders FROM ranking_snapshots
                    WHERE day = ? AND rank_by = ? AND days = ? AND position <= ? ORDER BY position
                    """,
                today.rawValue,
                rankBy.rawValue,
                Int64(days),
                Int64(limit)
            ) { row in
                sellers.append(
                    TopSeller(
                        productID: ProductID(row.int64(0)),
                        name: "",
                        quantitySold: row.int64(1),
                        orderCount: row.int64(2)
                    )
                )
            }
            for index in sellers.indices { sellers[index].name = try Self.productName(db, sellers[index].productID) }
            return sellers
        }
    }

    static func productName(_ db: Database, _ id: ProductID) throws -> String {
        try db.fetchFirst(direct: "SELECT name FROM products WHERE id = ?", id.rawValue) { $0.string(0) } ?? ""
    }

    /// Refuses a calendar other than the one the database's rollups count in, or re-counts them in
    /// it when the configuration says so.
    static func checkCalendar(_ db: Database, _ configuration: StoreConfiguration) throws {
        let recorded = try String.fetchOne(db, sql: "SELECT time_zone FROM shop_calendar WHERE id = 1") ?? "UTC"
        guard recorded != configuration.calendar.identifier else { return }
        guard configuration.recountRankings else {
            throw CalendarMismatch(database: recorded, configured: configuration.calendar.identifier)
        }
        try Self.recountRollups(db, in: configuration.calendar)
    }

    /// Rebuilds every daily rollup from the paid orders, counting days in `calendar`, drops the
    /// snapshots taken in the old one and records `calendar` as the database's.
    static func recountRollups(_ db: Database, in calendar: ShopCalendar) throws {
        var sums: [Key: (quantity: Int64, orders: Int64)] = [:]
        try db.forEachRow(
            direct: """
                SELECT COALESCE(o.paid_at, o.created_at), l.product_id, l.quantity FROM orders o JOIN order_lines l ON l.order_id = o.id
                WHERE o.status = ?
                """,
            OrderStatus.paid.rawValue
        ) { row in
            let key = Key(day: calendar.day(containing: row.int64(0)).rawValue, product: row.int64(1))
            sums[key, default: (0, 0)].quantity += row.int64(2)
            sums[key, default: (0, 0)].orders += 1
        }
        // The window totals follow the rollups by their triggers (from migration v13 on).
        try db.execute(
            sql: "DELETE FROM product_daily_sales; DELETE FROM ranking_snapshots; DELETE FROM ranking_snapshot_days"
        )
        for (key, sum) in sums {
            try db.execute(
                direct: "INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (?, ?, ?, ?)",
                key.day,
                key.product,
                sum.quantity,
                sum.orders
            )
        }
        try db.execute(sql: "UPDATE shop_calendar SET time_zone = ? WHERE id = 1", arguments: [calendar.identifier])
    }

    private struct Key: Hashable {
        var day: Int64
        var product: Int64
    }
}
