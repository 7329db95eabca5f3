import CommerceDomain
import Foundation
import FuzzSupport

/// The hand-written JSON of the events the data platform receives: for any event, the line it
/// writes is one line of valid JSON that `JSONDecoder` reads back as the same event, and its
/// delivered form (with `sequence` first) is a JSON object carrying that sequence.
///
/// An input that is itself an event's JSON is read with `JSONDecoder`; any other input is cut into
/// the event's strings (ids and product names with arbitrary Unicode and control characters) and
/// numbers.
@_cdecl("FuzzEventJSON_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzEventJSON(data, size) }
}

func fuzzEventJSON(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let event = (try? JSONDecoder().decode(OrderEvent.self, from: Data(bytes))) ?? OrderEvent(fuzzed: Array(bytes))
    let json = event.json
    require(!json.contains("\n"), "an event's JSON spans lines")
    let decoded: OrderEvent
    do {
        decoded = try JSONDecoder().decode(OrderEvent.self, from: Data(json.utf8))
    } catch {
        fatalError("the event's JSON does not decode: \(error)\n\(json)")
    }
    require(decoded == event, "the JSON decodes as another event:\n\(json)")

    let sequence = Int64(count) * 7_919
    let delivered = PendingEvent(sequence: sequence, eventID: event.eventID, json: json, attempts: 0, createdAt: 0)
        .delivered
    let object = try! JSONSerialization.jsonObject(with: Data(delivered.utf8)) as! [String: Any]
    require((object["sequence"] as? NSNumber)?.int64Value == sequence, "sequence lost:\n\(delivered)")
    require(object["event_id"] as? String == event.eventID, "event_id changed:\n\(delivered)")
    return 0
}

extension OrderEvent {
    /// An event built from raw bytes: 0xFF separates the strings, the bytes before them give numbers.
    init(fuzzed bytes: [UInt8]) {
        var parts = bytes.split(separator: 0xFF, omittingEmptySubsequences: false).makeIterator()
        let head = Array(parts.next() ?? [])
        func number(_ index: Int) -> Int64 {
            guard head.count >= 8 * (index + 1) else { return Int64(index) }
            return head[(8 * index)..<(8 * index + 8)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        let text = { (part: ArraySlice<UInt8>?) in String(decoding: part ?? [], as: UTF8.self) }
        let eventID = text(parts.next())
        var lines: [OrderLine] = []
        while let name = parts.next() {
            let index = lines.count + 6
            lines.append(
                OrderLine(
                    productID: ProductID(number(index)),
                    productName: text(name),
                    unitPrice: number(index + 1),
                    quantity: number(index + 2)
                )
            )
        }
        let order = Order(
            id: OrderID(number(0)),
            userID: UserID(number(1)),
            status: .paid,
            lines: lines,
            total: number(2),
            discount: number(3),
            couponID: head.count % 2 == 0 ? nil : CouponID(number(4)),
            createdAt: 0
        )
        self.init(
            eventID: eventID,
            kind: head.count % 3 == 0 ? .orderRefunded : .orderPaid,
            order: order,
            amount: number(5),
            at: number(5) ^ 0x5555
        )
    }
}
