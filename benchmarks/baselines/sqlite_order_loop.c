/*
 * Baseline for the PlaceOrder benchmark: the naive way to take orders with SQLite — one durable
 * transaction per order (synchronous=FULL, WAL), two guarded updates and two inserts, in a loop.
 *
 *   cc -O2 -o sqlite_order_loop sqlite_order_loop.c -lsqlite3 && ./sqlite_order_loop /tmp/x.sqlite 5
 * Prints orders per second as JSON.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void must(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/tmp/sqlite_order_loop.sqlite";
    double seconds = argc > 2 ? atof(argv[2]) : 5;
    unlink(path);
    sqlite3 *db;
    must(sqlite3_open(path, &db), db, "open");
    must(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                          "CREATE TABLE users(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
                          "CREATE TABLE products(id INTEGER PRIMARY KEY, stock INTEGER NOT NULL, price INTEGER NOT NULL);"
                          "CREATE TABLE orders(id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER, total INTEGER, created_at INTEGER);"
                          "CREATE TABLE order_lines(order_id INTEGER, product_id INTEGER, quantity INTEGER, unit_price INTEGER);"
                          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000)"
                          "  INSERT INTO users SELECT i, 1000000000 FROM n;"
                          "INSERT INTO products VALUES (1, 1000000000, 1000);",
                      NULL, NULL, NULL), db, "schema");
    sqlite3_stmt *stock, *debit, *order, *line;
    must(sqlite3_prepare_v2(db, "UPDATE products SET stock = stock - 1 WHERE id = 1 AND stock >= 1 RETURNING price", -1, &stock, NULL), db, "p1");
    must(sqlite3_prepare_v2(db, "UPDATE users SET balance = balance - ?2 WHERE id = ?1 AND balance >= ?2 RETURNING balance", -1, &debit, NULL), db, "p2");
    must(sqlite3_prepare_v2(db, "INSERT INTO orders (user_id, total, created_at) VALUES (?, ?, ?)", -1, &order, NULL), db, "p3");
    must(sqlite3_prepare_v2(db, "INSERT INTO order_lines VALUES (?, 1, 1, ?)", -1, &line, NULL), db, "p4");
    long orders = 0;
    double start = now();
    while (now() - start < seconds) {
        must(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
        must(sqlite3_step(stock), db, "stock");
        int price = sqlite3_column_int(stock, 0);
        sqlite3_reset(stock);
        sqlite3_bind_int64(debit, 1, 1 + orders % 1000);
        sqlite3_bind_int64(debit, 2, price);
        must(sqlite3_step(debit), db, "debit");
        sqlite3_reset(debit);
        sqlite3_bind_int64(order, 1, 1 + orders % 1000);
        sqlite3_bind_int64(order, 2, price);
        sqlite3_bind_int64(order, 3, (sqlite3_int64)time(NULL));
        must(sqlite3_step(order), db, "order");
        sqlite3_reset(order);
        sqlite3_bind_int64(line, 1, sqlite3_last_insert_rowid(db));
        sqlite3_bind_int64(line, 2, price);
        must(sqlite3_step(line), db, "line");
        sqlite3_reset(line);
        must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
        orders++;
    }
    double elapsed = now() - start;
    printf("{\"orders\": %ld, \"seconds\": %.3f, \"orders_per_s\": %.1f}\n", orders, elapsed, orders / elapsed);
    sqlite3_finalize(stock); sqlite3_finalize(debit); sqlite3_finalize(order); sqlite3_finalize(line);
    sqlite3_close(db);
    unlink(path);
    return 0;
}
