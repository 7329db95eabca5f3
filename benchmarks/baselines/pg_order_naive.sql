-- The naive baseline for benchmarks/postgres.sh: pgbench runs this, one transaction per order, with
-- the statements the PostgreSQL store runs for a one-line PlaceOrder (reads first, then the guarded
-- stock and balance updates, the order, its line, the history entry, the payment, the outbox event
-- and the ranking's rollup), on the same schema, over the same connection count, durable
-- (synchronous_commit on). Users 1..1000 and products 1..:products (pgbench -D products=N) exist with
-- ample balance and stock.
\set uid random(1, 1000)
\set pid random(1, :products)
BEGIN;
SELECT balance FROM users WHERE id = :uid;
SELECT name, price, stock FROM products WHERE id = :pid;
UPDATE products SET stock = stock - 1, sold = sold + 1 WHERE id = :pid AND stock >= 1 RETURNING stock;
INSERT INTO orders (user_id, status, total, discount, created_at, updated_at, paid_at) VALUES (:uid, 'PAID', 1000, 0, 1, 1, 1) RETURNING id AS oid \gset
INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity) VALUES (:oid, :pid, 'p', 1000, 1);
UPDATE users SET balance = balance - 1000 WHERE id = :uid AND balance >= 1000 RETURNING balance;
INSERT INTO balance_entries (user_id, type, amount, balance_after, created_at) VALUES (:uid, 'USE', -1000, 0, 1) RETURNING id AS eid \gset
INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (:oid, 'PAYMENT', 1000, :eid, 1);
INSERT INTO outbox (event_id, kind, order_id, payload, created_at) VALUES (gen_random_uuid()::text, 'ORDER_PAID', :oid, '{}', 1);
INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (1, :pid, 1, 1)
  ON CONFLICT (day, product_id) DO UPDATE SET quantity = product_daily_sales.quantity + 1, orders = product_daily_sales.orders + 1;
END;
