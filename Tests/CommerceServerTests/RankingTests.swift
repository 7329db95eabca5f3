import CommerceClient
import CommerceDomain
import CommerceProto
import CommerceSQLite
import CommerceServerRuntime
import CommerceUseCases
import Foundation
import FrameRPC
import Testing

/// Best sellers as shops count them: by units or by orders, over rolling or completed days of the
/// shop's calendar (Asia/Seoul by default), across a midnight and a time-zone offset, refunds
/// subtracting from both counts.
@Suite("TopProducts on the shop's calendar")
struct RankingTests {
    static let hour: Int64 = 3_600_000
    /// Midnight starting 2026-06-16 in Seoul (15:00 UTC the day before).
    static let midnight: Int64 = 1_781_535_600_000

    @Test(
        "the Seoul calendar: days begin at 15:00 UTC; zones with clock changes begin their days at the first instant that belongs to them"
    )
    func calendars() throws {
        let seoul = ShopCalendar.seoul
        let june16 = seoul.day(containing: Self.midnight)
        #expect(seoul.day(containing: Self.midnight - 1) == june16.adding(days: -1))
        #expect(
            seoul.start(of: june16) == Self.midnight
                && seoul.start(of: june16.adding(days: 1)) == Self.midnight + 24 * Self.hour
        )
        #expect(ShopCalendar.utc.day(containing: Self.midnight) == SalesDay(containing: Self.midnight))
        // New York: 2026-03-08 has 23 hours, 2026-11-01 has 25.
        let newYork = try #require(ShopCalendar(timeZone: "America/New_York"))
        let march8 = newYork.day(containing: 1_772_989_200_000)  // 2026-03-08T12:00-04:00
        #expect(newYork.start(of: march8) == 1_772_946_000_000)  // 2026-03-08T00:00-05:00
        #expect(newYork.start(of: march8.adding(days: 1)) - newYork.start(of: march8) == 23 * Self.hour)
        let november1 = newYork.day(containing: 1_793_548_800_000)  // 2026-11-01T12:00-05:00
        #expect(newYork.start(of: november1.adding(days: 1)) - newYork.start(of: november1) == 25 * Self.hour)
        // São Paulo, 2018-11-04: the clock went from 23:59:59 straight to 01:00, so the day began at 01:00 (03:00 UTC).
        let saoPaulo = try #require(ShopCalendar(timeZone: "America/Sao_Paulo"))
        let skipped = saoPaulo.day(containing: 1_541_343_600_000)  // 2018-11-04T12:00-02:00
        #expect(saoPaulo.start(of: skipped) == 1_541_300_400_000)
        #expect(ShopCalendar(timeZone: "Mars/Olympus_Mons") == nil)
    }

    @Test(
        "the day of an instant is Foundation's local date, for instants in any order over 12 years",
        arguments: ["Asia/Seoul", "America/New_York", "Australia/Lord_Howe", "UTC"]
    )
    func daysMatchFoundation(zone: String) throws {
        let calendar = try #require(ShopCalendar(timeZone: zone))
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = try #require(TimeZone(identifier: zone))
        let epoch = try #require(DateComponents(calendar: gregorian, year: 1970, month: 1, day: 1).date)
        var generator = SystemRandomNumberGenerator()
        var instants = (0..<1_500).map { _ in Int64.random(in: 1_500_000_000_000...1_880_000_000_000, using: &generator)
        }
        instants += instants.prefix(200).map { $0 + 1 }  // neighbours, so cached spans are hit too
        instants.shuffle()
        for instant in instants {
            let date = Date(timeIntervalSince1970: Double(instant) / 1_000)
            let local = gregorian.dateComponents([.year, .month, .day], from: date)
            let midnight = try #require(gregorian.date(from: local))
            let expected = try #require(gregorian.dateComponents([.day], from: epoch, to: midnight).day)
            #expect(calendar.day(containing: instant).rawValue == Int64(expected), "\(zone) at \(instant)")
            #expect(
                calendar.start(of: calendar.day(containing: instant))
                    == Int64(gregorian.startOfDay(for: date).timeIntervalSince1970 * 1_000)
            )
        }
    }

    @Test(
        "across a midnight: rolling windows move at once, completed days come from the midnight snapshot and hold all day; units and orders rank differently; a refund subtracts from both counts",
        arguments: StoreKind.available
    )
    func acrossMidnight(store: StoreKind) async throws {
        let clock = TestClock()
        clock.set(to: Self.midnight - 30_000)  // 23:59:30 on 2026-06-15 in Seoul
        try await withCommerceServer(store: store, clock: clock, rankingCache: 0) { server, client in
            let buyer = try await fundedUser(client, 1_000_000)
            let bulk = try await client.createProduct(name: "bulk", price: 100, initialStock: 1_000).id
            let popular = try await client.createProduct(name: "popular", price: 100, initialStock: 1_000).id
            let late = try await client.createProduct(name: "late", price: 100, initialStock: 1_000).id
            // June 15: bulk sells 5 units in 1 order, popular 3 units in 3 orders.
            _ = try await client.placeOrder(userID: buyer, items: [(bulk, 5)])
            for _ in 0..<3 { _ = try await client.placeOrder(userID: buyer, items: [(popular, 1)]) }
            let refunded = try await client.placeOrder(userID: buyer, items: [(popular, 2), (bulk, 1)]).order.id

            var top = try await client.topProducts(days: 1)
            #expect(top.products.map(\.name) == ["bulk", "popular"] && top.products.map(\.quantitySold) == [6, 5])
            #expect(top.products.map(\.orderCount) == [2, 4])
            top = try await client.topProducts(days: 1, rankBy: .orders)
            #expect(top.products.map(\.name) == ["popular", "bulk"])
            #expect(top.windowStartUnixMs == Self.midnight - 24 * Self.hour && top.windowEndUnixMs == Self.midnight)

            clock.set(to: Self.midnight + 30_000)  // 00:00:30 on June 16
            _ = try await client.placeOrder(userID: buyer, items: [(late, 9)])
            top = try await client.topProducts(days: 1)
            #expect(top.products.map(\.name) == ["late"], "a rolling day starts at midnight in Seoul")
            #expect(top.windowStartUnixMs == Self.midnight && top.windowEndUnixMs == Self.midnight + 24 * Self.hour)

            let completed = try await client.topProducts(days: 1, window: .completedDays)
            #expect(
                completed.products.map(\.name) == ["bulk", "popular"]
                    && completed.products.map(\.quantitySold) == [6, 5]
            )
            #expect(
                completed.windowStartUnixMs == Self.midnight - 24 * Self.hour
                    && completed.windowEndUnixMs == Self.midnight
            )
            let completedByOrders = try await client.topProducts(days: 1, rankBy: .orders, window: .completedDays)
            #expect(
                completedByOrders.products.map(\.name) == ["popular", "bulk"]
                    && completedByOrders.products.map(\.orderCount) == [4, 2]
            )

            // A refund after midnight of an order paid on June 15 leaves June 15's rollups at once…
            _ = try await client.cancelOrder(userID: buyer, orderID: refunded)
            top = try await client.topProducts(days: 2)
            #expect(top.products.map(\.name) == ["late", "bulk", "popular"])
            #expect(top.products.map(\.quantitySold) == [9, 5, 3] && top.products.map(\.orderCount) == [1, 1, 3])
            // …but the completed days answer what stood at midnight, all day.
            clock.set(to: Self.midnight + 23 * Self.hour)
            #expect(try await client.topProducts(days: 1, window: .completedDays) == completed)
            #expect(try await client.topProducts(days: 1, rankBy: .orders, window: .completedDays) == completedByOrders)

            // The next midnight's snapshot, taken by the server's own sweep without any query, has the refund.
            clock.set(to: Self.midnight + 24 * Self.hour + 1_000)
            let june17 = ShopCalendar.seoul.day(containing: clock.now)
            try await waitUntil("the sweep takes June 17's snapshot") {
                try await server.store.rankingSnapshot(today: june17, days: 1, rankBy: .units, limit: 5) != nil
            }
            let twoDays = try await client.topProducts(days: 2, window: .completedDays)
            #expect(
                twoDays.products.map(\.name) == ["late", "bulk", "popular"]
                    && twoDays.products.map(\.quantitySold) == [9, 5, 3]
            )
            #expect(twoDays.products.map(\.orderCount) == [1, 1, 3])
            let byOrders = try await client.topProducts(days: 2, rankBy: .orders, window: .completedDays)
            #expect(byOrders.products.map(\.name) == ["popular", "late", "bulk"], "orders 3, 1, 1; ties by units")
            #expect(try await server.store.checkInvariants().isEmpty)

            await expectRPCError(.invalidArgument, "INVALID_RANK_BY") {
                try await client.topProducts(rankBy: .UNRECOGNIZED(7))
            }
            await expectRPCError(.invalidArgument, "INVALID_RANKING_WINDOW") {
                try await client.topProducts(window: .UNRECOGNIZED(3))
            }
        }
    }

    @Test(
        "across a time-zone offset: the same sales fall on other days in UTC; a database refuses another zone until `migrate --time-zone` re-counts it"
    )
    func acrossTimeZones() async throws {
        let clock = TestClock()
        let path = temporaryDatabasePath()
        clock.set(to: Self.midnight - Self.hour / 2)  // 14:30 UTC, 23:30 in Seoul on June 15
        try await withCommerceServer(clock: clock, rankingCache: 0, configure: { $0.store.path = path }) { _, client in
            let buyer = try await fundedUser(client, 1_000_000)
            let early = try await client.createProduct(name: "early", price: 100, initialStock: 100).id
            let later = try await client.createProduct(name: "later", price: 100, initialStock: 100).id
            _ = try await client.placeOrder(userID: buyer, items: [(early, 4)])
            clock.set(to: Self.midnight + Self.hour / 2)  // 15:30 UTC: the same UTC day, but June 16 in Seoul
            _ = try await client.placeOrder(userID: buyer, items: [(later, 2)])
            let seoulToday = try await client.topProducts(days: 1)
            #expect(seoulToday.products.map(\.name) == ["later"])
        }

        let utc = StoreConfiguration(path: path, synchronous: .normal, calendar: .utc)
        #expect(throws: CalendarMismatch.self) { try SQLiteStore(utc) }
        var recount = utc
        recount.recountRankings = true
        _ = try SQLiteStore(recount)  // what `commerce-server migrate --time-zone UTC` does
        try await withCommerceServer(clock: clock, rankingCache: 0, configure: { $0.store = utc }) { server, client in
            let utcToday = try await client.topProducts(days: 1)
            #expect(
                utcToday.products.map(\.name) == ["early", "later"] && utcToday.products.map(\.quantitySold) == [4, 2]
            )
            #expect(utcToday.windowStartUnixMs % 86_400_000 == 0)
            #expect(try await server.store.checkInvariants().isEmpty)
        }
    }
}

/// Polls `condition` every 20 ms until it holds, for up to `timeout` (a bound for a hung test, not a timing claim).
func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(60),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
}
