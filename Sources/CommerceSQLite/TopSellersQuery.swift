import CommerceDomain
import GRDB

/// SQLite's answers to the threshold search (``TopSellersSearch``, the rule) over the per-day
/// indexes of the rollups by units and by orders (migration v12): a day's next rows best first
/// (ties by product id, the key the index ends with, so the same order every round), and a
/// product's rollup on one day by its key.
enum TopSellersQuery {
    static func top(
        _ db: Database,
        in span: ClosedRange<SalesDay>,
        limit: Int,
        by rankBy: RankBy
    ) throws -> [SalesTally.Total] {
        guard limit > 0 else { return [] }
        var search = TopSellersSearch(span: span, limit: limit, by: rankBy)
        var rows: [TopSellersSearch.Rollup] = []
        var rollups: [(day: SalesDay, quantity: Int64, orders: Int64)] = []
        let read = { (row: DirectRow) in rows.append((ProductID(row.int64(0)), row.int64(1), row.int64(2))) }
        while true {
            for day in search.openDays {
                rows.removeAll(keepingCapacity: true)
                let sql: StaticString =
                    rankBy == .units
                    ? """
                    SELECT product_id, quantity, orders FROM product_daily_sales WHERE day = ?
                    ORDER BY quantity DESC LIMIT ? OFFSET ?
                    """
                    : """
                    SELECT product_id, quantity, orders FROM product_daily_sales WHERE day = ?
                    ORDER BY orders DESC LIMIT ? OFFSET ?
                    """
                try db.forEachRow(direct: sql, day.rawValue, Int64(search.batch), Int64(search.offset), row: read)
                search.record(rows, of: day)
            }
            for (product, days) in search.incomplete {
                rollups.removeAll(keepingCapacity: true)
                for day in days {
                    if let sums = try db.fetchFirst(
                        direct: "SELECT quantity, orders FROM product_daily_sales WHERE day = ? AND product_id = ?",
                        day.rawValue,
                        product.rawValue,
                        read: { ($0.int64(0), $0.int64(1)) }
                    ) {
                        rollups.append((day, sums.0, sums.1))
                    }
                }
                search.complete(product, with: rollups)
            }
            if let best = search.settle() { return best }
        }
    }
}
