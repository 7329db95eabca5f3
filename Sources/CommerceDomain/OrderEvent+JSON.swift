extension OrderEvent {
    /// The event as one line of JSON, keys sorted — what the outbox stores and the data platform
    /// receives; `JSONDecoder` reads it back as this type.
    ///
    /// Written by hand because it is built inside the write transaction of every order: Foundation's
    /// `JSONEncoder` took a third of an order's time there (perf, `benchmarks/README.md`).
    public var json: String {
        var out = "{\"amount\":\(self.amount)"
        if let couponID = self.couponID { out += ",\"coupon_id\":\(couponID)" }
        out += ",\"discount\":\(self.discount),\"event_id\":"
        Self.appendString(self.eventID, to: &out)
        out += ",\"lines\":["
        for (index, line) in self.lines.enumerated() {
            if index > 0 { out += "," }
            out += "{\"product_id\":\(line.productID),\"product_name\":"
            Self.appendString(line.productName, to: &out)
            out += ",\"quantity\":\(line.quantity),\"unit_price\":\(line.unitPrice)}"
        }
        out += "],\"occurred_at_unix_ms\":\(self.occurredAtUnixMs),\"order_id\":\(self.orderID),\"total\":\(self.total),\"type\":\""
        out += self.kind.rawValue
        out += "\",\"user_id\":\(self.userID)}"
        return out
    }

    /// A JSON string literal (RFC 8259: quote, backslash and control characters escaped).
    static func appendString(_ string: String, to out: inout String) {
        out += "\""
        // Most strings (ids, product names) need no escaping: append them whole.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += string
            out += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
