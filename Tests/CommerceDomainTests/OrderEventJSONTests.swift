import CommerceDomain
import Foundation
import Testing

@Suite("Order event JSON")
struct OrderEventJSONTests {
    static func event(names: [String], coupon: CouponID?) -> OrderEvent {
        let lines = names.enumerated().map { index, name in
            OrderLine(
                productID: ProductID(Int64(index + 1)),
                productName: name,
                unitPrice: 1_000 * Int64(index + 1),
                quantity: Int64(index + 2)
            )
        }
        let order = Order(
            id: OrderID(77),
            userID: UserID(5),
            status: .paid,
            lines: lines,
            total: 9_000,
            discount: coupon == nil ? 0 : 500,
            couponID: coupon,
            createdAt: 1_700_000_000_000,
            expiresAt: nil
        )
        return OrderEvent(
            eventID: "e-1",
            kind: .orderPaid,
            order: order,
            amount: coupon == nil ? 9_000 : 8_500,
            at: 1_700_000_000_123
        )
    }

    @Test(
        "decodes back to the same event, whatever the product names hold",
        arguments: [
            ["plain"], ["quote \" and backslash \\", "slash / tab \t newline \n return \r"],
            ["control \u{01}\u{1F} bell \u{07}", "한국어 é 🎉"], [],
        ]
    )
    func roundTrip(names: [String]) throws {
        for coupon in [nil, CouponID(9)] {
            let event = Self.event(names: names, coupon: coupon)
            let decoded = try JSONDecoder().decode(OrderEvent.self, from: Data(event.json.utf8))
            #expect(decoded == event)
        }
    }

    @Test(
        "writes every Int64 exactly: zero, one digit, the extremes, negatives",
        arguments: [0, 7, -7, 10, 1_000, Int64.max, Int64.min, -1_000_000_007]
    )
    func numbers(value: Int64) throws {
        let line = OrderLine(productID: ProductID(value), productName: "n", unitPrice: value, quantity: value)
        let order = Order(
            id: OrderID(value),
            userID: UserID(value),
            status: .paid,
            lines: [line],
            total: value,
            discount: value,
            couponID: CouponID(value),
            createdAt: value,
            expiresAt: nil
        )
        let event = OrderEvent(eventID: "e", kind: .orderRefunded, order: order, amount: value, at: value)
        #expect(try JSONDecoder().decode(OrderEvent.self, from: Data(event.json.utf8)) == event)
        #expect(event.json.hasPrefix("{\"amount\":\(value),\"coupon_id\":\(value),"))
    }

    @Test("is one line with sorted keys, the same object Foundation's encoder writes")
    func sameObjectAsJSONEncoder() throws {
        let event = Self.event(names: ["a/b \"c\""], coupon: CouponID(3))
        #expect(!event.json.contains("\n"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let ours = try JSONSerialization.jsonObject(with: Data(event.json.utf8)) as? NSDictionary
        let foundation = try JSONSerialization.jsonObject(with: encoder.encode(event)) as? NSDictionary
        #expect(ours == foundation)
        let keys = event.json.split(separator: "\"lines\"")[0]
        #expect(keys == "{\"amount\":8500,\"coupon_id\":3,\"discount\":500,\"event_id\":\"e-1\",")
    }
}
