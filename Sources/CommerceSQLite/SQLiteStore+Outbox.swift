import CommerceDomain
import CommerceUseCases
import Foundation
import GRDB

extension SQLiteStore: OutboxStore {
    /// Writes the event in the caller's transaction: it exists if and only if the order change does.
    static func appendEvent(_ db: Database, _ kind: OrderEvent.Kind, order: Order, amount: Won, at: UnixMillis) throws {
        let event = OrderEvent(eventID: Self.eventID(at: at), kind: kind, order: order, amount: amount, at: at)
        let json = event.json
        try db.execute(direct: """
            INSERT INTO outbox (event_id, kind, order_id, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)
            """, event.eventID, kind.rawValue, order.id.rawValue, json, at, at)
    }

    /// A time-ordered (version 7, RFC 9562) UUID, lower-case: 48 bits of Unix milliseconds, then 74
    /// random bits from the system generator (getrandom). Time-ordered ids append to the outbox's
    /// unique index instead of landing on a random page of it in every commit (random version 4 ids
    /// dirtied one more index page per order). Foundation's `UUID()` on Linux also opened
    /// /dev/urandom on every call, inside the write transaction.
    static func eventID(at millis: UnixMillis) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (generator.next() as UInt64, generator.next() as UInt64)
        let high = UInt64(UInt64(truncatingIfNeeded: millis) & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | (random.0 & 0x0FFF)
        let low = (random.1 & ~(0b11 << 62)) | (0b10 << 62)  // RFC 9562 variant
        // 8-4-4-4-12 lower-case hex digits, written straight into the string's storage.
        return String(unsafeUninitializedCapacity: 36) { out in
            let digits: StaticString = "0123456789abcdef"
            var index = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    out[index] = UInt8(ascii: "-")
                    index += 1
                }
                let word = nibble < 16 ? high : low
                out[index] = digits.utf8Start[Int(truncatingIfNeeded: word >> (60 - 4 * UInt64(nibble % 16)) & 0xF)]
                index += 1
            }
            return index
        }
    }

    public func claimEvents(limit: Int, leaseMillis: Int64, now: UnixMillis) -> PendingWrite<[PendingEvent]> {
        // Look first with a read: an idle relay (polling every few ms, in every instance) takes no write lock.
        let anyDue = Result {
            try self.readNow { db in
                try Bool.fetchOne(db.cachedStatement(sql: """
                    SELECT 1 FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1
                    """), arguments: [now, now]) != nil
            }
        }
        guard case .success(true) = anyDue else { return PendingWrite(anyDue.map { _ in [] }) }
        return self.transaction { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                UPDATE outbox SET lease_until = :until, attempts = attempts + 1
                WHERE id IN (SELECT id FROM outbox
                             WHERE delivered_at IS NULL AND next_attempt_at <= :now AND (lease_until IS NULL OR lease_until <= :now)
                             ORDER BY id LIMIT :limit)
                RETURNING id, event_id, payload, attempts
                """), arguments: ["until": now + leaseMillis, "now": now, "limit": limit])
                .map { PendingEvent(sequence: $0["id"], eventID: $0["event_id"], json: $0["payload"], attempts: $0["attempts"]) }
                .sorted { $0.sequence < $1.sequence }
        }
    }

    public func markDelivered(_ sequences: [Int64], at: UnixMillis) -> PendingWrite<Void> {
        guard !sequences.isEmpty else { return PendingWrite(.success(())) }
        // One statement for the whole delivered batch, the ids passed as a JSON array.
        let ids = "[" + sequences.map(String.init).joined(separator: ",") + "]"
        return self.transaction { db in
            try db.run("""
                UPDATE outbox SET delivered_at = ?, lease_until = NULL, last_error = NULL WHERE id IN (SELECT value FROM json_each(?))
                """, arguments: [at, ids])
        }
    }

    public func markFailed(_ sequence: Int64, error: String, retryAt: UnixMillis) -> PendingWrite<Void> {
        self.transaction { db in
            try db.run("UPDATE outbox SET lease_until = NULL, next_attempt_at = ?, last_error = ? WHERE id = ? AND delivered_at IS NULL",
                           arguments: [retryAt, String(error.prefix(500)), sequence])
        }
    }

    public func undeliveredEventCount() async throws -> Int {
        try await self.readOne { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")) ?? 0 }
    }
}
