/// Field checks shared by the use cases. Each failure names its field and the rule.
public enum Validate {
    public static func userID(_ raw: Int64) throws(CommerceError) -> UserID {
        guard raw > 0 else {
            throw CommerceError(.invalidUserID, "user_id must be a positive id, got \(raw)")
        }
        return UserID(raw)
    }

    public static func productID(_ raw: Int64) throws(CommerceError) -> ProductID {
        guard raw > 0 else {
            throw CommerceError(.invalidProductID, "product_id must be a positive id, got \(raw)")
        }
        return ProductID(raw)
    }

    public static func orderID(_ raw: Int64) throws(CommerceError) -> OrderID {
        guard raw > 0 else {
            throw CommerceError(.invalidOrderID, "order_id must be a positive id, got \(raw)")
        }
        return OrderID(raw)
    }

    public static func campaignID(_ raw: Int64) throws(CommerceError) -> CampaignID {
        guard raw > 0 else {
            throw CommerceError(.invalidCampaignID, "campaign_id must be a positive id, got \(raw)")
        }
        return CampaignID(raw)
    }

    /// Trimmed, 1...maxLength characters, no control characters.
    public static func name(_ raw: String, maxLength: Int) throws(CommerceError) -> String {
        let name = raw.trimmingWhitespace()
        guard !name.isEmpty, name.count <= maxLength else {
            throw CommerceError(.invalidName, "name must be 1 to \(maxLength) characters, got \(name.count)")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw CommerceError(.invalidName, "name must not contain control characters")
        }
        return name
    }

    /// 1...128 printable ASCII characters.
    public static func idempotencyKey(_ raw: String) throws(CommerceError) -> String {
        guard !raw.isEmpty, raw.utf8.count <= 128, raw.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw CommerceError(
                .invalidIdempotencyKey,
                "idempotency key must be 1 to 128 printable ASCII characters without spaces"
            )
        }
        return raw
    }

    public static func quantity(
        _ raw: Int64,
        field: String = "quantity",
        allowZero: Bool = false,
        max: Int64 = 1_000_000_000
    )
        throws(CommerceError) -> Int64
    {
        guard raw >= (allowZero ? 0 : 1), raw <= max else {
            throw CommerceError(
                .invalidQuantity,
                "\(field) must be between \(allowZero ? 0 : 1) and \(max), got \(raw)"
            )
        }
        return raw
    }

    public static func price(_ raw: Int64) throws(CommerceError) -> Won {
        guard raw >= 1, raw <= 100_000_000 else {
            throw CommerceError(.invalidPrice, "price must be between 1 and 100,000,000 won, got \(raw)")
        }
        return raw
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
