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

    /// Validates a wire page size (0 = default) and an opaque token (empty = first page).
    public static func parse(size: Int32, token: String) throws(CommerceError) -> PageQuery {
        guard size >= 0, Int(size) <= maximumSize else {
            throw CommerceError(.invalidArgument, .invalidPageSize, "page_size must be between 0 and \(maximumSize), got \(size)")
        }
        var after: Int64?
        if !token.isEmpty {
            guard token.hasPrefix("c"), let key = Int64(token.dropFirst()), key >= 0 else {
                throw CommerceError(.invalidArgument, .invalidPageToken, "page_token \"\(token.prefix(40))\" was not issued by this server")
            }
            after = key
        }
        return PageQuery(size: size == 0 ? defaultSize : Int(size), after: after)
    }

    public static func token(after key: Int64) -> String { "c\(key)" }
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass back as the next page token; `nil` on the last page.
    public var nextToken: String?

    public init(items: [Item], nextToken: String?) {
        self.items = items
        self.nextToken = nextToken
    }
}
