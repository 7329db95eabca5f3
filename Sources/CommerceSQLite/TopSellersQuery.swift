import CommerceDomain
import GRDB

/// The best sellers of a window of days without reading every product's rollups: Fagin's threshold
/// algorithm over the per-day indexes of the rollups by units and by orders (migration v12).
///
/// Each day's rollups are read best first, a batch at a time, side by side. What the batches show
/// of a product is kept; once a round is read, every product met is completed exactly: from the
/// batches alone where they cover every day of the window (a day whose list is exhausted is
/// covered), else with a point lookup for each day missing. A product not yet met sells on each
/// day at most what that day's list had come down to (nothing on an exhausted day), so once the
/// `limit`-th best exact total is above the sum of those bounds, no product not yet met can rank:
/// the answer is exact. A window whose best sellers stand out settles in a round or two however
/// many products sold in it; a flat one reads further, at worst all of it, as a plain scan does
/// (10 M orders: `benchmarks/README.md`, session 19).
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
            sql: """
                SELECT product_id, quantity, orders FROM product_daily_sales WHERE day = ?
                ORDER BY \(measure) DESC LIMIT ? OFFSET ?
                """
        )
        let point = try db.cachedStatement(
            sql: "SELECT quantity, orders FROM product_daily_sales WHERE day = ? AND product_id = ?"
        )
        var read = [Int](repeating: 0, count: days.count)
        var bound = [Int64](repeating: .max, count: days.count)
        var exhausted = [Bool](repeating: false, count: days.count)
        // Products met: exact totals, and partial ones with the days their batches showed.
        var exact: [ProductID: (quantity: Int64, orders: Int64)] = [:]
        var partial: [ProductID: (quantity: Int64, orders: Int64, days: Set<Int>)] = [:]
        var batch = max(64, limit * 8)
        while true {
            for (index, day) in days.enumerated() where !exhausted[index] {
                let rows = try Row.fetchAll(sorted, arguments: [day, batch, read[index]])
                read[index] += rows.count
                if rows.count < batch { exhausted[index] = true }
                bound[index] = exhausted[index] ? 0 : rows.last?[rankBy == .units ? 1 : 2] ?? 0
                for row in rows {
                    let product = ProductID(row[0] as Int64)
                    guard exact[product] == nil else { continue }
                    partial[product, default: (0, 0, [])].quantity += row[1] as Int64
                    partial[product]!.orders += row[2] as Int64
                    partial[product]!.days.insert(index)
                }
            }
            for (product, seen) in partial {
                var total = (quantity: seen.quantity, orders: seen.orders)
                for (index, day) in days.enumerated() where !exhausted[index] && !seen.days.contains(index) {
                    if let sums = try Row.fetchOne(point, arguments: [day, product.rawValue]) {
                        total.quantity += sums[0] as Int64
                        total.orders += sums[1] as Int64
                    }
                }
                exact[product] = total
            }
            partial.removeAll(keepingCapacity: true)
            var tally = SalesTally()
            for (product, total) in exact { tally.add(product, quantity: total.quantity, orders: total.orders) }
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
