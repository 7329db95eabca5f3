/// The rules a charge must follow.
public struct BalancePolicy: Hashable, Sendable {
    /// Smallest single charge, in won.
    public var minimumCharge: Won
    /// No balance may ever exceed this, in won.
    public var maximumBalance: Won

    public static let standard = BalancePolicy(minimumCharge: 1_000, maximumBalance: 1_000_000)

    public init(minimumCharge: Won, maximumBalance: Won) {
        self.minimumCharge = minimumCharge
        self.maximumBalance = maximumBalance
    }

    /// Checks what can be checked without the current balance; the store checks the ceiling
    /// atomically with the update.
    public func validateCharge(amount: Won) throws(CommerceError) {
        guard amount > 0 else {
            throw CommerceError(.invalidAmount, "amount must be positive, got \(amount)")
        }
        guard amount >= self.minimumCharge else {
            throw CommerceError(
                .chargeBelowMinimum,
                "the minimum charge is \(self.minimumCharge) won, got \(amount)",
                details: ["minimum": "\(self.minimumCharge)"]
            )
        }
        guard amount <= self.maximumBalance else {
            throw CommerceError(
                .balanceLimitExceeded,
                "a charge of \(amount) won would exceed the balance limit of \(self.maximumBalance) won",
                details: ["limit": "\(self.maximumBalance)"]
            )
        }
    }

    public func limitExceeded(userID: UserID, amount: Won, balance: Won) -> CommerceError {
        CommerceError(
            .balanceLimitExceeded,
            "charging \(amount) won to a balance of \(balance) won would exceed the limit of \(self.maximumBalance) won",
            details: ["limit": "\(self.maximumBalance)", "balance": "\(balance)", "user_id": "\(userID)"]
        )
    }
}
