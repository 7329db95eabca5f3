/// Key/value pairs sent with a call, as gRPC's metadata. Keys are compared lower-cased.
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var entries: [(key: String, value: String)]

    public init() { self.entries = [] }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.entries = elements.map { (key: Self.normalized($0.0), value: $0.1) }
    }

    public init<S: Sequence>(_ pairs: S) where S.Element == (String, String) {
        self.entries = pairs.map { (key: Self.normalized($0.0), value: $0.1) }
    }

    /// `key` lower-cased. Most keys are lower-case ASCII already, and those come back as they are,
    /// without the copy `lowercased()` makes (metadata is read on every call); any other key,
    /// including any non-ASCII one, goes through `lowercased()`.
    static func normalized(_ key: String) -> String {
        key.utf8.contains { $0 >= 0x80 || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) }
            ? key.lowercased() : key
    }

    /// The first value for `key`.
    public subscript(key: String) -> String? {
        get {
            guard !self.entries.isEmpty else { return nil }
            let key = Self.normalized(key)
            return self.entries.first { $0.key == key }?.value
        }
        set {
            let key = Self.normalized(key)
            self.entries.removeAll { $0.key == key }
            if let newValue { self.entries.append((key: key, value: newValue)) }
        }
    }

    public mutating func add(_ key: String, _ value: String) {
        self.entries.append((key: Self.normalized(key), value: value))
    }

    public var isEmpty: Bool { self.entries.isEmpty }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        self.entries.makeIterator()
    }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in self.entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}

/// Well-known metadata keys.
public enum MetadataKey {
    /// `Bearer <token>`.
    public static let authorization = "authorization"
    /// Makes a state-changing call safe to retry: the server answers a repeat with the first result.
    public static let idempotencyKey = "idempotency-key"
    /// Correlates logs of one request across client and server.
    public static let requestID = "request-id"
}
