import CommerceDomain
import CommerceUseCases
import PostgresNIO

/// The outbox on PostgreSQL records delivery per event (`delivered_at`): writers on several
/// connections and hosts take event sequences out of commit order (a sequence taken first may
/// commit last), so no cursor can say "everything up to here is delivered". The relay takes the
/// oldest undelivered events; one that commits late is simply in a later batch. An order's refund
/// commits after its payment and reads it first, so per order the order holds.
extension PostgresStore: OutboxStore {
    /// Writes the event in the caller's transaction: it exists if and only if the order change does.
    static func appendEvent(
        _ session: Session,
        _ kind: OrderEvent.Kind,
        order: Order,
        amount: Won,
        at: UnixMillis,
        traceParent: String?
    ) async throws {
        let event = OrderEvent(
            eventID: OrderEventID.make(at: at),
            kind: kind,
            order: order,
            amount: amount,
            at: at,
            traceParent: traceParent
        )
        try await session.write(
            """
            INSERT INTO outbox (event_id, kind, order_id, payload, created_at)
            VALUES (\(event.eventID), \(kind.rawValue), \(order.id.rawValue), \(event.json), \(at))
            """
        )
    }

    public func takeRelayLease(owner: String, leaseMillis: Int64, now: UnixMillis) -> PendingWrite<RelayLease?> {
        // Every instance polls every few ms: an idle poll reads, and starts no write transaction.
        self.transaction(
            ifDue: { session in
                try await session.first(
                    """
                    SELECT EXISTS (SELECT 1 FROM outbox WHERE delivered_at IS NULL) FROM outbox_relay
                    WHERE id = 1 AND next_attempt_at <= \(now) AND (owner = \(owner) OR lease_until <= \(now))
                    """,
                    as: Bool.self
                ) ?? false
            },
            otherwise: nil
        ) { session in
            // The lease is the guard: one relay per database at a time.
            try await session.write(
                """
                UPDATE outbox_relay SET owner = \(owner), lease_until = \(now + leaseMillis)
                WHERE id = 1 AND next_attempt_at <= \(now) AND (owner = \(owner) OR lease_until <= \(now))
                  AND EXISTS (SELECT 1 FROM outbox WHERE delivered_at IS NULL)
                RETURNING head_attempts
                """,
                returning: Int64.self
            ).first.map { RelayLease(deliveredThrough: 0, headAttempts: Int($0)) }
        }
    }

    public func events(for lease: RelayLease, limit: Int) async throws -> [PendingEvent] {
        try await self.withSession { session in
            try await session.all(
                """
                SELECT id, event_id, payload, created_at FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT \(Int64(limit))
                """,
                as: (Int64, String, String, Int64).self
            ).map {
                PendingEvent(sequence: $0.0, eventID: $0.1, json: $0.2, attempts: 1, createdAt: $0.3)
            }
        }
    }

    public func markDelivered(_ sequences: [Int64], owner: String) -> PendingWrite<Void> {
        guard !sequences.isEmpty else { return PendingWrite(.success(())) }
        return self.transaction { session in
            let holds = try await session.write(
                """
                UPDATE outbox_relay SET head_attempts = 0, next_attempt_at = 0, last_error = NULL WHERE id = 1 AND owner = \(owner) RETURNING id
                """,
                returning: Int64.self
            )
            guard !holds.isEmpty else { return }
            try await session.write(
                "UPDATE outbox SET delivered_at = \(systemClock()) WHERE id = ANY(\(sequences)) AND delivered_at IS NULL"
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
        self.transaction { session in
            try await session.write(
                """
                UPDATE outbox_relay SET head_attempts = \(Int64(attempts)), next_attempt_at = \(retryAt), last_error = \(String(error.prefix(500)))
                WHERE id = 1 AND owner = \(owner)
                """
            )
        }
    }

    public func releaseRelayLease(owner: String) -> PendingWrite<Void> {
        self.transaction { session in
            try await session.write("UPDATE outbox_relay SET lease_until = 0 WHERE id = 1 AND owner = \(owner)")
        }
    }

    /// As on SQLite: the run of events before the first one inside the retention, in id order, so
    /// that a pass with nothing to prune stops at once instead of reading every event.
    public func pruneDeliveredEvents(before cutoff: UnixMillis, limit: Int) -> PendingWrite<Int> {
        self.transaction { session in
            try await session.write(
                "UPDATE outbox_relay SET pruned_before = GREATEST(pruned_before, \(cutoff)) WHERE id = 1"
            )
            return try await session.write(
                """
                DELETE FROM outbox WHERE id IN (
                    SELECT id FROM outbox WHERE delivered_at IS NOT NULL AND created_at < \(cutoff)
                      AND id < COALESCE((SELECT id FROM outbox WHERE created_at >= \(cutoff) ORDER BY id LIMIT 1), \(Int64.max))
                    ORDER BY id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """,
                returning: Int64.self
            ).count
        }
    }

    public func undeliveredEventCount() async throws -> Int {
        try await self.withSession { session in
            Int(try await session.first("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL", as: Int64.self) ?? 0)
        }
    }

    public func oldestUndeliveredEventTime() async throws -> UnixMillis? {
        try await self.withSession { session in
            try await session.first(
                "SELECT created_at FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT 1",
                as: Int64.self
            )
        }
    }
}
