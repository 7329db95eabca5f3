import CommerceDomain

/// Ids of the data platform's events.
public enum OrderEventID {
    /// A time-ordered (version 7, RFC 9562) UUID, lower-case: 48 bits of Unix milliseconds, then 74
    /// random bits from the system generator (getrandom, through ``RandomBits``). Time-ordered ids
    /// append to the outbox's unique index instead of landing on a random page of it in every commit
    /// (random version 4 ids dirtied one more index page per order). Foundation's `UUID()` on Linux
    /// also opened /dev/urandom on every call, inside the write transaction.
    public static func make(at millis: UnixMillis) -> String {
        let random = RandomBits.shared.next()
        let high = UInt64(UInt64(truncatingIfNeeded: millis) & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | (random.0 & 0x0FFF)
        let low = (random.1 & ~(0b11 << 62)) | (0b10 << 62)  // RFC 9562 variant
        // 8-4-4-4-12 lower-case hex digits, written straight into the string's storage.
        return String(unsafeUninitializedCapacity: 36) { out in
            let digits: StaticString = "0123456789abcdef"
            var index = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    out[index] = UInt8(ascii: "-")
                    index += 1
                }
                let word = nibble < 16 ? high : low
                out[index] = digits.utf8Start[Int(truncatingIfNeeded: word >> (60 - 4 * UInt64(nibble % 16)) & 0xF)]
                index += 1
            }
            return index
        }
    }
}
