import CommerceDomain
import GRDB

/// The best sellers of a window of days without reading every product's rollups: Fagin's threshold
/// algorithm over the per-day indexes of the rollups by units and by orders (migration v12).
///
/// Each day's rollups are read best first, a batch at a time, side by side. Every product seen is
/// summed exactly over the window (a point lookup per day). A product not yet seen sells on each
/// day at most what that day's list had reached (nothing on a day whose list is exhausted), so
/// once the `limit`-th best exact total is above the sum of those bounds, no unseen product can
/// rank: the answer is exact. A window whose best sellers stand out takes a few dozen lookups
/// however many products sold in it (10 M orders: `benchmarks/README.md`, session 19); a flat
/// window reads further, at worst all of it, as the plain scan did.
enum TopSellersQuery {
    static func top(
        _ db: Database,
        in span: ClosedRange<SalesDay>,
        limit: Int,
        by rankBy: RankBy
    ) throws -> [SalesTally.Total] {
        guard limit > 0 else { return [] }
        let days = Array(span.lowerBound.rawValue...span.upperBound.rawValue)
        let measure = rankBy == .units ? "quantity" : "orders"
        let sorted = try db.cachedStatement(
            sql:
                "SELECT product_id, \(measure) FROM product_daily_sales WHERE day = ? ORDER BY \(measure) DESC LIMIT ? OFFSET ?"
        )
        let point = try db.cachedStatement(
            sql: "SELECT quantity, orders FROM product_daily_sales WHERE day = ? AND product_id = ?"
        )
        var read = [Int](repeating: 0, count: days.count)
        var bound = [Int64](repeating: .max, count: days.count)
        var exhausted = [Bool](repeating: false, count: days.count)
        var totals: [ProductID: (quantity: Int64, orders: Int64)] = [:]
        var batch = max(16, limit * 4)
        while true {
            for (index, day) in days.enumerated() where !exhausted[index] {
                let rows = try Row.fetchAll(sorted, arguments: [day, batch, read[index]])
                read[index] += rows.count
                if rows.count < batch { exhausted[index] = true }
                bound[index] = exhausted[index] ? 0 : rows.last?[1] ?? 0
                for row in rows {
                    let product = ProductID(row[0] as Int64)
                    guard totals[product] == nil else { continue }
                    var total: (quantity: Int64, orders: Int64) = (0, 0)
                    for other in days {
                        if let sums = try Row.fetchOne(point, arguments: [other, product.rawValue]) {
                            total.quantity += sums[0] as Int64
                            total.orders += sums[1] as Int64
                        }
                    }
                    totals[product] = total
                }
            }
            var tally = SalesTally()
            for (product, total) in totals { tally.add(product, quantity: total.quantity, orders: total.orders) }
            let best = tally.top(limit, by: rankBy)
            if exhausted.allSatisfy({ $0 }) { return best }
            let threshold = bound.reduce(0, +)
            if best.count == limit, let last = best.last, (rankBy == .units ? last.quantity : last.orders) > threshold {
                return best
            }
            batch *= 2
        }
    }
}
