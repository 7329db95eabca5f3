import CommerceDomain
import PostgresNIO

/// What PostgreSQL's errors mean to the store and its callers.
enum PostgresErrors {
    /// SQLSTATE of a server error, if it is one.
    static func sqlState(_ error: any Error) -> String? {
        guard let error = error as? PSQLError, error.code == .server else { return nil }
        return error.serverInfo?[.sqlState]
    }

    /// The constraint a server error names, if any.
    static func constraint(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.constraintName]
    }

    /// Unique constraints whose violation means a concurrent first use of an idempotency key:
    /// running the write again finds it and answers as a replay.
    static let idempotencyConstraints: Set<String> = ["order_requests_pkey", "idempotency_keys_pkey"]

    /// What an order decided on (a product's price or name) changed between its read and its
    /// guarded write: running it again reads them anew.
    struct InputsChanged: Error {}

    /// A deadlock, a serialization failure, a raced idempotency key, or inputs changed under a
    /// write: running the write again (alone) is safe and will decide it.
    static func isConflict(_ error: any Error) -> Bool {
        if error is InputsChanged { return true }
        return switch self.sqlState(error) {
        case "40001", "40P01": true
        case "23505": self.constraint(error).map(self.idempotencyConstraints.contains) ?? false
        default: false
        }
    }

    /// Whether `error` is a unique violation of `constraint`.
    static func isUniqueViolation(_ error: any Error, of constraint: String) -> Bool {
        self.sqlState(error) == "23505" && self.constraint(error) == constraint
    }

    /// What the caller sees: a ``CommerceError`` as it is; a conflict that outlived its retries is
    /// `STORAGE_BUSY`; a server that cannot be reached, is shutting down or restarting, or a
    /// connection lost, is `STORAGE_UNAVAILABLE` (retryable); anything else passes through (INTERNAL).
    @Sendable static func storeError(_ error: any Error) -> any Error {
        if error is CommerceError || error is CancellationError { return error }
        if self.isConflict(error) {
            return CommerceError(.storageBusy, "the write kept conflicting with concurrent writes; retry")
        }
        if let state = self.sqlState(error) {
            // 53100 disk_full, 53200 out_of_memory … are 53 too, but a full disk has its own reason.
            if state == "53100" {
                return CommerceError(
                    .storageFull,
                    "the database's disk is full (SQLSTATE 53100); nothing was committed, retry later"
                )
            }
            // 08: connection exceptions; 57P01-03: admin/crash shutdown, cannot connect now; 53: insufficient resources.
            if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") {
                return CommerceError(.storageUnavailable, "the database is unavailable (SQLSTATE \(state)); retry")
            }
            return error
        }
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                .sslUnsupported, .failedToAddSSLHandler:
                return CommerceError(.storageUnavailable, "the database connection failed (\(error.code)); retry")
            default:
                return error
            }
        }
        return error
    }
}
