import CommerceDomain
import Testing

@Suite("Balance policy and validation")
struct PolicyTests {
    @Test(
        "charges below 1 or below the minimum, or above the ceiling, are refused with their reasons",
        arguments: [
            (Int64(-5), "INVALID_AMOUNT"), (0, "INVALID_AMOUNT"), (999, "CHARGE_BELOW_MINIMUM"),
            (1_000_001, "BALANCE_LIMIT_EXCEEDED"),
        ]
    )
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

    @Test("a page holds 1 to 500 items")
    func pageSizes() throws {
        #expect(try PageQuery.validate(size: 1, after: nil) == PageQuery(size: 1, after: nil))
        #expect(try PageQuery.validate(size: 500, after: 42) == PageQuery(size: 500, after: 42))
        #expect(throws: CommerceError.self) { try PageQuery.validate(size: 0, after: nil) }
        #expect(throws: CommerceError.self) { try PageQuery.validate(size: 501, after: nil) }
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
        #expect(throws: CommerceError.self) { try Validate.idempotencyKey("") }
        #expect(try Validate.idempotencyKey("order-1") == "order-1")
        #expect(throws: CommerceError.self) { try Validate.idempotencyKey("has space") }
        #expect(throws: CommerceError.self) { try Validate.idempotencyKey(String(repeating: "k", count: 129)) }
    }
}
