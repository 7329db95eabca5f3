import CommerceDomain
import FrameRPC

/// Checks the `authorization: Bearer <token>` metadata of admin calls against the token the
/// server was started with. With no token configured, admin calls are refused altogether.
public struct AdminAuthenticator: Sendable {
    private let token: [UInt8]?

    public init(token: String?) {
        self.token = token.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
    }

    public func authorize(_ metadata: Metadata) throws(CommerceError) {
        guard let token = self.token else {
            throw CommerceError(.adminDisabled, "admin calls are disabled: the server was started without --admin-token")
        }
        guard let header = metadata[MetadataKey.authorization] else {
            throw CommerceError(.missingCredentials, "admin calls need the metadata entry \"authorization: Bearer <token>\"")
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), Self.constantTimeEquals(Array(header.utf8.dropFirst(prefix.utf8.count)), token) else {
            throw CommerceError(.invalidCredentials, "the admin token is wrong")
        }
    }

    private static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
