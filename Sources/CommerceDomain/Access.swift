/// What a credential lets its bearer do. Tokens carry these as their `scope` claim.
public enum Scope: String, Sendable, Hashable, CaseIterable {
    /// Acts for the token's own user only: its subject is that user's id.
    case user
    /// A trusted backend (the storefront, the load generator) acting for any user it names.
    case service
    /// The admin RPCs: the catalogue, campaigns, the audit.
    case admin
}

/// Who makes a call, as the server established it from the call's credential.
public struct Caller: Sendable, Hashable {
    /// A user's id for a `user` token; a service or operator name otherwise.
    public let subject: String
    public let scopes: Set<Scope>
    /// The user a `user` token acts for (its subject, parsed).
    public let user: UserID?

    public init(subject: String, scopes: Set<Scope>) {
        self.subject = subject
        self.scopes = scopes
        self.user = Int64(subject).flatMap { $0 > 0 ? UserID($0) : nil }
    }

    /// The caller of a server started with `--auth off`: trusted like a service.
    public static let unauthenticated = Caller(subject: "anonymous", scopes: [.service])
    /// The bearer of the static admin token.
    public static let bootstrapAdmin = Caller(subject: "admin-token", scopes: [.admin])

    /// Checks that the caller may act for `user`: a service for anyone, a user token for its own user.
    public func authorize(actingFor user: UserID) throws(CommerceError) {
        if self.scopes.contains(.service) { return }
        guard self.scopes.contains(.user) else { throw self.missing(.user) }
        guard self.user == user else {
            throw CommerceError(
                .subjectMismatch,
                "the token acts for user \(self.subject), not for user \(user)",
                details: ["user_id": "\(user)"]
            )
        }
    }

    /// Checks that the caller holds `scope` (a service acts for users too, so it may call what a user may).
    public func require(_ scope: Scope) throws(CommerceError) {
        if self.scopes.contains(scope) { return }
        if scope == .user && self.scopes.contains(.service) { return }
        throw self.missing(scope)
    }

    /// Whether the caller may see what belongs to `owner`. Whatever it may not see, it is told does
    /// not exist, so that ids cannot be probed.
    public func maySee(ownedBy owner: UserID) -> Bool {
        self.scopes.contains(.service) || (self.scopes.contains(.user) && self.user == owner)
    }

    private func missing(_ scope: Scope) -> CommerceError {
        CommerceError(
            .scopeMissing,
            "the call needs a token with the \(scope.rawValue) scope",
            details: ["required_scope": scope.rawValue]
        )
    }
}
