import CommerceDomain
import CommerceUseCases
import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import Testing

@testable import CommerceSQLite

/// A real SQLite file in a fresh temporary directory.
func temporaryStore(_ synchronous: StoreConfiguration.Synchronous = .normal) throws -> SQLiteStore {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("commerce-store-\(UUID().uuidString)")
    return try SQLiteStore(
        StoreConfiguration(path: directory.appendingPathComponent("db.sqlite").path, synchronous: synchronous)
    )
}

/// A new database file migrated only up to `migration`, as an older release left it, for a test
/// to fill before the store opens it and migrates the rest.
func databaseMigrated(upTo migration: String) throws -> (path: String, queue: DatabaseQueue) {
    let path = try temporaryStore().configuration.path + ".legacy.sqlite"
    var config = Configuration()
    config.foreignKeysEnabled = false
    let queue = try DatabaseQueue(path: path, configuration: config)
    try Migrations.migrator(calendar: .seoul).migrate(queue, upTo: migration)
    return (path, queue)
}

/// Expects SQLite itself to refuse `body` with a constraint error whose message contains `message`
/// (a trigger's RAISE or a CHECK's name): any other error fails the test.
func expectRefused(
    _ message: String,
    _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("SQLite accepted what it should refuse with \"\(message)\"", sourceLocation: sourceLocation)
    } catch let error as DatabaseError {
        #expect(
            error.resultCode == .SQLITE_CONSTRAINT && (error.message ?? "").contains(message),
            "\(comment.map { "\($0): " } ?? "")got \(error)",
            sourceLocation: sourceLocation
        )
    } catch {
        Issue.record("expected a DatabaseError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("SQLite store")
struct SQLiteStoreTests {
    /// Submits a charge and blocks until it is durable.
    func charge(_ store: SQLiteStore, _ user: UserID, _ amount: Won, key: String? = nil) throws -> ChargeReceipt {
        try store.charge(ChargeCommand(userID: user, amount: amount, idempotencyKey: key, policy: .standard, at: 1))
            .wait()
    }

    /// Submits a charge and awaits it, without holding a thread.
    func chargeConcurrently(_ store: SQLiteStore, _ user: UserID, _ amount: Won) async throws -> ChargeReceipt {
        try await store.charge(
            ChargeCommand(userID: user, amount: amount, idempotencyKey: nil, policy: .standard, at: 1)
        ).value
    }

    /// True when the charge went through, false when the ceiling refused it; any other error fails the test.
    func chargedUnlessAtCeiling(_ store: SQLiteStore, _ user: UserID, _ amount: Won) async throws -> Bool {
        do {
            _ = try await self.chargeConcurrently(store, user, amount)
            return true
        } catch let error as CommerceError where error.reason == .balanceLimitExceeded {
            return false
        }
    }

    @Test("a charge updates the balance and writes one history entry")
    func charge() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        let receipt = try self.charge(store, user.id, 5_000)
        #expect(receipt.balance == 5_000 && !receipt.replayed)
        #expect(try await store.balance(of: user.id) == 5_000)
        let history = try #require(try await store.history(of: user.id, page: PageQuery(size: 10, after: nil)))
        #expect(history.items.map(\.amount) == [5_000] && history.items.first?.type == .charge)
        #expect(try store.audit().isEmpty)
    }

    @Test(
        "lookups by key have lanes of their own: a balance and a product answer while long reads hold every read lane"
    )
    func lookupsNeverWaitBehindLongReads() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        _ = try self.charge(store, user.id, 700)
        let product = try store.createProduct(name: "p", price: 1_000, stock: 5, at: 1).wait()
        // One long read per read lane (there are StoreConfiguration.maximumReaders of them), each
        // holding its lane's thread until the lookups below are done.
        let release = DispatchSemaphore(value: 0)
        let held = (0..<store.configuration.maximumReaders).map { _ in
            Task { try await store.read { _ in release.wait() } }
        }
        let lookups = Task { (try await store.balance(of: user.id), try await store.product(product.id)?.stock) }
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = await lookups.result
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(30))
                return false
            }  // a bound for a blocked lookup, not a timing claim
            let first = await group.next()!
            for _ in held { release.signal() }
            group.cancelAll()
            return first
        }
        for read in held { try await read.value }
        #expect(answered, "the lookups waited behind the long reads")
        let (balance, stock) = try await lookups.value
        #expect(balance == 700 && stock == 5)
    }

    @Test("the background checkpointer copies the whole WAL into the database file")
    func backgroundCheckpoints() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        _ = try self.charge(store, user.id, 5_000)
        // One commit of ~3,000 pages: three times the size at which SQLite would checkpoint by itself.
        try store.unsafeExecuteForTesting(
            """
            CREATE TABLE filler (blob BLOB);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO filler SELECT randomblob(4000) FROM n;
            """
        )
        var pass = store.lastCheckpoint
        for _ in 0..<100 where pass.walFrames < 2_500 || pass.checkpointed < pass.walFrames {
            try await Task.sleep(for: .milliseconds(50))
            pass = store.lastCheckpoint
        }
        #expect(pass.walFrames >= 2_500 && pass.checkpointed == pass.walFrames)
        #expect(try await store.balance(of: user.id) == 5_000)
        #expect(try store.audit().isEmpty)
    }

    @Test("under sustained writes the checkpointer makes the WAL start over, so it stays bounded")
    func walStaysBounded() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "commerce-store-\(UUID().uuidString)"
        )
        let path = directory.appendingPathComponent("db.sqlite").path
        let store = try SQLiteStore(StoreConfiguration(path: path, synchronous: .normal, walRestartFrames: 200))
        let user = try store.createUser(name: "a", at: 1).wait()
        // A WAL that starts over gets a new header: its checkpoint sequence number (bytes 12-15,
        // big-endian) goes up by one.
        func walSequence() throws -> UInt32 {
            let wal = try FileHandle(forReadingFrom: URL(fileURLWithPath: path + "-wal"))
            defer { try? wal.close() }
            try wal.seek(toOffset: 12)
            return (try wal.read(upToCount: 4) ?? Data()).reduce(0) { $0 << 8 | UInt32($1) }
        }
        let first = try walSequence()
        // One commit after another, never pausing: a passive pass never catches up with the newest
        // frame, so without a restart the WAL's frame count could only grow.
        var charges = 0
        var largest = 0
        let start = ContinuousClock.now
        while store.lastCheckpoint.restarts < 3 && ContinuousClock.now - start < .seconds(20) {
            _ = try self.charge(store, user.id, 1)
            charges += 1
            largest = max(largest, store.lastCheckpoint.walFrames)
        }
        _ = try self.charge(store, user.id, 1)  // the first commit after a restart writes the new header
        charges += 1
        #expect(store.lastCheckpoint.restarts >= 3)
        let last = try walSequence()
        #expect(
            last > first,
            "the WAL never started over in \(charges) commits (checkpoint sequence \(first) → \(last), largest pass: \(largest) frames)"
        )
        #expect(try await store.balance(of: user.id) == Won(charges))
        #expect(try store.audit().isEmpty)
    }

    @Test("event ids are distinct time-ordered (version 7, RFC 9562) UUIDs in lower case, carrying their millisecond")
    func eventIDs() {
        let start: UnixMillis = 1_763_856_000_000
        // 10 ids in each of 1,000 milliseconds: unique, and sorted by time across milliseconds.
        let ids = (0..<10_000).map { SQLiteStore.eventID(at: start + UnixMillis($0 / 10)) }
        #expect(Set(ids).count == ids.count)
        for (index, id) in ids.enumerated() {
            let characters = Array(id)
            #expect(UUID(uuidString: id) != nil && id == id.lowercased() && characters.count == 36)
            #expect(characters[14] == "7" && "89ab".contains(characters[19]))
            let millis = UnixMillis(id.replacingOccurrences(of: "-", with: "").prefix(12), radix: 16)
            #expect(millis == start + UnixMillis(index / 10))
            if index >= 10 { #expect(ids[index - 10] < id) }
        }
    }

    @Test(
        "event ids drawn from 8 threads at once in the same millisecond are all distinct (the random block is shared safely)"
    )
    func eventIDsAcrossThreads() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<2_000).map { _ in SQLiteStore.eventID(at: 1_763_856_000_000) } }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(ids.count == 16_000 && Set(ids).count == 16_000)
    }

    @Test("the ceiling is guarded in the update itself; the refused charge changes nothing")
    func ceiling() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        _ = try self.charge(store, user.id, 999_000)
        #expect { try self.charge(store, user.id, 2_000) } throws: {
            ($0 as? CommerceError)?.reason == .balanceLimitExceeded
        }
        _ = try self.charge(store, user.id, 1_000)
        #expect(try await store.balance(of: user.id) == 1_000_000)
        #expect(try store.audit().isEmpty)
    }

    @Test("an unknown user is USER_NOT_FOUND")
    func unknownUser() async throws {
        let store = try temporaryStore()
        #expect { try self.charge(store, UserID(77), 2_000) } throws: {
            ($0 as? CommerceError)?.reason == .userNotFound
        }
        #expect(try await store.balance(of: UserID(77)) == nil)
        #expect(try await store.history(of: UserID(77), page: PageQuery(size: 1, after: nil)) == nil)
    }

    @Test("a repeated idempotency key returns the first receipt; a different amount under it is refused")
    func idempotency() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        let first = try self.charge(store, user.id, 3_000, key: "k")
        let again = try self.charge(store, user.id, 3_000, key: "k")
        #expect(again.replayed && again.entryID == first.entryID && again.balance == 3_000)
        #expect { try self.charge(store, user.id, 4_000, key: "k") } throws: {
            ($0 as? CommerceError)?.reason == .idempotencyKeyReused
        }
        #expect(try await store.balance(of: user.id) == 3_000)
        // Keys are per user.
        let other = try store.createUser(name: "b", at: 1).wait()
        #expect(try !self.charge(store, other.id, 3_000, key: "k").replayed)
    }

    @Test("history pages newest first and the cursor walks every entry exactly once")
    func paging() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        for index in 1...23 { _ = try self.charge(store, user.id, Won(1_000 + index)) }
        var seen: [Won] = []
        var after: Int64?
        repeat {
            let page = try #require(try await store.history(of: user.id, page: PageQuery(size: 5, after: after)))
            seen += page.items.map(\.amount)
            after = page.nextAfter
        } while after != nil
        #expect(seen == (1...23).reversed().map { Won(1_000 + $0) })
    }

    @Test("restock is guarded and counted; unknown products are PRODUCT_NOT_FOUND")
    func restock() throws {
        let store = try temporaryStore()
        let product = try store.createProduct(name: "p", price: 100, stock: 5, at: 1).wait()
        #expect(try store.restock(product.id, quantity: 7, at: 2).wait().stock == 12)
        #expect { try store.restock(ProductID(999), quantity: 1, at: 2).wait() } throws: {
            ($0 as? CommerceError)?.reason == .productNotFound
        }
        #expect { try store.restock(product.id, quantity: 1_000_000_000, at: 2).wait() } throws: {
            ($0 as? CommerceError)?.reason == .stockLimitExceeded
        }
        #expect(try store.audit().isEmpty)
    }

    @Test("writes submitted back to back, without waiting, complete in submission order; a refused one changes nothing")
    func submissionOrder() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        // Submitted from one thread with nothing awaited in between, as a write queue does.
        let writes = (1...20).map { index in
            store.charge(
                ChargeCommand(
                    userID: user.id,
                    amount: index == 7 ? 5_000_000 : Won(index) * 1_000,
                    idempotencyKey: nil,
                    policy: .standard,
                    at: 1
                )
            )
        }
        var expected: Won = 0
        for (offset, write) in writes.enumerated() {
            let index = offset + 1
            if index == 7 {
                await #expect { try await write.value } throws: {
                    ($0 as? CommerceError)?.reason == .balanceLimitExceeded
                }
                continue
            }
            expected += Won(index) * 1_000
            #expect(try await write.value.balance == expected)
        }
        // Awaiting again, or blocking, gives the same result.
        #expect(try writes[19].wait().balance == expected)
        #expect(try await store.balance(of: user.id) == expected)
        #expect(try store.audit().isEmpty)
    }

    @Test(
        "migrating an outbox with per-event delivery state: the relay cursor starts before the first undelivered event"
    )
    func outboxCursorMigration() async throws {
        let (legacy, queue) = try databaseMigrated(
            upTo: "v7: indexes for the audit (events by order, lines by product)"
        )
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, created_at) VALUES (1, 'buyer', 1)")
            // Events 1, 2 and 4 were delivered; 3 failed and holds back 4 and 5.
            for (id, delivered) in [(1, true), (2, true), (3, false), (4, true), (5, false)] {
                try db.execute(
                    sql:
                        "INSERT INTO orders (id, user_id, status, total, discount, created_at, updated_at) VALUES (?, 1, 'PAID', 0, 0, 1, 1)",
                    arguments: [id]
                )
                try db.execute(
                    sql: """
                        INSERT INTO outbox (id, event_id, kind, order_id, payload, created_at, delivered_at) VALUES (?, ?, 'ORDER_PAID', ?, '{}', 1, ?)
                        """,
                    arguments: [id, "event-\(id)", id, delivered ? 2 : nil]
                )
            }
        }
        try queue.close()
        let migrated = try SQLiteStore(StoreConfiguration(path: legacy))
        #expect(try migrated.appliedMigrations().contains("v8: the outbox is relayed from one cursor under one lease"))
        #expect(try await migrated.undeliveredEventCount() == 3, "3, 4 (again: at least once) and 5")
        let lease = try #require(try migrated.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 10).wait())
        #expect(lease == RelayLease(deliveredThrough: 2, headAttempts: 0))
        #expect(try await migrated.events(for: lease, limit: 10).map(\.sequence) == [3, 4, 5])
        // Another owner is kept out while the lease lasts.
        #expect(try migrated.takeRelayLease(owner: "b", leaseMillis: 1_000, now: 500).wait() == nil)
        try migrated.markFailed(3, attempts: 1, error: "HTTP 500", retryAt: 200, owner: "a").wait()
        #expect(
            try migrated.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 100).wait() == nil,
            "retry not due yet"
        )
        #expect(
            try migrated.takeRelayLease(owner: "a", leaseMillis: 1_000, now: 300).wait()
                == RelayLease(deliveredThrough: 2, headAttempts: 1)
        )
        try migrated.markDelivered([3, 4], owner: "b").wait()  // not the lease holder: ignored
        #expect(try await migrated.undeliveredEventCount() == 3)
        try migrated.markDelivered([3, 4], owner: "a").wait()
        #expect(try await migrated.undeliveredEventCount() == 1)
        // Once the lease has run out, another owner takes over where delivery stopped.
        #expect(
            try migrated.takeRelayLease(owner: "b", leaseMillis: 1_000, now: 2_000).wait()
                == RelayLease(deliveredThrough: 4, headAttempts: 0)
        )
        // A relay that stops hands the lease back: the next one need not wait for it to run out.
        try migrated.releaseRelayLease(owner: "b").wait()
        #expect(try migrated.takeRelayLease(owner: "c", leaseMillis: 1_000, now: 2_001).wait()?.deliveredThrough == 4)
        try migrated.markDelivered([5], owner: "c").wait()
        #expect(
            try migrated.takeRelayLease(owner: "c", leaseMillis: 1_000, now: 2_002).wait() == nil,
            "nothing left to relay"
        )
    }

    @Test("the v9 rebuild keeps every ledger row and id, new ids continue after the last, and a DELETE is refused")
    func appendOnlyLedgers() async throws {
        let (legacy, queue) = try databaseMigrated(
            upTo: "v8: the outbox is relayed from one cursor under one lease"
        )
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, balance, created_at) VALUES (1, 'buyer', 70, 1)")
            for id in 1...3 {
                for sql in [
                    "INSERT INTO orders (id, user_id, status, total, discount, created_at, updated_at, paid_at) VALUES (?1, 1, 'PAID', 10, 0, ?1, ?1, ?1)",
                    "INSERT INTO balance_entries (id, user_id, type, amount, balance_after, created_at) VALUES (?1, 1, 'USE', -10, 100 - 10 * ?1, ?1)",
                    "INSERT INTO payments (id, order_id, kind, amount, balance_entry_id, created_at) VALUES (?1, ?1, 'PAYMENT', 10, ?1, ?1)",
                    "INSERT INTO outbox (id, event_id, kind, order_id, payload, created_at) VALUES (?1, 'event-' || ?1, 'ORDER_PAID', ?1, '{}', ?1)",
                ] {
                    try db.execute(sql: sql, arguments: [id])
                }
            }
        }
        try queue.close()

        let migrated = try SQLiteStore(StoreConfiguration(path: legacy))
        #expect(
            try migrated.appliedMigrations().contains(
                "v9: append-only ledgers without AUTOINCREMENT or audit-only indexes"
            )
        )
        let tables = ["orders", "balance_entries", "payments", "outbox"]
        try migrated.readNow { db in
            for table in tables {
                #expect(try Int64.fetchAll(db, sql: "SELECT id FROM \(table) ORDER BY id") == [1, 2, 3], "\(table)")
                let schema = try String.fetchOne(
                    db,
                    sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                    arguments: [table]
                )
                #expect(schema?.contains("AUTOINCREMENT") == false, "\(table)")
            }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pragma_foreign_key_check") == 0)
            let indexes = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'"))
            #expect(indexes.isSuperset(of: ["orders_by_user", "orders_pending_by_expiry", "balance_entries_by_user"]))
            #expect(
                indexes.isDisjoint(with: ["payments_by_order", "outbox_by_order", "order_lines_by_product"]),
                "only the audit read them"
            )
        }
        // The relay cursor still reads the events by id.
        #expect(
            try await migrated.events(for: RelayLease(deliveredThrough: 1, headAttempts: 0), limit: 10).map(\.sequence)
                == [2, 3]
        )
        for table in tables {
            let message =
                table == "outbox" ? "outbox events are deleted only once delivered" : "\(table) are append-only"
            expectRefused(message, "\(table)") {
                try migrated.unsafeExecuteForTesting("DELETE FROM \(table) WHERE id = 3")
            }
        }
        try migrated.unsafeExecuteForTesting(
            """
            INSERT INTO orders (user_id, status, total, discount, created_at, updated_at) VALUES (1, 'PENDING_PAYMENT', 10, 0, 9, 9)
            """
        )
        #expect(try migrated.readNow { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM orders") } == 4)
        #expect(try migrated.readNow { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM orders") } == 4)
    }

    @Test(
        "the v10 rebuild keeps every order and balance entry with its id, indexes and DELETE trigger, and its checks still refuse an unknown status or type"
    )
    func checksWithoutTransientIndexes() async throws {
        let (legacy, queue) = try databaseMigrated(
            upTo: "v9: append-only ledgers without AUTOINCREMENT or audit-only indexes"
        )
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO users (id, name, balance, created_at) VALUES (1, 'buyer', 70, 1)")
            for (id, status) in zip(1..., ["PENDING_PAYMENT", "PAID", "CANCELLED", "REFUNDED", "EXPIRED"]) {
                try db.execute(
                    sql: """
                        INSERT INTO orders (id, user_id, status, total, discount, created_at, updated_at, expires_at) VALUES (?1, 1, ?2, 10, 0, ?1, ?1, 9)
                        """,
                    arguments: [id, status]
                )
            }
            for (id, type) in zip(1..., ["CHARGE", "USE", "REFUND"]) {
                try db.execute(
                    sql: """
                        INSERT INTO balance_entries (id, user_id, type, amount, balance_after, created_at) VALUES (?1, 1, ?2, 10, 70, ?1)
                        """,
                    arguments: [id, type]
                )
            }
            try db.execute(
                sql:
                    "INSERT INTO outbox (id, event_id, kind, order_id, payload, created_at) VALUES (1, 'e', 'ORDER_PAID', 2, '{}', 1)"
            )
        }
        try queue.close()

        let migrated = try SQLiteStore(StoreConfiguration(path: legacy))
        #expect(
            try migrated.appliedMigrations().contains("v10: status and type checks without a transient index per row")
        )
        try migrated.readNow { db in
            #expect(
                try String.fetchAll(db, sql: "SELECT status FROM orders ORDER BY id") == [
                    "PENDING_PAYMENT", "PAID", "CANCELLED", "REFUNDED", "EXPIRED",
                ]
            )
            #expect(
                try String.fetchAll(db, sql: "SELECT type FROM balance_entries ORDER BY id") == [
                    "CHARGE", "USE", "REFUND",
                ]
            )
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pragma_foreign_key_check") == 0)
            let objects = Set(
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")
            )
            #expect(
                objects.isSuperset(of: [
                    "orders_by_user", "orders_pending_by_expiry", "balance_entries_by_user",
                    "orders_append_only", "balance_entries_append_only", "payments_append_only", "outbox_prune_only",
                ])
            )
            // The partial index still finds the pending order.
            #expect(
                try Int64.fetchAll(
                    db,
                    sql: "SELECT id FROM orders WHERE status = 'PENDING_PAYMENT' AND expires_at <= 9"
                ) == [1]
            )
        }
        expectRefused("CHECK constraint failed: status") {
            try migrated.unsafeExecuteForTesting(
                "INSERT INTO orders (user_id, status, total, discount, created_at, updated_at) VALUES (1, 'SHIPPED', 10, 0, 9, 9)"
            )
        }
        expectRefused("CHECK constraint failed: type") {
            try migrated.unsafeExecuteForTesting(
                "INSERT INTO balance_entries (user_id, type, amount, balance_after, created_at) VALUES (1, 'GIFT', 10, 70, 9)"
            )
        }
        for table in ["orders", "balance_entries"] {
            expectRefused("\(table) are append-only", "\(table)") {
                try migrated.unsafeExecuteForTesting("DELETE FROM \(table) WHERE id = 3")
            }
        }
        do {
            try migrated.unsafeExecuteForTesting("DELETE FROM outbox WHERE id = 1")
            Issue.record("the outbox refused no DELETE")
        } catch {
            #expect("\(error)".contains("outbox events are deleted only once delivered"))
        }
        try migrated.unsafeExecuteForTesting(
            """
            INSERT INTO balance_entries (user_id, type, amount, balance_after, created_at) VALUES (1, 'CHARGE', 10, 80, 9)
            """
        )
        #expect(try migrated.readNow { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM balance_entries") } == 4)
    }

    @Test(
        "charges, orders, coupon claims and refunds run no statement that builds a transient b-tree (an IN check or RETURNING builds one per row, on the thread that commits every write)"
    )
    func writesBuildNoTransientTables() throws {
        let store = try temporaryStore()
        let buyer = try store.createUser(name: "buyer", at: 1).wait()
        _ = try self.charge(store, buyer.id, 10_000, key: "first charge")
        let product = try store.createProduct(name: "thing", price: 1_000, stock: 10, at: 1).wait()
        let campaign = try store.createCampaign(
            NewCampaign(name: "c", discount: .fixed(won: 100), totalQuantity: 5, validFrom: 0, validUntil: 10),
            at: 1
        ).wait()
        let coupon = try store.issueCoupon(campaign: campaign.id, user: buyer.id, at: 2).wait()
        let withCoupon = try OrderRequest.validate(userID: buyer.id, items: [(product.id, 2)], couponID: coupon.id)
        let paid = try store.placeOrder(PlaceOrderCommand(request: withCoupon, idempotencyKey: "first order", at: 3))
            .wait()
        #expect(paid.balanceAfter == 10_000 - 1_900)
        let refund = try store.refundOrder(paid.order.id, user: buyer.id, at: 4).wait()
        #expect(refund.balanceAfter == 10_000 && refund.refunded == 1_900)
        let twoStep = try OrderRequest.validate(userID: buyer.id, items: [(product.id, 1)], couponID: nil)
        let pending = try store.placeOrder(
            PlaceOrderCommand(request: twoStep, idempotencyKey: nil, at: 5, expiresAt: 100)
        ).wait()
        #expect(try store.payOrder(pending.order.id, user: buyer.id, at: 6).wait().balanceAfter == 9_000)

        // Every statement the writer connection has prepared, with the operations of its program.
        let programs = try store.pool.write { db -> [String: [String]] in
            guard let connection = db.sqliteConnection else { return [:] }
            var sql: [String] = []
            var statement = sqlite3_next_stmt(connection, nil)
            while let current = statement {
                sql.append(String(cString: sqlite3_sql(current)))
                statement = sqlite3_next_stmt(connection, current)
            }
            var programs: [String: [String]] = [:]
            for text in sql where !text.hasPrefix("EXPLAIN") {
                var explain: OpaquePointer?
                guard sqlite3_prepare_v2(connection, "EXPLAIN " + text, -1, &explain, nil) == SQLITE_OK else {
                    programs[text] = ["(EXPLAIN failed: \(String(cString: sqlite3_errmsg(connection))))"]
                    continue
                }
                defer { sqlite3_finalize(explain) }
                var operations: [String] = []
                while sqlite3_step(explain) == SQLITE_ROW {
                    operations.append(String(cString: sqlite3_column_text(explain, 1)))
                }
                programs[text] = operations
            }
            return programs
        }
        let writes = programs.keys.filter { $0.hasPrefix("INSERT") || $0.hasPrefix("UPDATE") }
        // Each write path's statements were prepared, so each was examined: charge, order, coupon
        // claim and use, refund, two-step payment.
        for prefix in [
            "INSERT INTO balance_entries", "INSERT INTO orders", "UPDATE users SET balance = balance - ",
            "UPDATE users SET balance = balance + ", "UPDATE coupon_campaigns SET issued", "INSERT INTO coupons",
            "UPDATE coupons SET", "UPDATE products SET stock = stock - ", "UPDATE products SET stock = stock + ",
            "INSERT INTO payments", "UPDATE product_daily_sales",
        ] {
            #expect(
                writes.contains { $0.hasPrefix(prefix) },
                "no statement starting \(prefix) among \(programs.keys.sorted())"
            )
        }
        for (sql, operations) in programs {
            #expect(
                !operations.isEmpty && !operations.contains { $0.hasPrefix("(EXPLAIN failed") },
                "\(sql): \(operations)"
            )
            #expect(!operations.contains("OpenEphemeral"), "\(sql)")
        }
    }

    @Test(
        "the audit reads payments, events and order lines in grouped passes and still finds a short payment, a refund that is not one, a payment without its event, and lines that disagree with the counters and rollups"
    )
    func auditOfPaymentsAndEvents() async throws {
        let store = try temporaryStore()
        let buyer = try store.createUser(name: "buyer", at: 1).wait()
        _ = try self.charge(store, buyer.id, 10_000)
        let product = try store.createProduct(name: "thing", price: 1_000, stock: 100, at: 1).wait()
        var orders: [OrderID] = []
        for _ in 0..<4 {
            let request = try OrderRequest.validate(userID: buyer.id, items: [(product.id, 1)], couponID: nil)
            orders.append(
                try store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2)).wait().order.id
            )
        }
        #expect(try store.audit().isEmpty)
        try store.unsafeExecuteForTesting(
            "UPDATE payments SET amount = amount - 1 WHERE order_id = \(orders[1].rawValue)"
        )
        try store.unsafeExecuteForTesting("UPDATE orders SET status = 'REFUNDED' WHERE id = \(orders[2].rawValue)")
        try store.unsafeExecuteForTesting(
            "UPDATE outbox SET kind = 'ORDER_REFUNDED' WHERE order_id = \(orders[3].rawValue)"
        )
        let found = Set(try store.audit().map { "\($0.rule) \($0.subject)" })
        #expect(found.contains("paid-order-has-payment order \(orders[1].rawValue)"))
        #expect(found.contains("refunded-order-refunds-payment order \(orders[2].rawValue)"))
        #expect(found.contains("payment-has-outbox-event order \(orders[3].rawValue)"))
        #expect(
            !found.contains { $0.hasSuffix("order \(orders[0].rawValue)") },
            "the untouched order passes every rule"
        )

        // Order lines are summed per product in one grouped pass, against the counters and the rollups.
        let tampered = try store.createProduct(name: "tampered", price: 1_000, stock: 10, at: 1).wait()
        let untouched = try store.createProduct(name: "untouched", price: 1_000, stock: 10, at: 1).wait()
        var lineOrders: [OrderID] = []
        for product in [tampered, untouched] {
            let request = try OrderRequest.validate(userID: buyer.id, items: [(product.id, 2)], couponID: nil)
            lineOrders.append(
                try store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2)).wait().order.id
            )
        }
        try store.unsafeExecuteForTesting(
            "UPDATE order_lines SET quantity = 3 WHERE order_id = \(lineOrders[0].rawValue)"
        )
        let byProduct = Set(try store.audit().map { "\($0.rule) \($0.subject)" })
        #expect(byProduct.contains("sold-equals-order-lines product \(tampered.id.rawValue)"))
        #expect(byProduct.contains("rollups-match-orders product \(tampered.id.rawValue)"))
        #expect(!byProduct.contains { $0.hasSuffix("product \(untouched.id.rawValue)") })
    }

    @Test(
        "in one batch: refused orders change nothing and cost no replay; a write that fails half-way makes the batch start over with savepoints, undoing only its own changes"
    )
    func halfWayFailure() async throws {
        struct HalfWay: Error {}
        let store = try temporaryStore()
        let buyer = try store.createUser(name: "buyer", at: 1).wait()
        _ = try self.charge(store, buyer.id, 10_000)
        let plenty = try store.createProduct(name: "plenty", price: 1_000, stock: 100, at: 1).wait()
        let scarce = try store.createProduct(name: "scarce", price: 1_000, stock: 1, at: 1).wait()
        func order(_ items: [(ProductID, Int64)]) -> () throws -> PendingWrite<OrderReceipt> {
            {
                let request = try OrderRequest.validate(
                    userID: buyer.id,
                    items: items.map { ($0.0, $0.1) },
                    couponID: nil
                )
                return store.placeOrder(PlaceOrderCommand(request: request, idempotencyKey: nil, at: 2))
            }
        }
        /// Submits all writes while the committer is held, so that they land in one batch (with the
        /// holder, or in the one right after it). The gate stays open once opened: a replay passes it.
        func oneBatch<T>(_ writes: [() throws -> PendingWrite<T>]) throws -> [PendingWrite<T>] {
            let gate = DispatchSemaphore(value: 0)
            let holder = store.transaction { _ in
                gate.wait()
                gate.signal()
            }
            let pending = try writes.map { try $0() }
            gate.signal()
            try holder.wait()
            return pending
        }
        // A two-step order for more than the balance: reserved now, its payment refused below.
        let reserve = try OrderRequest.validate(userID: buyer.id, items: [(plenty.id, 11)], couponID: nil)
        let pending = try store.placeOrder(
            PlaceOrderCommand(request: reserve, idempotencyKey: nil, at: 2, expiresAt: 1_000_000)
        ).wait()
        let before = store.groupCommitStatistics.replays

        // Refusals at the first line, at a later line, for the balance, of an unknown product, of a
        // total too large for an Int64, and of a payment: found before any change.
        let dear = try store.createProduct(name: "dear", price: Int64.max / 2, stock: 10, at: 1).wait()
        let refused = try oneBatch([
            order([(plenty.id, 1)]), order([(scarce.id, 2)]), order([(plenty.id, 5), (scarce.id, 2)]),
            order([(plenty.id, 50)]),
            order([(scarce.id, 1)]), { store.payOrder(pending.order.id, user: buyer.id, at: 3) },
            order([(ProductID(999_999), 1)]), order([(dear.id, 3)]), order([(plenty.id, 1), (ProductID(999_999), 1)]),
        ])
        #expect(try refused[0].wait().order.total == 1_000 && refused[4].wait().order.total == 1_000)
        #expect { try refused[1].wait() } throws: { ($0 as? CommerceError)?.reason == .outOfStock }
        #expect { try refused[2].wait() } throws: { ($0 as? CommerceError)?.reason == .outOfStock }
        #expect { try refused[3].wait() } throws: { ($0 as? CommerceError)?.reason == .insufficientBalance }
        #expect { try refused[5].wait() } throws: { ($0 as? CommerceError)?.reason == .insufficientBalance }
        #expect { try refused[6].wait() } throws: { ($0 as? CommerceError)?.reason == .productNotFound }
        #expect { try refused[7].wait() } throws: { ($0 as? CommerceError)?.reason == .invalidQuantity }
        #expect { try refused[8].wait() } throws: { ($0 as? CommerceError)?.reason == .productNotFound }
        #expect(store.groupCommitStatistics.replays == before, "no refusal made the batch start over")

        // A write that changes rows and then throws: the batch starts over, and only that write is undone.
        let halfWay = try oneBatch([
            order([(plenty.id, 1)]),
            {
                store.transaction { db -> OrderReceipt in
                    try db.execute(
                        sql: "UPDATE products SET stock = stock - 10 WHERE id = ?",
                        arguments: [plenty.id.rawValue]
                    )
                    throw HalfWay()
                }
            },
            order([(plenty.id, 2)]),
        ])
        #expect(try halfWay[0].wait().order.total == 1_000 && halfWay[2].wait().order.total == 2_000)
        #expect { try halfWay[1].wait() } throws: { $0 is HalfWay }
        #expect(store.groupCommitStatistics.replays == before + 1)

        // 4 units of "plenty" and 1 of "scarce" sold in 4 paid orders, 11 reserved by the pending one;
        // nothing of the refused or undone writes stayed.
        #expect(try await store.product(plenty.id)?.stock == 85)
        #expect(try await store.product(scarce.id)?.stock == 0)
        #expect(try await store.balance(of: buyer.id) == 5_000)
        #expect(
            try await store.orders(of: buyer.id, page: PageQuery(size: 10, after: nil))?.items.map(\.status).sorted {
                $0.rawValue < $1.rawValue
            }
                == [.paid, .paid, .paid, .paid, .pendingPayment]
        )
        #expect(try store.audit().isEmpty)
    }

    @Test(
        "the configured synchronous mode is the one the writing connection runs with",
        arguments: StoreConfiguration.Synchronous.allCases
    )
    func synchronousMode(_ mode: StoreConfiguration.Synchronous) throws {
        let store = try temporaryStore(mode)
        let expected = ["OFF": 0, "NORMAL": 1, "FULL": 2][mode.rawValue]
        // Through the group committer, on the connection every write uses.
        #expect(try store.transaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }.wait() == expected)
    }

    @Test("threads charging one user at once through one store stay exact at the ceiling")
    func concurrentThreads() async throws {
        let store = try temporaryStore()
        let user = try store.createUser(name: "a", at: 1).wait()
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<120 {
                group.addTask { try await self.chargedUnlessAtCeiling(store, user.id, 10_000) }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 100)
        #expect(try await store.balance(of: user.id) == 1_000_000)
        #expect(try store.audit().isEmpty)
    }

    @Test("two stores (two connections pools, as two processes would have) on one file stay exact")
    func twoPoolsOneFile() async throws {
        let first = try temporaryStore()
        let second = try SQLiteStore(StoreConfiguration(path: first.configuration.path, synchronous: .normal))
        let user = try first.createUser(name: "a", at: 1).wait()
        let successes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<150 {
                let store = index % 2 == 0 ? first : second
                group.addTask { try await self.chargedUnlessAtCeiling(store, user.id, 10_000) }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(successes == 100)
        #expect(try await second.balance(of: user.id) == 1_000_000)
        #expect(try first.audit().isEmpty)
    }

    @Test(
        "a day's ranking snapshot is taken once by two stores racing on one file, holds what stood when it was taken, and keeps a week"
    )
    func rankingSnapshotOnce() async throws {
        let first = try temporaryStore()
        let second = try SQLiteStore(StoreConfiguration(path: first.configuration.path, synchronous: .normal))
        let now: UnixMillis = 1_750_046_800_000
        try SalesHistory.seed(into: first, plan: SalesHistory.Plan(lines: 2_000, days: 4), now: now)
        let today = first.configuration.calendar.day(containing: now)
        for day in 0..<3 {
            // Three days in a row, each raced by 8 takers across both stores: one takes it.
            let taken = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    let store = index % 2 == 0 ? first : second
                    group.addTask { try await store.takeRankingSnapshot(today: today.adding(days: day), at: now) }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(taken == 1, "day +\(day)")
        }
        // Today's snapshot covers the 3 whole days before it, as the rollups stood.
        for rankBy in RankBy.allCases {
            let snapshot = try #require(
                try await second.rankingSnapshot(today: today, days: 3, rankBy: rankBy, limit: 50)
            )
            let live = try await first.topSellers(
                in: today.adding(days: -3)...today.adding(days: -1),
                limit: 50,
                by: rankBy
            )
            #expect(snapshot == live && !snapshot.isEmpty, "\(rankBy)")
        }
        #expect(try await first.rankingSnapshot(today: today.adding(days: 5), days: 1, rankBy: .units, limit: 5) == nil)
        // A snapshot a week on drops those older than a week.
        #expect(try await first.takeRankingSnapshot(today: today.adding(days: 8), at: now))
        #expect(try await first.rankingSnapshot(today: today, days: 3, rankBy: .units, limit: 5) == nil)
        #expect(try await first.rankingSnapshot(today: today.adding(days: 2), days: 3, rankBy: .units, limit: 5) != nil)
        #expect(try first.audit().isEmpty)
    }

    @Test("the demo seed loads once and leaves a clean audit")
    func demoSeed() async throws {
        let store = try temporaryStore()
        #expect(try await DemoCatalogue.seed(into: store))
        #expect(try await !DemoCatalogue.seed(into: store))
        #expect(
            try await store.products(page: PageQuery(size: 100, after: nil)).items.count == DemoCatalogue.products.count
        )
        #expect(try store.audit().isEmpty)
    }

    @Test(
        "the best sellers summed from the rollups are SQLite's own GROUP BY over the same window, for every window, limit and rank"
    )
    func topSellersMatchSQL() async throws {
        let store = try temporaryStore()
        let now: UnixMillis = 1_750_046_800_000  // 2025-06-16 13:06 in Seoul: today has half a day of sales
        try SalesHistory.seed(into: store, plan: SalesHistory.Plan(lines: 4_000, days: 4), now: now)
        let today = store.configuration.calendar.day(containing: now)
        for (days, limit) in [(1, 5), (3, 5), (4, 50), (2, 1)] {
            for rankBy in RankBy.allCases {
                let span = today.adding(days: 1 - days)...today
                let ours = try await store.topSellers(in: span, limit: limit, by: rankBy)
                let order = rankBy == .units ? "quantity DESC, orders DESC" : "orders DESC, quantity DESC"
                let sql = try store.readNow { db in
                    try Row.fetchAll(
                        db,
                        sql: """
                            SELECT s.product_id, p.name, SUM(s.quantity) AS quantity, SUM(s.orders) AS orders
                            FROM product_daily_sales s JOIN products p ON p.id = s.product_id
                            WHERE s.day BETWEEN ? AND ? GROUP BY s.product_id HAVING SUM(s.quantity) > 0
                            ORDER BY \(order), s.product_id LIMIT ?
                            """,
                        arguments: [span.lowerBound.rawValue, today.rawValue, limit]
                    ).map {
                        TopSeller(
                            productID: ProductID($0["product_id"]),
                            name: $0["name"],
                            quantitySold: $0["quantity"],
                            orderCount: $0["orders"]
                        )
                    }
                }
                #expect(ours == sql && ours.count == min(limit, 50), "\(days) days, top \(limit) by \(rankBy)")
            }
        }
    }

    @Test(
        "checkpointAll folds the WAL into the file and empties it: a copy of the .sqlite file alone is the whole database"
    )
    func checkpointAll() async throws {
        let store = try temporaryStore()
        try SalesHistory.seed(into: store, plan: SalesHistory.Plan(lines: 2_000, days: 1))
        let wal = store.configuration.path + "-wal"
        #expect(try #require(FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) > 0)
        #expect(try store.checkpointAll())
        #expect(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int == 0)

        let copy = store.configuration.path + ".copy.sqlite"
        try FileManager.default.copyItem(atPath: store.configuration.path, toPath: copy)
        let copied = try SQLiteStore(StoreConfiguration(path: copy))
        let count = "SELECT COUNT(*) FROM order_lines"
        #expect(try copied.readNow { try Int.fetchOne($0, sql: count) } == 2_000)
        #expect(try copied.audit().isEmpty)
    }

    @Test(
        "checkpointAll waits out another connection's checkpoint (SQLite answers busy at once, without the busy handler) instead of leaving the WAL behind"
    )
    func checkpointAllWaitsForOtherCheckpoints() throws {
        let store = try temporaryStore()
        let wal = store.configuration.path + "-wal"
        // Another connection checkpoints the same file in a tight loop, as the store's own
        // background checkpointer (every 100 ms) or another process's would.
        let other = try DatabaseQueue(path: store.configuration.path)
        let stop = Atomic<Bool>(false)
        let passes = Atomic<Int>(0)
        let competitor = Thread {
            while !stop.load(ordering: .relaxed) {
                _ = try? other.writeWithoutTransaction { try Row.fetchOne($0, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
                passes.add(1, ordering: .relaxed)
            }
        }
        competitor.start()
        defer { stop.store(true, ordering: .relaxed) }
        for round in 0..<30 {
            try store.pool.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS filler(page BLOB)")
                try db.execute(
                    sql: """
                        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
                        INSERT INTO filler SELECT randomblob(4000) FROM n
                        """
                )
            }
            #expect(try store.checkpointAll(), "round \(round)")
            #expect(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int == 0, "round \(round)")
        }
        #expect(passes.load(ordering: .relaxed) > 0)
    }
}
