import CommerceDomain
import Foundation
import Synchronization

extension ShopCalendar {
    /// The calendar of an IANA time zone (`Asia/Seoul`), its offsets from the system's time zone database.
    /// - Returns: `nil` for a name the database does not know.
    public init?(timeZone identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        let offsets = ZoneOffsets(zone)
        self.init(identifier: zone.identifier) { instant in offsets.offsetMillis(at: instant) }
    }

    /// Where the won is spent.
    public static let seoul = ShopCalendar(timeZone: "Asia/Seoul")!
}

/// A zone's UTC offset at an instant, remembered until the zone's next transition: every payment
/// asks for the day it falls on, on the thread that commits, and the time zone database is asked
/// again only when an instant falls outside the span the last answer holds for.
private final class ZoneOffsets: Sendable {
    private struct Span { var from: Int64, until: Int64, offset: Int64 }
    private let zone: TimeZone
    private let span = Mutex(Span(from: 0, until: 0, offset: 0))

    init(_ zone: TimeZone) { self.zone = zone }

    func offsetMillis(at instant: Int64) -> Int64 {
        if let offset = self.span.withLock({ $0.from <= instant && instant < $0.until ? $0.offset : nil }) {
            return offset
        }
        let date = Date(timeIntervalSince1970: Double(instant) / 1_000)
        let offset = Int64(self.zone.secondsFromGMT(for: date)) * 1_000
        // Held from this instant to the next transition, and at most an hour: a change of a zone's
        // standard offset, which is not a daylight-saving transition, is seen within the hour.
        let next = self.zone.nextDaylightSavingTimeTransition(after: date).map {
            Int64(($0.timeIntervalSince1970 * 1_000).rounded(.down))
        }
        let until = min(next ?? Int64.max, instant + 3_600_000)
        self.span.withLock { $0 = Span(from: instant, until: until, offset: offset) }
        return offset
    }
}
