import CommerceDomain

/// The `page_token` of listings: `c<key>`, the key the next page continues after. Opaque to
/// clients; the server reads back only what it could have issued.
public enum PageToken {
    /// The key a token continues after; `nil` for the empty token (the first page).
    public static func after(_ token: String) throws(CommerceError) -> Int64? {
        guard !token.isEmpty else { return nil }
        // Exactly as issued: "c-0", "c+5" and "c007" parse as numbers but were never issued.
        guard token.hasPrefix("c"), let key = Int64(token.dropFirst()), key >= 0, Self.token(after: key) == token else {
            throw CommerceError(.invalidPageToken, "page_token \"\(token.prefix(40))\" was not issued by this server")
        }
        return key
    }

    /// The token for the page after `key`; empty when there is no next page.
    public static func token(after key: Int64?) -> String {
        key.map { "c\($0)" } ?? ""
    }
}
