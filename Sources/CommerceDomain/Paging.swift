/// A request for one page of a listing ordered by a 64-bit key.
public struct PageQuery: Hashable, Sendable {
    public static let defaultSize = 50
    public static let maximumSize = 500

    public var size: Int
    /// Exclusive: the listing continues after this key. `nil` starts at the beginning.
    public var after: Int64?

    public init(size: Int, after: Int64?) {
        self.size = size
        self.after = after
    }

    /// A page of `size` (1 through ``maximumSize``) items after `after`.
    public static func validate(size: Int, after: Int64?) throws(CommerceError) -> PageQuery {
        guard size >= 1, size <= maximumSize else {
            throw CommerceError(.invalidPageSize, "page_size must be between 1 and \(maximumSize), got \(size)")
        }
        return PageQuery(size: size, after: after)
    }
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// The key the next page continues after; `nil` on the last page.
    public var nextAfter: Int64?

    public init(items: [Item], nextAfter: Int64?) {
        self.items = items
        self.nextAfter = nextAfter
    }
}
