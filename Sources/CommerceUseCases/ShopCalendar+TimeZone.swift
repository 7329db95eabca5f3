import CommerceDomain
import Foundation

extension ShopCalendar {
    /// The calendar of an IANA time zone (`Asia/Seoul`), its offsets from the system's time zone database.
    /// - Returns: `nil` for a name the database does not know.
    public init?(timeZone identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.init(identifier: zone.identifier) { instant in
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant) / 1_000))) * 1_000
        }
    }

    /// Where the won is spent.
    public static let seoul = ShopCalendar(timeZone: "Asia/Seoul")!
}
