/// Where a server connection is in its life. One value instead of separate flags: a connection
/// cannot be closing and still serving, or draining before it exists.
enum ConnectionState: Equatable {
    /// Connected; the client's preface has not arrived (the handshake timeout runs). `draining`: the
    /// server began to shut down meanwhile.
    case awaitingPreface(draining: Bool)
    /// Serving calls.
    case open
    /// A GOAWAY for the shutdown went out: calls in flight finish, new ones are refused, and the
    /// connection closes once none is left.
    case draining
    /// Closing: nothing more is read; only what was already written goes out.
    case closing

    var prefaceReceived: Bool {
        if case .awaitingPreface = self { return false }
        return true
    }

    var isDraining: Bool { self == .draining || self == .awaitingPreface(draining: true) }

    var isClosing: Bool { self == .closing }

    /// The preface arrived.
    mutating func prefaceArrived() {
        if case .awaitingPreface(let draining) = self { self = draining ? .draining : .open }
    }

    /// The server begins to shut down. - Returns: whether this is news (the GOAWAY is to be sent).
    mutating func beginDrain() -> Bool {
        switch self {
        case .awaitingPreface(draining: false): self = .awaitingPreface(draining: true)
        case .open: self = .draining
        case .awaitingPreface(draining: true), .draining, .closing: return false
        }
        return true
    }
}
