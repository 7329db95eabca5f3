import CommerceDomain
import CommerceUseCases
import Foundation
import GRDB

extension SQLiteStore: OutboxStore {
    /// Writes the event in the caller's transaction: it exists if and only if the order change does.
    static func appendEvent(
        _ db: Database,
        _ kind: OrderEvent.Kind,
        order: Order,
        amount: Won,
        at: UnixMillis,
        traceParent: String?
    ) throws {
        let event = OrderEvent(
            eventID: Self.eventID(at: at),
            kind: kind,
            order: order,
            amount: amount,
            at: at,
            traceParent: traceParent
        )
        try db.execute(
            direct: """
                INSERT INTO outbox (event_id, kind, order_id, payload, created_at) VALUES (?, ?, ?, ?, ?)
                """,
            event.eventID,
            kind.rawValue,
            order.id.rawValue,
            UTF8Text(bytes: event.jsonUTF8),
            at
        )
    }

    /// A time-ordered event id (``OrderEventID``).
    static func eventID(at millis: UnixMillis) -> String { OrderEventID.make(at: millis) }

    public func takeRelayLease(owner: String, leaseMillis: Int64, now: UnixMillis) -> PendingWrite<RelayLease?> {
        // An idle relay (polling every few ms, in every instance) takes no write lock.
        let due: (Database) throws -> Bool = { db in
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT 1 FROM outbox_relay r
                        WHERE r.id = 1 AND r.next_attempt_at <= :now AND (r.owner = :owner OR r.lease_until <= :now)
                          AND EXISTS (SELECT 1 FROM outbox WHERE id > r.delivered_through)
                        """
                ),
                arguments: ["now": now, "owner": owner]
            ) != nil
        }
        return self.transaction(ifDue: due, otherwise: nil) { db in
            // The lease is the guard: one relay per database at a time.
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        UPDATE outbox_relay SET owner = :owner, lease_until = :until
                        WHERE id = 1 AND next_attempt_at <= :now AND (owner = :owner OR lease_until <= :now)
                        RETURNING delivered_through, head_attempts
                        """
                ),
                arguments: ["owner": owner, "until": now + leaseMillis, "now": now]
            )
            .map { RelayLease(deliveredThrough: $0["delivered_through"], headAttempts: $0["head_attempts"]) }
        }
    }

    /// Sequences are in commit order here (one writer): the events after the lease's cursor.
    public func events(for lease: RelayLease, limit: Int) async throws -> [PendingEvent] {
        let sequence = lease.deliveredThrough
        return try await self.readOne { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT id, event_id, payload, created_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?"
                ),
                arguments: [sequence, limit]
            )
            .map {
                PendingEvent(
                    sequence: $0["id"],
                    eventID: $0["event_id"],
                    json: $0["payload"],
                    attempts: 1,
                    createdAt: $0["created_at"]
                )
            }
        }
    }

    /// The batch was contiguous from the cursor on: the cursor moves to its last event.
    public func markDelivered(_ sequences: [Int64], owner: String) -> PendingWrite<Void> {
        guard let sequence = sequences.max() else { return PendingWrite(.success(())) }
        return self.transaction { db in
            try db.run(
                """
                UPDATE outbox_relay SET delivered_through = ?, head_attempts = 0, next_attempt_at = 0, last_error = NULL
                WHERE id = 1 AND owner = ? AND delivered_through < ?
                """,
                arguments: [sequence, owner, sequence]
            )
        }
    }

    public func markFailed(
        _ sequence: Int64,
        attempts: Int,
        error: String,
        retryAt: UnixMillis,
        owner: String
    ) -> PendingWrite<Void> {
        self.transaction { db in
            try db.run(
                """
                UPDATE outbox_relay SET head_attempts = ?, next_attempt_at = ?, last_error = ?
                WHERE id = 1 AND owner = ? AND delivered_through < ?
                """,
                arguments: [attempts, retryAt, String(error.prefix(500)), owner, sequence]
            )
        }
    }

    public func releaseRelayLease(owner: String) -> PendingWrite<Void> {
        self.transaction { db in
            try db.run("UPDATE outbox_relay SET lease_until = 0 WHERE id = 1 AND owner = ?", arguments: [owner])
        }
    }

    public func oldestUndeliveredEventTime() async throws -> UnixMillis? {
        try await self.readOne { db in
            try Int64.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT created_at FROM outbox WHERE id > (SELECT delivered_through FROM outbox_relay WHERE id = 1) ORDER BY id LIMIT 1
                        """
                )
            )
        }
    }

    /// Never the newest event, whose id SQLite would hand out again (the schema's trigger refuses it too).
    public func pruneDeliveredEvents(before cutoff: UnixMillis, limit: Int) -> PendingWrite<Int> {
        self.transaction { db in
            try db.execute(
                sql: "UPDATE outbox_relay SET pruned_before = MAX(pruned_before, ?) WHERE id = 1",
                arguments: [cutoff]
            )
            // Only the run of events before the first one still inside the retention, in id order:
            // the scan stops there. Filtering every event by its time instead read the whole table
            // (a week of events: 780,000 rows on a busy shop) on each pass that found nothing to
            // prune, on the one writer. An event older than one before it waits for it (commit
            // times are a few milliseconds out of id order at most).
            try db.execute(
                sql: """
                    DELETE FROM outbox WHERE id IN (
                        SELECT id FROM outbox
                        WHERE id <= (SELECT delivered_through FROM outbox_relay WHERE id = 1)
                          AND id < (SELECT MAX(id) FROM outbox)
                          AND id < IFNULL((SELECT id FROM outbox WHERE created_at >= ?1 ORDER BY id LIMIT 1), 9223372036854775807)
                          AND created_at < ?1
                        ORDER BY id LIMIT ?2)
                    """,
                arguments: [cutoff, limit]
            )
            return db.changesCount
        }
    }

    public func undeliveredEventCount() async throws -> Int {
        try await self.readOne { db in
            try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT COUNT(*) FROM outbox WHERE id > (SELECT delivered_through FROM outbox_relay WHERE id = 1)
                        """
                )
            ) ?? 0
        }
    }
}
