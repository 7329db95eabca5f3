import CommerceDomain
import GRDB

/// Every product's sales over each window of ``days`` calendar days, by the window's last day:
/// the default TopProducts question (the best sellers of the last three days) answered from the
/// first rows of one index, however many orders and products the window holds.
///
/// Only windows ending on or after `window_totals_kept.kept_from` are kept: TopProducts reads the
/// window ending today, so older ones are pruned (``SQLiteStore/pruneWindowTotals(keptFrom:limit:)``,
/// a week back) and the table holds about ten windows of products however many days the shop has
/// sold; a window ending before `kept_from` is ranked from the rollups.
///
/// Triggers on `product_daily_sales` keep the totals (one statement per window, each on one row
/// by its key: a range would make SQLite build a transient table on the committing thread): a day's rollup row adds to the windows ending
/// that day and the next two, a change to it changes them, a deleted one leaves them. So every
/// writer of rollups (an order, a refund, `seed`, a re-count) keeps them without knowing of them,
/// and the audit checks them against the rollups. A window never read (one ending long ago) costs
/// only its rows.
enum WindowTotals {
    /// The window's length the totals are kept for; other windows are ranked by ``TopSellersQuery``.
    static let days = 3

    /// Migration v13: the table, its two best-first indexes, the triggers, and the totals of the
    /// rollups already there.
    static let schema = """
        CREATE TABLE product_window_sales (
            window_end INTEGER NOT NULL,
            product_id INTEGER NOT NULL REFERENCES products(id),
            quantity   INTEGER NOT NULL CHECK (quantity >= 0),
            orders     INTEGER NOT NULL CHECK (orders >= 0),
            PRIMARY KEY (window_end, product_id)
        ) WITHOUT ROWID;
        CREATE TABLE window_totals_kept (
            id        INTEGER PRIMARY KEY CHECK (id = 1),
            kept_from INTEGER NOT NULL
        );
        INSERT INTO window_totals_kept (id, kept_from) VALUES (1, 0);
        CREATE INDEX product_window_sales_by_units ON product_window_sales(window_end, quantity DESC, orders DESC, product_id);
        CREATE INDEX product_window_sales_by_orders ON product_window_sales(window_end, orders DESC, quantity DESC, product_id);
        CREATE TRIGGER product_daily_sales_keys_fixed BEFORE UPDATE OF day, product_id ON product_daily_sales
        BEGIN SELECT RAISE(ABORT, 'a rollup row keeps its day and product'); END;
        CREATE TRIGGER product_window_sales_add AFTER INSERT ON product_daily_sales
        BEGIN
            INSERT INTO product_window_sales (window_end, product_id, quantity, orders)
            SELECT new.day, new.product_id, new.quantity, new.orders
            WHERE new.day >= (SELECT kept_from FROM window_totals_kept WHERE id = 1)
            ON CONFLICT (window_end, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, orders = orders + excluded.orders;
            INSERT INTO product_window_sales (window_end, product_id, quantity, orders)
            SELECT new.day + 1, new.product_id, new.quantity, new.orders
            WHERE new.day + 1 >= (SELECT kept_from FROM window_totals_kept WHERE id = 1)
            ON CONFLICT (window_end, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, orders = orders + excluded.orders;
            INSERT INTO product_window_sales (window_end, product_id, quantity, orders)
            SELECT new.day + 2, new.product_id, new.quantity, new.orders
            WHERE new.day + 2 >= (SELECT kept_from FROM window_totals_kept WHERE id = 1)
            ON CONFLICT (window_end, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, orders = orders + excluded.orders;
        END;
        CREATE TRIGGER product_window_sales_change AFTER UPDATE OF quantity, orders ON product_daily_sales
        BEGIN
            UPDATE product_window_sales
            SET quantity = quantity + new.quantity - old.quantity, orders = orders + new.orders - old.orders
            WHERE window_end = new.day AND product_id = new.product_id;
            UPDATE product_window_sales
            SET quantity = quantity + new.quantity - old.quantity, orders = orders + new.orders - old.orders
            WHERE window_end = new.day + 1 AND product_id = new.product_id;
            UPDATE product_window_sales
            SET quantity = quantity + new.quantity - old.quantity, orders = orders + new.orders - old.orders
            WHERE window_end = new.day + 2 AND product_id = new.product_id;
        END;
        CREATE TRIGGER product_window_sales_remove AFTER DELETE ON product_daily_sales
        BEGIN
            UPDATE product_window_sales SET quantity = quantity - old.quantity, orders = orders - old.orders
            WHERE window_end = old.day AND product_id = old.product_id;
            UPDATE product_window_sales SET quantity = quantity - old.quantity, orders = orders - old.orders
            WHERE window_end = old.day + 1 AND product_id = old.product_id;
            UPDATE product_window_sales SET quantity = quantity - old.quantity, orders = orders - old.orders
            WHERE window_end = old.day + 2 AND product_id = old.product_id;
        END;
        INSERT INTO product_window_sales (window_end, product_id, quantity, orders)
        SELECT d.day + k.offset, d.product_id, SUM(d.quantity), SUM(d.orders)
        FROM product_daily_sales d, (SELECT 0 AS offset UNION ALL SELECT 1 UNION ALL SELECT 2) k
        GROUP BY 1, 2;
        """

    /// The first day whose window's totals are kept.
    static func keptFrom(_ db: Database) throws -> SalesDay {
        SalesDay(
            rawValue: try db.fetchFirst(direct: "SELECT kept_from FROM window_totals_kept WHERE id = 1") {
                $0.int64(0)
            } ?? 0
        )
    }

    /// The first `limit` products of the window ending `end`, in the ranking's order: the index's
    /// order is the domain's (``SalesTally/ranksBefore(_:_:by:)``), which ranks the rows read again.
    static func top(_ db: Database, endingOn end: SalesDay, limit: Int, by rankBy: RankBy) throws -> [SalesTally.Total]
    {
        // A product whose every sale was refunded is not ranked: its row is past the range read.
        let (sold, order) =
            rankBy == .units ? ("quantity", "quantity DESC, orders DESC") : ("orders", "orders DESC, quantity DESC")
        var tally = SalesTally()
        try db.forEachRow(
            composed: """
                SELECT product_id, quantity, orders FROM product_window_sales
                WHERE window_end = ? AND \(sold) > 0 ORDER BY \(order), product_id LIMIT ?
                """,
            end.rawValue,
            Int64(limit)
        ) { row in
            tally.add(ProductID(row.int64(0)), quantity: row.int64(1), orders: row.int64(2))
        }
        return tally.top(limit, by: rankBy)
    }
}
