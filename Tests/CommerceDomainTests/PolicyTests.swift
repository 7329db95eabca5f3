import CommerceDomain
import Testing

@Suite("Balance policy and validation")
struct PolicyTests {
    @Test("charges below 1 or below the minimum, or above the ceiling, are refused with their reasons", arguments: [
        (Int64(-5), "INVALID_AMOUNT"), (0, "INVALID_AMOUNT"), (999, "CHARGE_BELOW_MINIMUM"), (1_000_001, "BALANCE_LIMIT_EXCEEDED"),
    ])
    func refusedCharges(amount: Int64, reason: String) {
        #expect(throws: CommerceError.self) { try BalancePolicy.standard.validateCharge(amount: amount) }
        do {
            try BalancePolicy.standard.validateCharge(amount: amount)
        } catch {
            #expect(error.reason.rawValue == reason)
        }
    }

    @Test("charges from the minimum to the ceiling pass", arguments: [Int64(1_000), 50_000, 1_000_000])
    func acceptedCharges(amount: Int64) throws {
        try BalancePolicy.standard.validateCharge(amount: amount)
    }

    @Test("page tokens: empty starts, issued tokens round-trip, forged ones are refused")
    func pageTokens() throws {
        #expect(try PageQuery.parse(size: 0, token: "") == PageQuery(size: 50, after: nil))
        #expect(try PageQuery.parse(size: 10, token: PageQuery.token(after: 42)) == PageQuery(size: 10, after: 42))
        #expect(throws: CommerceError.self) { try PageQuery.parse(size: 10, token: "drop table") }
        #expect(throws: CommerceError.self) { try PageQuery.parse(size: -1, token: "") }
        #expect(throws: CommerceError.self) { try PageQuery.parse(size: 501, token: "") }
    }

    @Test("names are trimmed, bounded and free of control characters")
    func names() throws {
        #expect(try Validate.name("  Kim  ", maxLength: 10) == "Kim")
        #expect(throws: CommerceError.self) { try Validate.name("   ", maxLength: 10) }
        #expect(throws: CommerceError.self) { try Validate.name(String(repeating: "x", count: 11), maxLength: 10) }
        #expect(throws: CommerceError.self) { try Validate.name("a\u{7}b", maxLength: 10) }
    }

    @Test("ids must be positive; idempotency keys printable ASCII up to 128")
    func idsAndKeys() throws {
        #expect(throws: CommerceError.self) { try Validate.userID(0) }
        #expect(throws: CommerceError.self) { try Validate.productID(-3) }
        #expect(try Validate.idempotencyKey("") == nil)
        #expect(try Validate.idempotencyKey("order-1") == "order-1")
        #expect(throws: CommerceError.self) { try Validate.idempotencyKey("has space") }
        #expect(throws: CommerceError.self) { try Validate.idempotencyKey(String(repeating: "k", count: 129)) }
    }
}
