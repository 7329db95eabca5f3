import CommerceDomain
import CommerceUseCases
import PostgresNIO

/// Idempotency keys: a retried order is answered with the first one's receipt.
extension PostgresStore {
    /// The first order placed under `key`, if any; a different fingerprint under it is refused.
    /// `fingerprint` nil accepts any (a cart checkout: the cart is empty after the first one).
    static func replayedOrder(
        _ session: Session,
        user: UserID,
        key: String,
        fingerprint: String?
    ) async throws -> OrderReceipt? {
        guard
            let (firstFingerprint, orderID, balanceAfter) = try await session.first(
                """
                SELECT fingerprint, order_id, balance_after FROM order_requests WHERE user_id = \(user.rawValue) AND key = \(key)
                """,
                as: (String, Int64, Int64).self
            )
        else { return nil }
        return try await Self.replay(session, key: (firstFingerprint, orderID, balanceAfter), fingerprint: fingerprint)
    }

    static func replay(
        _ session: Session,
        key first: (fingerprint: String, order: Int64, balanceAfter: Int64),
        fingerprint: String?
    )
        async throws -> OrderReceipt?
    {
        if let fingerprint, first.fingerprint != fingerprint {
            throw CommerceError(
                .idempotencyKeyReused,
                "idempotency key was first used for a different order (order \(first.order))",
                details: ["order_id": "\(first.order)"]
            )
        }
        guard let order = try await Self.loadOrder(session, OrderID(first.order)) else { return nil }
        return OrderReceipt(order: order, balanceAfter: first.balanceAfter, replayed: true)
    }
}
