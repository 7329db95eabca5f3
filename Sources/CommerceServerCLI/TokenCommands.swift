import ArgumentParser
import CommerceAuth
import CommerceDomain
import Foundation

/// `commerce-server keys`: the key set tokens are signed and verified with.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make and rotate the keys tokens are signed with (a JSON Web Key Set file).",
        subcommands: [Add.self, Remove.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Put a new key first in the set (creating the file): it signs new tokens; the others still verify."
        )
        @Option(help: "The key set file (written readable by its owner only).") var file: String
        @Option(help: "Algorithm: EdDSA (Ed25519; servers may hold only the public key) or HS256 (a shared secret).")
        var algorithm: String = TokenKey.Algorithm.edDSA.rawValue
        @Option(help: "The new key's id (default: the date and a random suffix).") var kid: String?
        @Flag(help: "Only if the file does not exist yet (for scripts run on every start).") var ifMissing = false

        func run() throws {
            if self.ifMissing && FileManager.default.fileExists(atPath: self.file) { return }
            guard let algorithm = TokenKey.Algorithm(rawValue: self.algorithm) else {
                throw ValidationError("--algorithm must be EdDSA or HS256")
            }
            var keys =
                FileManager.default.fileExists(atPath: self.file)
                ? try TokenKeySet.load(path: self.file) : try TokenKeySet([])
            let kid = self.kid ?? Self.newKeyID()
            try keys.prepend(TokenKey.generate(id: kid, algorithm: algorithm))
            try keys.write(path: self.file)
            print(kid)
        }

        static func newKeyID() -> String {
            let date = ISO8601DateFormatter.string(
                from: Date(),
                timeZone: TimeZone(identifier: "UTC")!,
                formatOptions: [.withFullDate]
            )
            return "\(date)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a key out of the set: its tokens stop verifying once the servers restart with the file."
        )
        @Option(help: "The key set file.") var file: String
        @Option(help: "The id of the key to remove.") var kid: String

        func run() throws {
            var keys = try TokenKeySet.load(path: self.file)
            try keys.remove(id: self.kid)
            try keys.write(path: self.file)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the keys' ids and algorithms, the signing key first (no secrets)."
        )
        @Option(help: "The key set file.") var file: String

        func run() throws {
            let keys = try TokenKeySet.load(path: self.file)
            for key in keys.keys {
                print(
                    "\(key.id)\t\(key.algorithm.rawValue)\t\(key.id == keys.signingKey?.id ? "signs" : (key.canSign ? "can sign" : "verifies"))"
                )
            }
        }
    }
}

/// `commerce-server token`: prints a token signed with the key set's signing key.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a bearer token for a user, a service or an admin, signed with the key set's signing key.",
        discussion: "commerce-server token --keys data/auth-keys.json --user 6 --scope user --ttl 1h"
    )

    @Option(help: "The key set file (or env COMMERCE_AUTH_KEYS).") var keys: String?
    @Option(help: "A user's id: the token acts for this user only (scope user).") var user: Int64?
    @Option(help: "A service's name: the token acts for any user it names (scope service).") var service: String?
    @Option(help: "An operator's name: the token may make the admin calls (scope admin).") var admin: String?
    @Option(help: "The token's scopes (repeatable: user, service, admin); default: the one its subject implies.")
    var scope: [String] = []
    @Option(help: "How long the token is valid: 90s, 15m, 1h, 30d.") var ttl: String = "1h"
    @Option(help: "Sign with this key instead of the set's first.") var kid: String?

    func validate() throws {
        guard [self.user != nil, self.service != nil, self.admin != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("say whom the token is for: exactly one of --user ID, --service NAME, --admin NAME")
        }
        if let user = self.user, user <= 0 { throw ValidationError("--user must be a positive user id") }
        guard Self.seconds(self.ttl) != nil else {
            throw ValidationError("--ttl must be a number with s, m, h or d, such as 1h")
        }
        for name in self.scope where Scope(rawValue: name) == nil {
            throw ValidationError("--scope must be user, service or admin, got \(name)")
        }
        if self.scope.contains(Scope.user.rawValue) && self.user == nil {
            throw ValidationError("--scope user needs --user ID: a user token acts for its own user only")
        }
    }

    func run() throws {
        guard let path = self.keys ?? ProcessInfo.processInfo.environment["COMMERCE_AUTH_KEYS"] else {
            throw ValidationError("--keys is missing")
        }
        let keys = try TokenKeySet.load(path: path)
        guard let key = self.kid.map({ keys[$0] }) ?? keys.signingKey, key.canSign else {
            throw ValidationError(
                self.kid == nil ? "no key in \(path) can sign" : "no key \(self.kid!) that can sign in \(path)"
            )
        }
        let now = Int64(Date().timeIntervalSince1970)
        let (subject, implied): (String, Scope) =
            if let user = self.user { ("\(user)", .user) } else if let service = self.service {
                (service, .service)
            } else { (self.admin!, .admin) }
        let scopes = self.scope.isEmpty ? [implied] : Set(self.scope.compactMap(Scope.init(rawValue:)))
        let token = AccessToken(
            subject: subject,
            scopes: scopes,
            expiresAt: now + Self.seconds(self.ttl)!,
            notBefore: now,
            issuedAt: now
        )
        print(try token.signed(with: key))
    }

    static func seconds(_ text: String) -> Int64? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0 else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3_600
        case "d": return value * 86_400
        default: return nil
        }
    }
}
