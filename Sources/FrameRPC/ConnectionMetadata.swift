/// What a METADATA frame may carry, and how its entries join a call's own.
///
/// A client that sends the same credential on every call sends it once per connection instead: a
/// service token is about 280 bytes of a GetBalance request's 430, so per call the server reads,
/// decodes and UTF-8-checks a third as much (benchmarks/README.md, session 30).
public enum ConnectionMetadata {
    /// The largest METADATA payload a server takes: a credential, not a store.
    public static let maxPayload = 16 * 1024
    /// The keys a METADATA frame may set. Entries that name one call (`idempotency-key`,
    /// `request-id`) must not apply to every call, so only the credential is taken.
    public static let allowedKeys: Set<String> = [MetadataKey.authorization]

    /// `request`'s entries, with each connection entry whose key the request does not carry.
    public static func merge(connection: [(key: String, value: String)], request: Metadata) -> Metadata {
        guard !connection.isEmpty else { return request }
        var merged = request
        for entry in connection where request[entry.key] == nil {
            merged.add(entry.key, entry.value)
        }
        return merged
    }
}
