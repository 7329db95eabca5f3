/*
 * The SQLite floor of the group commit: what one paid order's statements cost in plain C, on the
 * server's own schema, batched like the group committer batches them (one BEGIN IMMEDIATE ...
 * COMMIT per `batch` orders, WAL, synchronous=FULL, foreign keys on, statements prepared once).
 *
 * The statements are those of SQLiteStore.placeOrder and SQLiteStore.pay for a one-line order
 * without coupon or idempotency key — the `order` scenario of commerce-load — in the same order:
 * two reads (buyer's balance, product), the guarded stock update, the order, its line, the guarded
 * debit and the balance it left, the USE entry, the payment, the outbox event (a payload of the
 * server's size) and the ranking's rollup. Keep them in step with Sources/CommerceSQLite/SQLiteStore+Orders.swift.
 *
 * Prints the thread's CPU time per order (all of it, and the COMMIT alone) as JSON; compare it with
 * the server's `commit_cpu_us_per_write` (its log line "group commit" at shutdown) to see what
 * the commit thread spends beyond SQLite.
 *
 *   cc -O2 -o order_commit_floor order_commit_floor.c -lsqlite3
 *   ./order_commit_floor schema.sql /tmp/floor.sqlite [orders, default 48000] [batch, default 24]
 * schema.sql: the server's schema (benchmarks/baselines/dump_schema.py prints it from a migrated database).
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *db;

static void must(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double wall(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = malloc(size + 1);
    if (fread(text, 1, size, f) != (size_t)size) { perror(path); exit(1); }
    text[size] = 0;
    fclose(f);
    return text;
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *statement;
    must(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL), sql);
    return statement;
}

/* Steps to the end, then resets for the next use (as the server's direct statements do). */
static void run(sqlite3_stmt *statement) {
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {}
    must(rc, sqlite3_sql(statement));
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s schema.sql database [orders] [batch]\n", argv[0]);
        return 2;
    }
    const char *path = argv[2];
    int orders = argc > 3 ? atoi(argv[3]) : 48000;
    int batch = argc > 4 ? atoi(argv[4]) : 24;
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    unlink(wal);
    /* As the server runs SQLite (SQLiteStore.memoryStatisticsOff): no global mutex around each allocation. */
    must(sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0), "memstatus");
    must(sqlite3_open(path, &db), "open");
    /* The server's connection settings (SQLiteStore): WAL, no auto-checkpoint (a background
     * connection checkpoints there; here the WAL just grows), in-memory statement journals. */
    must(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;"
                          "PRAGMA foreign_keys = ON;", NULL, NULL, NULL), "pragmas");
    must(sqlite3_exec(db, read_file(argv[1]), NULL, NULL, NULL), "schema");
    must(sqlite3_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)"
                          "  INSERT INTO users (id, name, balance, created_at) SELECT i, 'user ' || i, 1000000000, 0 FROM n;"
                          "INSERT INTO products (id, name, price, stock, initial_stock, created_at)"
                          "  VALUES (1, 'Hot product', 1000, 1000000000, 1000000000, 0);", NULL, NULL, NULL), "seed");
    must(sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL), "synchronous");

    sqlite3_stmt *balance = prepare("SELECT balance FROM users WHERE id = ?");
    sqlite3_stmt *product = prepare("SELECT name, price, stock FROM products WHERE id = ?");
    sqlite3_stmt *stock = prepare("UPDATE products SET stock = stock - ?1, sold = sold + ?1 WHERE id = ?2 AND stock >= ?1");
    sqlite3_stmt *order = prepare("INSERT INTO orders (user_id, status, total, discount, coupon_id, created_at, updated_at, expires_at, paid_at)"
                                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_stmt *line = prepare("INSERT INTO order_lines (order_id, product_id, product_name, unit_price, quantity) VALUES (?, ?, ?, ?, ?)");
    sqlite3_stmt *debit = prepare("UPDATE users SET balance = balance - ?1 WHERE id = ?2 AND balance >= ?1");
    sqlite3_stmt *entry = prepare("INSERT INTO balance_entries (user_id, type, amount, balance_after, created_at) VALUES (?, ?, ?, ?, ?)");
    sqlite3_stmt *payment = prepare("INSERT INTO payments (order_id, kind, amount, balance_entry_id, created_at) VALUES (?, 'PAYMENT', ?, ?, ?)");
    sqlite3_stmt *event = prepare("INSERT INTO outbox (event_id, kind, order_id, payload, created_at) VALUES (?, ?, ?, ?, ?)");
    sqlite3_stmt *rollup = prepare("INSERT INTO product_daily_sales (day, product_id, quantity, orders) VALUES (?, ?, ?, 1)"
                                   " ON CONFLICT (day, product_id) DO UPDATE SET quantity = quantity + excluded.quantity, orders = orders + 1");
    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE"), *commit = prepare("COMMIT");

    /* An event of the server's size for a one-line order: its JSON is about 270 bytes. */
    char payload[271];
    memset(payload, 'x', sizeof payload - 1);
    payload[sizeof payload - 1] = 0;
    long long now = (long long)time(NULL) * 1000;
    double commit_cpu = 0, cpu0 = thread_cpu(), wall0 = wall();
    for (int done = 0; done < orders;) {
        run(begin);
        for (int i = 0; i < batch && done < orders; i++, done++) {
            long long user = 1 + done % 1000;
            sqlite3_bind_int64(balance, 1, user);
            run(balance);
            sqlite3_bind_int64(product, 1, 1);
            run(product);
            sqlite3_bind_int64(stock, 1, 1);
            sqlite3_bind_int64(stock, 2, 1);
            run(stock);
            sqlite3_bind_int64(order, 1, user);
            sqlite3_bind_text(order, 2, "PAID", -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(order, 3, 1000);
            sqlite3_bind_int64(order, 4, 0);
            sqlite3_bind_null(order, 5);
            sqlite3_bind_int64(order, 6, now);
            sqlite3_bind_int64(order, 7, now);
            sqlite3_bind_null(order, 8);
            sqlite3_bind_int64(order, 9, now);
            run(order);
            long long order_id = sqlite3_last_insert_rowid(db);
            sqlite3_bind_int64(line, 1, order_id);
            sqlite3_bind_int64(line, 2, 1);
            sqlite3_bind_text(line, 3, "Hot product", -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(line, 4, 1000);
            sqlite3_bind_int64(line, 5, 1);
            run(line);
            sqlite3_bind_int64(debit, 1, 1000);
            sqlite3_bind_int64(debit, 2, user);
            run(debit);
            /* The new balance, read back (the server does not use RETURNING: see SQLiteStore.pay). */
            sqlite3_bind_int64(balance, 1, user);
            run(balance);
            sqlite3_bind_int64(entry, 1, user);
            sqlite3_bind_text(entry, 2, "USE", -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(entry, 3, -1000);
            sqlite3_bind_int64(entry, 4, 0);
            sqlite3_bind_int64(entry, 5, now);
            run(entry);
            long long entry_id = sqlite3_last_insert_rowid(db);
            sqlite3_bind_int64(payment, 1, order_id);
            sqlite3_bind_int64(payment, 2, 1000);
            sqlite3_bind_int64(payment, 3, entry_id);
            sqlite3_bind_int64(payment, 4, now);
            run(payment);
            char event_id[37]; /* time-ordered like the server's UUIDv7 ids */
            snprintf(event_id, sizeof event_id, "%08llx-%04llx-7%03x-8%03x-%012x", (now >> 16) & 0xffffffffLL, now & 0xffff,
                     (unsigned)(done & 0xfff), (unsigned)(rand() & 0xfff), (unsigned)done);
            sqlite3_bind_text(event, 1, event_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(event, 2, "ORDER_PAID", -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(event, 3, order_id);
            sqlite3_bind_text(event, 4, payload, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(event, 5, now);
            run(event);
            sqlite3_bind_int64(rollup, 1, now / 86400000);
            sqlite3_bind_int64(rollup, 2, 1);
            sqlite3_bind_int64(rollup, 3, 1);
            run(rollup);
            now++;
        }
        double before = thread_cpu();
        run(commit);
        commit_cpu += thread_cpu() - before;
    }
    double cpu = thread_cpu() - cpu0, elapsed = wall() - wall0;
    printf("{\"orders\": %d, \"batch\": %d, \"cpu_us_per_order\": %.1f, \"commit_cpu_us_per_order\": %.1f, \"wall_us_per_order\": %.1f}\n",
           orders, batch, cpu * 1e6 / orders, commit_cpu * 1e6 / orders, elapsed * 1e6 / orders);
    sqlite3_close(db);
    unlink(path);
    unlink(wal);
    return 0;
}
