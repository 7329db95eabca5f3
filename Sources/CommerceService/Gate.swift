import CommerceAuth
import CommerceDomain
import Crypto
import Foundation
import FrameRPC
import FrameRPCServer
import Metrics
import NIOConcurrencyHelpers

/// How the server establishes who calls (docs/security.md).
public enum AuthMode: Sendable {
    /// Bearer tokens signed by one of these keys; the default, and the only safe one.
    case tokens(TokenKeySet)
    /// Every call is trusted as a service acting for the users it names (`--auth off`): for a
    /// server that only trusted backends can reach. Admin calls still need an admin credential.
    case off
}

/// Names the keys, never their material: for logs.
extension AuthMode: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        switch self {
        case .off: "off"
        case .tokens(let keys):
            "tokens(keys: \(keys.keys.map { "\($0.id) \($0.algorithm.rawValue)" }.joined(separator: ", ")))"
        }
    }

    public var debugDescription: String { self.description }
}

/// Turns a call's `authorization` metadata into a ``Caller``: a verified token, or the static
/// admin token. Verified credentials are kept (``CredentialCache``), so a client that sends the
/// same token on every call pays for one verification; expiry is checked at every use.
public struct Gate: Sendable {
    /// nil with `--auth off`; replaced whole by ``reload(keys:)``.
    private let verifier: NIOLockedValueBox<TokenVerifier>?
    /// SHA-256 of the admin token: compared digest to digest, so neither its content nor its
    /// length shows in the time a comparison takes.
    private let adminTokenDigest: SHA256.Digest?
    private let clock: @Sendable () -> UnixMillis
    private let verified = CredentialCache()
    /// Tokens verified in full (signature, claims): the cache's misses.
    private static let verifications = Counter(label: "auth_token_verifications_total")
    /// Refusals by reason, one counter per credential reason, made once (no factory lock per refusal).
    private static let refusals: [String: Counter] = Dictionary(
        uniqueKeysWithValues: [
            CommerceError.Reason.missingCredentials, .invalidCredentials, .tokenMalformed, .tokenExpired,
            .tokenNotYetValid, .tokenSignatureInvalid, .tokenKeyUnknown, .tokenAlgorithmRefused, .scopeMissing,
            .subjectMismatch, .adminDisabled,
        ].map { ($0.rawValue, Counter(label: "auth_refusals_total", dimensions: [("reason", $0.rawValue)])) }
    )

    public init(mode: AuthMode, adminToken: String?, clock: @escaping @Sendable () -> UnixMillis) {
        _ = (Self.verifications, Self.refusals)
        switch mode {
        case .tokens(let keys): self.verifier = NIOLockedValueBox(TokenVerifier(keys: keys))
        case .off: self.verifier = nil
        }
        self.adminTokenDigest = adminToken.flatMap { $0.isEmpty ? nil : SHA256.hash(data: Data($0.utf8)) }
        self.clock = clock
    }

    /// Verifies with `keys` from now on (a key added or removed: `commerce-server keys`); forgets
    /// every credential verified with the old ones. - Returns: false if auth is off.
    @discardableResult
    public func reload(keys: TokenKeySet) -> Bool {
        guard let verifier = self.verifier else { return false }
        verifier.withLockedValue { $0 = TokenVerifier(keys: keys) }
        self.verified.removeAll()
        return true
    }

    /// The caller of a method that needs `scope`.
    func caller(_ context: ServerContext, needs scope: Scope) throws(CommerceError) -> Caller {
        do {
            return try self.establish(context, needs: scope)
        } catch {
            // What an operator watches: a rotation gone wrong shows as TOKEN_KEY_UNKNOWN, an attack as
            // TOKEN_SIGNATURE_INVALID or TOKEN_MALFORMED.
            Self.refusals[error.reason.rawValue]?.increment()
            throw error
        }
    }

    private func establish(_ context: ServerContext, needs scope: Scope) throws(CommerceError) -> Caller {
        if scope != .admin && self.verifier == nil { return .unauthenticated }
        guard let header = context.metadata[MetadataKey.authorization] else {
            if scope == .admin && self.verifier == nil && self.adminTokenDigest == nil {
                throw CommerceError(
                    .adminDisabled,
                    "admin calls are disabled: the server has neither --admin-token nor token keys"
                )
            }
            throw CommerceError(
                .missingCredentials,
                "the call needs the metadata entry \"authorization: Bearer <token>\""
            )
        }
        let caller = try self.resolve(header)
        try caller.require(scope)
        return caller
    }

    private func resolve(_ header: String) throws(CommerceError) -> Caller {
        let now = self.clock() / 1_000
        if let cached = self.verified[header] {
            if let token = cached.token { try TokenVerifier.check(token, now: now) }
            return cached.caller
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix) else {
            throw CommerceError(.tokenMalformed, "the authorization metadata is not \"Bearer <token>\"")
        }
        let credential = header.dropFirst(prefix.count)
        // Read before the verifier: a reload between the two makes the store below a no-op.
        let generation = self.verified.generation
        let resolved: CredentialCache.Entry
        if let digest = self.adminTokenDigest, SHA256.hash(data: Data(credential.utf8)) == digest {
            resolved = CredentialCache.Entry(caller: .bootstrapAdmin, token: nil)
        } else if let verifier = self.verifier?.withLockedValue({ $0 }), credential.contains(".") {
            Self.verifications.increment()
            let token = try verifier.verify(credential, now: now)
            resolved = CredentialCache.Entry(caller: token.caller, token: token)
        } else if self.verifier == nil && self.adminTokenDigest == nil {
            throw CommerceError(
                .adminDisabled,
                "admin calls are disabled: the server has neither --admin-token nor token keys"
            )
        } else {
            throw CommerceError(
                .invalidCredentials,
                "the bearer credential is neither a valid token nor the admin token"
            )
        }
        self.verified.store(resolved, for: header, generation: generation)
        return resolved.caller
    }
}
