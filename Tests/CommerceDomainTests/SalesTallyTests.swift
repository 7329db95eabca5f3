import CommerceDomain
import Testing

@Suite("Sales tally")
struct SalesTallyTests {
    @Test("days add up per product; the top is most units first, ties by the lower product id, nothing-sold left out")
    func ranking() {
        var tally = SalesTally()
        tally.add(ProductID(7), quantity: 3, orders: 2)
        tally.add(ProductID(2), quantity: 1, orders: 1)
        tally.add(ProductID(7), quantity: 2, orders: 1)  // another day of 7: 5 units in 3 orders
        tally.add(ProductID(4), quantity: 5, orders: 5)  // ties with 7, lower id first
        tally.add(ProductID(9), quantity: 0, orders: 0)  // every sale refunded
        tally.add(ProductID(1), quantity: 1, orders: 1)  // ties with 2, lower id first
        let top = tally.top(10)
        #expect(top.map(\.productID.rawValue) == [4, 7, 1, 2])
        #expect(top.map(\.quantity) == [5, 5, 1, 1] && top.map(\.orders) == [5, 3, 1, 1])
        #expect(tally.top(2).map(\.productID.rawValue) == [4, 7])
        #expect(tally.top(0).isEmpty && SalesTally().top(5).isEmpty)
    }

    @Test("the top k of many products is the first k of all of them sorted", arguments: [1, 5, 50])
    func topOfMany(limit: Int) {
        var generator = SystemRandomNumberGenerator()
        var tally = SalesTally()
        var sums: [Int64: Int64] = [:]
        for _ in 0..<5_000 {
            let product = Int64.random(in: 1...2_000, using: &generator), quantity = Int64.random(in: 0...20, using: &generator)
            tally.add(ProductID(product), quantity: quantity, orders: 1)
            sums[product, default: 0] += quantity
        }
        let expected = sums.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit)
        let top = tally.top(limit)
        #expect(top.map(\.productID.rawValue) == expected.map(\.key) && top.map(\.quantity) == expected.map(\.value))
    }
}
