extension OrderEvent {
    /// The event as one line of JSON, keys sorted — what the outbox stores and the data platform
    /// receives; `JSONDecoder` reads it back as this type.
    ///
    /// Written by hand, into bytes, because it is built inside the write transaction of every order,
    /// on the thread that commits every write: Foundation's `JSONEncoder` took a third of an order's
    /// time there, and string interpolation still 4 % of the server's (perf, `benchmarks/README.md`).
    public var json: String { String(decoding: self.jsonUTF8, as: UTF8.self) }

    /// ``json``'s UTF-8 bytes, as the store binds them (no `String` made and checked in between).
    public var jsonUTF8: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320 + 120 * self.lines.count)
        Self.append("{\"amount\":", self.amount, to: &out)
        if let couponID = self.couponID { Self.append(",\"coupon_id\":", couponID, to: &out) }
        Self.append(",\"discount\":", self.discount, to: &out)
        out.append(contentsOf: ",\"event_id\":".utf8)
        Self.appendString(self.eventID, to: &out)
        out.append(contentsOf: ",\"lines\":[".utf8)
        for (index, line) in self.lines.enumerated() {
            Self.append(index > 0 ? ",{\"product_id\":" : "{\"product_id\":", line.productID, to: &out)
            out.append(contentsOf: ",\"product_name\":".utf8)
            Self.appendString(line.productName, to: &out)
            Self.append(",\"quantity\":", line.quantity, to: &out)
            Self.append(",\"unit_price\":", line.unitPrice, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        Self.append("],\"occurred_at_unix_ms\":", self.occurredAtUnixMs, to: &out)
        Self.append(",\"order_id\":", self.orderID, to: &out)
        Self.append(",\"total\":", self.total, to: &out)
        if let traceParent = self.traceParent {
            out.append(contentsOf: ",\"traceparent\":".utf8)
            Self.appendString(traceParent, to: &out)
        }
        out.append(contentsOf: ",\"type\":\"".utf8)
        out.append(contentsOf: self.kind.rawValue.utf8)
        Self.append("\",\"user_id\":", self.userID, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `key` (the literal before a value: separator, name, colon), then `value` in decimal.
    static func append(_ key: StaticString, _ value: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for the 20 digits of UInt64.max
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: buffer[index...])
        }
    }

    /// A JSON string literal (RFC 8259: quote, backslash and control characters escaped).
    static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            default:
                // Every other byte, multi-byte UTF-8 sequences included, stands for itself.
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
