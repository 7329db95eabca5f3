import PostgresNIO

/// The two prepared statements of an order (PlaceOrder, CreateOrder, CheckoutCart): one round trip
/// reads what the domain decides on, one writes what it decided. Inside a lane's group every round
/// trip lengthens the time the group holds its rows, so an order is two, not one per row.

/// What the domain decides an order on: the buyer's balance, the first order under the
/// idempotency key if there is one, a fresh order id (taken only when there is no such order: the
/// outbox event carries the id, so it must be known before the write), and the ordered products
/// (ordered by id; a product that does not exist is missing). Read by ``OrderInputsStatement``.
struct OrderInputsRequest: Sendable {
    typealias Row = (
        balance: Int64, fingerprint: String?, firstOrder: Int64?, firstBalanceAfter: Int64?, newOrderID: Int64?,
        ids: [Int64], names: [String], prices: [Int64], stocks: [Int64]
    )

    var user: Int64
    var products: [Int64]
    /// Validated keys are never empty, which the statement's "no key" relies on.
    var idempotencyKey: String?
}

/// Every change of an order in one statement, each step guarded on the ones before it, so that a
/// refusal changes as little as it can:
///   1. the stock of every line (`stock >= quantity`, at the price and name the order was priced
///      with), in product-id order;
///   2. only if every line was taken: the coupon's hold (`status = 'AVAILABLE'`);
///   3. only if so, and paid now: the balance (`balance >= amount`);
///   4. only if all held: the order, its lines, and — paid — the history entry, the payment, the
///      outbox event, the ranking's rollup; and the idempotency key's row.
/// A refusal at step 1 of a one-line order changes nothing; a later one has changed rows, which
/// the caller's transaction must roll back. Row: the products whose lines were taken, reserved
/// (steps 1–2 held), the buyer's balance after it, placed (all held).
struct OrderWritesStatement: PostgresPreparedStatement {
    static let sql = """
        WITH lines AS (
            SELECT * FROM unnest($2::int8[], $3::int8[], $4::text[], $5::int8[]) AS l(product_id, quantity, name, price)
        ), taken AS (
            UPDATE products p SET stock = p.stock - l.quantity, sold = p.sold + l.quantity
            FROM lines l WHERE p.id = l.product_id AND p.stock >= l.quantity AND p.price = l.price AND p.name = l.name
            RETURNING p.id
        ), stocked AS (
            SELECT count(*) = cardinality($2::int8[]) AS ok FROM taken
        ), held AS (
            UPDATE coupons SET status = 'USED', order_id = $6, used_at = $11
            WHERE id = $10 AND status = 'AVAILABLE' AND (SELECT ok FROM stocked)
            RETURNING id
        ), reserved AS (
            SELECT (SELECT ok FROM stocked) AND ($10::int8 IS NULL OR EXISTS (SELECT 1 FROM held)) AS ok
        ), debited AS (
            UPDATE users SET balance = balance - $13
            WHERE id = $1 AND $7::text = 'PAID' AND balance >= $13 AND (SELECT ok FROM reserved)
            RETURNING balance
        ), placed AS (
            SELECT (SELECT ok FROM reserved) AND ($7::text <> 'PAID' OR EXISTS (SELECT 1 FROM debited)) AS ok
        ), new_order AS (
            INSERT INTO orders (id, user_id, status, total, discount, coupon_id, created_at, updated_at, expires_at, paid_at)
            SELECT $6, $1, $7, $8, $9, $10, $11, $11, $12::int8, CASE WHEN $7::text = 'PAID' THEN $11 END FROM placed WHERE ok
        ), new_lines AS (
            INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity)
            SELECT $6, product_id, name, price, quantity FROM lines WHERE (SELECT ok FROM placed)
        ), entry AS (
            INSERT INTO balance_entries (user_id, type, amount, balance_after, created_at)
            SELECT $1, 'USE', -$13, balance, $11 FROM debited
            RETURNING id
        ), payment AS (
            INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) SELECT $6, 'PAYMENT', $13, id, $11 FROM entry
        ), event AS (
            INSERT INTO outbox (event_id, kind, order_id, payload, created_at) SELECT $14, 'ORDER_PAID', $6, $15, $11 FROM debited
        ), sales AS (
            INSERT INTO product_daily_sales (day, product_id, quantity, orders)
            SELECT $16, product_id, quantity, 1 FROM lines WHERE EXISTS (SELECT 1 FROM debited)
            ON CONFLICT (day, product_id) DO UPDATE
            SET quantity = product_daily_sales.quantity + excluded.quantity, orders = product_daily_sales.orders + 1
        ), after AS (
            SELECT COALESCE((SELECT balance FROM debited), (SELECT balance FROM users WHERE id = $1)) AS balance
        ), request AS (
            INSERT INTO order_requests (user_id, key, fingerprint, order_id, balance_after)
            SELECT $1, $17, $18, $6, (SELECT balance FROM after) FROM placed WHERE ok AND $17::text IS NOT NULL
        )
        SELECT ARRAY(SELECT id FROM taken), (SELECT ok FROM reserved), (SELECT balance FROM after), (SELECT ok FROM placed)
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .int8, .int8Array, .int8Array, .textArray, .int8Array, .int8, .text, .int8, .int8, .int8, .int8, .int8, .int8,
        .text, .text, .int8, .text, .text,
    ]
    typealias Row = (taken: [Int64], reserved: Bool, balanceAfter: Int64?, placed: Bool)

    var user: Int64
    var products: [Int64]
    var quantities: [Int64]
    var names: [String]
    var prices: [Int64]
    var order: Int64
    var status: String
    var total: Int64
    var discount: Int64
    var coupon: Int64?
    var at: Int64
    var expiresAt: Int64?
    var amount: Int64
    /// The ORDER_PAID event (paid now only).
    var eventID: String?
    var payload: String?
    var day: Int64
    var idempotencyKey: String?
    var fingerprint: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 18)
        func optional<Value: PostgresNonThrowingEncodable>(_ value: Value?) {
            if let value { bindings.append(value) } else { bindings.appendNull() }
        }
        bindings.append(self.user)
        bindings.append(self.products)
        bindings.append(self.quantities)
        bindings.append(self.names)
        bindings.append(self.prices)
        bindings.append(self.order)
        bindings.append(self.status)
        bindings.append(self.total)
        bindings.append(self.discount)
        optional(self.coupon)
        bindings.append(self.at)
        optional(self.expiresAt)
        bindings.append(self.amount)
        optional(self.eventID)
        optional(self.payload)
        bindings.append(self.day)
        optional(self.idempotencyKey)
        bindings.append(self.fingerprint)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(([Int64], Bool, Int64?, Bool).self)
    }
}

/// The inputs (``OrderInputsRequest``) of one order, or of every order of a lane's group at once:
/// one round trip at the start of the group (after its row locks) instead of one per order inside
/// it. Each request is numbered; a request whose user does not exist has no row. `keys` holds ""
/// for no idempotency key.
struct OrderInputsStatement: PostgresPreparedStatement {
    static let sql = """
        SELECT r.idx, u.balance, q.fingerprint, q.order_id, q.balance_after,
               CASE WHEN q.order_id IS NULL THEN nextval(pg_get_serial_sequence('orders', 'id')) END,
               ARRAY(SELECT p.id FROM unnest($4::int8[], $5::int8[]) AS w(idx, id) JOIN products p ON p.id = w.id
                     WHERE w.idx = r.idx ORDER BY p.id),
               ARRAY(SELECT p.name FROM unnest($4::int8[], $5::int8[]) AS w(idx, id) JOIN products p ON p.id = w.id
                     WHERE w.idx = r.idx ORDER BY p.id),
               ARRAY(SELECT p.price FROM unnest($4::int8[], $5::int8[]) AS w(idx, id) JOIN products p ON p.id = w.id
                     WHERE w.idx = r.idx ORDER BY p.id),
               ARRAY(SELECT p.stock FROM unnest($4::int8[], $5::int8[]) AS w(idx, id) JOIN products p ON p.id = w.id
                     WHERE w.idx = r.idx ORDER BY p.id)
        FROM unnest($1::int8[], $2::int8[], $3::text[]) AS r(idx, user_id, key)
        JOIN users u ON u.id = r.user_id
        LEFT JOIN order_requests q ON q.user_id = r.user_id AND q.key = NULLIF(r.key, '')
        """
    static let bindingDataTypes: [PostgresDataType] = [.int8Array, .int8Array, .textArray, .int8Array, .int8Array]
    typealias Row = (index: Int64, inputs: OrderInputsRequest.Row)

    var requests: [OrderInputsRequest]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(self.requests.indices.map { Int64($0) })
        bindings.append(self.requests.map(\.user))
        bindings.append(self.requests.map { $0.idempotencyKey ?? "" })
        bindings.append(
            self.requests.indices.flatMap { index in self.requests[index].products.map { _ in Int64(index) } }
        )
        bindings.append(self.requests.flatMap(\.products))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (index, balance, fingerprint, first, firstBalance, newID, ids, names, prices, stocks) =
            try row.decode((Int64, Int64, String?, Int64?, Int64?, Int64?, [Int64], [String], [Int64], [Int64]).self)
        return (index, (balance, fingerprint, first, firstBalance, newID, ids, names, prices, stocks))
    }
}

/// An order's inputs read by its group (``OrderInputsStatement``), handed to the order once: a
/// write run again alone, after its group rolled back, reads them itself.
final class GroupedInputs: @unchecked Sendable {
    let request: OrderInputsRequest
    /// Set by the lane before the group's writes run; taken by the order.
    var row: OrderInputsRequest.Row?

    init(_ request: OrderInputsRequest) { self.request = request }

    func take() -> OrderInputsRequest.Row? {
        defer { self.row = nil }
        return self.row
    }
}
