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
        let measure = rankBy == .units ? "quantity" : "orders"
        let sorted = try db.cachedStatement(
            sql: """
                SELECT product_id, quantity, orders FROM product_daily_sales WHERE day = ?
                ORDER BY \(measure) DESC LIMIT ? OFFSET ?
                """
        )
        let point = try db.cachedStatement(
            sql: "SELECT quantity, orders FROM product_daily_sales WHERE day = ? AND product_id = ?"
        )
        var search = TopSellersSearch(span: span, limit: limit, by: rankBy)
        while true {
            for day in search.openDays {
                let rows = try Row.fetchAll(sorted, arguments: [day.rawValue, search.batch, search.offset])
                search.record(
                    rows.lazy.map { row -> TopSellersSearch.Rollup in (ProductID(row[0] as Int64), row[1], row[2]) },
                    of: day
                )
            }
            for (product, days) in search.incomplete {
                var rollups: [(day: SalesDay, quantity: Int64, orders: Int64)] = []
                for day in days {
                    if let sums = try Row.fetchOne(point, arguments: [day.rawValue, product.rawValue]) {
                        rollups.append((day, sums[0], sums[1]))
                    }
                }
                search.complete(product, with: rollups)
            }
            if let best = search.settle() { return best }
        }
    }
}
