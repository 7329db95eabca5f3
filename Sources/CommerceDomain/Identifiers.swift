/// The id of an `Entity` (a phantom type: ``UserID`` and ``OrderID`` are different types, so one
/// cannot be passed for the other); positive, as the database issues them.
public struct ID<Entity>: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(self.rawValue)" }
}

/// What each kind of id names.
public enum IDKind {
    public enum User {}
    public enum Product {}
    public enum Order {}
    public enum Campaign {}
    public enum Coupon {}
}

public typealias UserID = ID<IDKind.User>
public typealias ProductID = ID<IDKind.Product>
public typealias OrderID = ID<IDKind.Order>
public typealias CampaignID = ID<IDKind.Campaign>
public typealias CouponID = ID<IDKind.Coupon>

/// Money is always an integer number of won.
public typealias Won = Int64

/// Milliseconds since 1970-01-01 UTC.
public typealias UnixMillis = Int64
