import CommerceAuth
import CommerceClient
import CommerceDomain
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

/// base64url without padding, written here rather than borrowed from the code under test.
private func base64url(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

private func base64url(_ json: String) -> String { base64url(Data(json.utf8)) }

private var now: Int64 { Int64(Date().timeIntervalSince1970) }

@Suite("Tokens: every bad one refused with its own reason; rotation; nothing secret in logs", .timeLimit(.minutes(2)))
struct TokenTests {
    /// GetBalance of `user` with `authorization: <header>`; the refusal it gets.
    func refusal(_ port: Int, header: String, user: Int64) async -> RPCError? {
        let client = CommerceClient(port: port)
        defer { Task { await client.close() } }
        var options = CallOptions()
        options.metadata[MetadataKey.authorization] = header
        do {
            _ = try await client.getBalance(userID: user, options: options)
            return nil
        } catch {
            return error as? RPCError
        }
    }

    @Test("Expired, not yet valid, wrongly signed, alg none, algorithm confusion, unknown kid and malformed tokens")
    func badTokens() async throws {
        let edKeys = try TokenKeySet([TokenKey.generate(id: "ed", algorithm: .edDSA)])
        let both = try TokenKeySet(testKeys.keys + edKeys.keys)
        try await withCommerceServer(configure: { $0.auth = .tokens(both) }) { server, client in
            let user = try await fundedUser(client, 1_000)
            let claims = #"{"exp":\#(now + 3600),"scope":"user","sub":"\#(user)"}"#
            let good = try AccessToken.user(UserID(user), now: now, ttl: 60).signed(with: testKeys.signingKey!)
            #expect(
                await self.refusal(server.port, header: "Bearer \(good)", user: user) == nil,
                "the good token works"
            )

            let forger = TokenKey.generate(id: "test-key", algorithm: .hs256)
            // The Ed25519 public key (32 bytes, published in the JWKS) used as an HMAC secret.
            let published =
                try JSONSerialization.jsonObject(with: try edKeys.jwks(privateParts: false))
                as! [String: [[String: String]]]
            let confused = try TokenKeySet(
                jwks: Data(#"{"keys":[{"kty":"oct","kid":"ed","k":"\#(published["keys"]![0]["x"]!)"}]}"#.utf8)
            )
            let cases: [(String, String, String)] = [
                (
                    "expired",
                    "Bearer "
                        + (try AccessToken(subject: "\(user)", scopes: [.user], expiresAt: now - 3_600).signed(
                            with: testKeys.signingKey!
                        )), "TOKEN_EXPIRED"
                ),
                (
                    "not yet valid",
                    "Bearer "
                        + (try AccessToken(
                            subject: "\(user)",
                            scopes: [.user],
                            expiresAt: now + 7_200,
                            notBefore: now + 3_600
                        ).signed(with: testKeys.signingKey!)), "TOKEN_NOT_YET_VALID"
                ),
                (
                    "signed by another key under our kid",
                    "Bearer " + (try AccessToken.user(UserID(user), now: now, ttl: 60).signed(with: forger)),
                    "TOKEN_SIGNATURE_INVALID"
                ),
                (
                    "claims changed after signing",
                    "Bearer " + good.split(separator: ".")[0] + "."
                        + base64url(#"{"exp":\#(now + 60),"scope":"service","sub":"\#(user)"}"#) + "."
                        + good.split(separator: ".")[2], "TOKEN_SIGNATURE_INVALID"
                ),
                (
                    "alg none",
                    "Bearer " + base64url(#"{"alg":"none","kid":"test-key","typ":"JWT"}"#) + "." + base64url(claims)
                        + ".", "TOKEN_ALGORITHM_REFUSED"
                ),
                (
                    "alg none, no kid", "Bearer " + base64url(#"{"alg":"none"}"#) + "." + base64url(claims) + ".",
                    "TOKEN_ALGORITHM_REFUSED"
                ),
                (
                    "HS256 keyed with the EdDSA key's public key",
                    "Bearer " + (try AccessToken.user(UserID(user), now: now, ttl: 60).signed(with: confused.keys[0])),
                    "TOKEN_ALGORITHM_REFUSED"
                ),
                (
                    "RS256",
                    "Bearer " + base64url(#"{"alg":"RS256","kid":"test-key"}"#) + "." + base64url(claims) + ".c2ln",
                    "TOKEN_ALGORITHM_REFUSED"
                ),
                (
                    "unknown kid",
                    "Bearer "
                        + (try AccessToken.user(UserID(user), now: now, ttl: 60).signed(
                            with: TokenKey.generate(id: "retired", algorithm: .hs256)
                        )), "TOKEN_KEY_UNKNOWN"
                ),
                (
                    "no kid", "Bearer " + base64url(#"{"alg":"HS256"}"#) + "." + base64url(claims) + ".c2ln",
                    "TOKEN_KEY_UNKNOWN"
                ),
                ("two parts", "Bearer a.b", "TOKEN_MALFORMED"),
                ("not base64url", "Bearer a!.b.c", "TOKEN_MALFORMED"),
                (
                    "header not JSON", "Bearer " + base64url("nope") + "." + base64url(claims) + ".c2ln",
                    "TOKEN_MALFORMED"
                ),
                ("another scheme", "Basic dXNlcjpwYXNz", "TOKEN_MALFORMED"),
                ("oversize", "Bearer " + String(repeating: "a.", count: 3_000) + "a", "TOKEN_MALFORMED"),
                ("not a token nor the admin token", "Bearer opaque-secret", "INVALID_CREDENTIALS"),
            ]
            for (what, header, reason) in cases {
                let error = await self.refusal(server.port, header: header, user: user)
                #expect(
                    error?.code == .unauthenticated && error?.reason == reason,
                    "\(what): \(String(describing: error))"
                )
            }
            // A user token whose subject is not a user id; claims without exp.
            let named = try AccessToken(subject: "kim", scopes: [.user], expiresAt: now + 60).signed(
                with: testKeys.signingKey!
            )
            #expect(await self.refusal(server.port, header: "Bearer \(named)", user: user)?.reason == "TOKEN_MALFORMED")
            let signingInput =
                base64url(#"{"alg":"HS256","kid":"test-key"}"#) + "." + base64url(#"{"scope":"user","sub":"\#(user)"}"#)
            let noExpiry =
                signingInput + "."
                + (try AccessToken.user(UserID(user), now: now, ttl: 60).signed(with: testKeys.signingKey!)).split(
                    separator: "."
                )[2]
            #expect(
                await self.refusal(server.port, header: "Bearer \(noExpiry)", user: user)?.reason != nil,
                "claims without exp never pass"
            )
            // Unknown scopes grant nothing.
            let stranger = try AccessToken(subject: "x", scopes: [], expiresAt: now + 60).signed(
                with: testKeys.signingKey!
            )
            #expect(
                await self.refusal(server.port, header: "Bearer \(stranger)", user: user)?.reason == "SCOPE_MISSING"
            )
        }
    }

    @Test("A token verified once and cached is still refused once it expires")
    func cachedTokenExpires() async throws {
        try await withCommerceServer { server, client in
            let user = try await fundedUser(client, 1_000)
            // 30 s of clock skew are allowed: this token has under 2 s left.
            let token = try AccessToken(subject: "\(user)", scopes: [.user], expiresAt: now - 29).signed(
                with: testKeys.signingKey!
            )
            #expect(await self.refusal(server.port, header: "Bearer \(token)", user: user) == nil)
            try await Task.sleep(for: .milliseconds(2_500))
            #expect(await self.refusal(server.port, header: "Bearer \(token)", user: user)?.reason == "TOKEN_EXPIRED")
        }
    }

    @Test("A token sent once for the connection (METADATA) is checked at every call: refused once it expires")
    func connectionTokenExpires() async throws {
        try await withCommerceServer { server, client in
            let user = try await fundedUser(client, 1_000)
            let token = try AccessToken(subject: "\(user)", scopes: [.user], expiresAt: now - 29).signed(
                with: testKeys.signingKey!
            )
            // CommerceClient sends its token once per connection to this server; one connection here.
            let asUser = CommerceClient(port: server.port, token: token)
            #expect(try await asUser.getBalance(userID: user) == 1_000)
            await expectRPCError(.permissionDenied, "SUBJECT_MISMATCH") {
                try await asUser.getBalance(userID: user + 1)
            }
            try await Task.sleep(for: .milliseconds(2_500))
            await expectRPCError(.unauthenticated, "TOKEN_EXPIRED") { try await asUser.getBalance(userID: user) }
            await asUser.close()
        }
    }

    @Test("Key rotation: old and new keys both verify; once the old one is removed its tokens are TOKEN_KEY_UNKNOWN")
    func rotation() async throws {
        let old = TokenKey.generate(id: "2026-old", algorithm: .hs256)
        let new = TokenKey.generate(id: "2026-new", algorithm: .edDSA)
        // The tests' own key stays, for the harness's service token.
        var keys = try TokenKeySet([old] + testKeys.keys)
        try keys.prepend(new)
        #expect(keys.signingKey?.id == "2026-new", "the newest key signs")
        let database = temporaryDatabasePath()
        try await withCommerceServer(configure: {
            $0.auth = .tokens(keys)
            $0.store.path = database
        }) { server, client in
            let user = try await fundedUser(client, 1_000)
            for key in [old, new] {
                let token = try AccessToken.user(UserID(user), now: now, ttl: 600).signed(with: key)
                #expect(
                    await self.refusal(server.port, header: "Bearer \(token)", user: user) == nil,
                    "\(key.id) verifies"
                )
            }
        }
        try keys.remove(id: "2026-old")
        try await withCommerceServer(configure: {
            $0.auth = .tokens(keys)
            $0.store.path = database
        }) { server, _ in
            let user: Int64 = 1
            let oldToken = try AccessToken.user(UserID(user), now: now, ttl: 600).signed(with: old)
            let newToken = try AccessToken.user(UserID(user), now: now, ttl: 600).signed(with: new)
            #expect(
                await self.refusal(server.port, header: "Bearer \(oldToken)", user: user)?.reason == "TOKEN_KEY_UNKNOWN"
            )
            #expect(await self.refusal(server.port, header: "Bearer \(newToken)", user: user) == nil)
        }
    }

    @Test("commerce-server keys and token: a key set made, a token minted, accepted by a server started with the file")
    func mintingCommands() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        let file = folder + "/auth-keys.json"
        let binary = try serverBinary()
        #expect(try await run(binary, ["keys", "add", "--file", file]).status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the key file is its owner's only")
        #expect(try await run(binary, ["keys", "add", "--file", file, "--if-missing"]).status == 0)
        #expect(try TokenKeySet.load(path: file).keys.count == 1, "--if-missing adds nothing to an existing set")
        let minted = try await run(binary, ["token", "--keys", file, "--service", "storefront", "--ttl", "10m"])
        #expect(minted.status == 0)
        #expect(
            try await run(binary, ["token", "--keys", file, "--user", "0"], withErrors: true).status != 0,
            "user ids are positive"
        )
        #expect(
            try await run(binary, ["token", "--keys", file, "--user", "1", "--admin", "x"], withErrors: true).status
                != 0,
            "one subject"
        )
        let refused = try await run(
            binary,
            ["serve", "--db", temporaryDatabasePath(), "--port", "0", "--metrics-port", "-1"],
            withErrors: true
        )
        #expect(
            refused.status != 0 && refused.output.contains("--auth-keys"),
            "no keys and no --auth off: the server does not start"
        )

        let server = try await ServerProcess.launch(database: temporaryDatabasePath(), extra: ["--auth-keys", file])
        let client = CommerceClient(
            port: server.rpcPort,
            token: minted.output.trimmingCharacters(in: .whitespacesAndNewlines)
        )
        let user = try await client.createUser(name: "minted").id
        #expect(try await client.getBalance(userID: user) == 0)
        let mintedUser = try await run(
            binary,
            ["token", "--keys", file, "--user", "\(user)", "--scope", "user", "--ttl", "1h"]
        ).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            try await run(binary, ["token", "--keys", file, "--service", "x", "--scope", "user"], withErrors: true)
                .status
                != 0,
            "a user scope needs a user"
        )
        let asUser = CommerceClient(port: server.rpcPort, token: mintedUser)
        #expect(try await asUser.getBalance(userID: user) == 0)
        await expectRPCError(.permissionDenied, "SUBJECT_MISMATCH") { try await asUser.getBalance(userID: user + 1) }
        await asUser.close()
        await client.close()
        #expect(await server.terminate() == 0)
    }

    @Test("No token, admin token or secret reaches the server's log, even at trace level")
    func noSecretsInLogs() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("server-\(UUID().uuidString).log").path
        let server = try await ServerProcess.launch(
            database: temporaryDatabasePath(),
            extra: ["--log-level", "trace"],
            standardError: log
        )
        let client = CommerceClient(port: server.rpcPort, token: serviceToken, adminToken: adminToken)
        let user = try await fundedUser(client, 5_000)
        let product = try await client.createProduct(name: "logged", price: 1_000, initialStock: 5).id
        let token = userToken(user)
        let asUser = CommerceClient(port: server.rpcPort, token: token)
        _ = try await asUser.placeOrder(userID: user, items: [(product, 1)])
        await expectRPCError(.permissionDenied, "SUBJECT_MISMATCH") { try await asUser.getBalance(userID: user + 1) }
        let forged = try AccessToken.user(UserID(user), now: now, ttl: 60).signed(
            with: TokenKey.generate(id: "test-key", algorithm: .hs256)
        )
        #expect(
            await self.refusal(server.rpcPort, header: "Bearer \(forged)", user: user)?.reason
                == "TOKEN_SIGNATURE_INVALID"
        )
        #expect(
            await self.refusal(server.rpcPort, header: "Bearer wrong-admin-token", user: user)?.reason
                == "INVALID_CREDENTIALS"
        )
        await asUser.close()
        await client.close()
        #expect(await server.terminate() == 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("FrameRPC server listening"), "the log was captured")
        let secret = try JSONSerialization.jsonObject(with: try testKeys.jwks()) as! [String: [[String: String]]]
        for (what, value) in [
            ("the service token", serviceToken), ("a user token", token), ("a forged token", forged),
            ("the admin token", adminToken), ("a wrong admin token", "wrong-admin-token"),
            ("the signing secret", secret["keys"]![0]["k"]!),
        ] {
            #expect(!text.contains(value), "\(what) is in the log")
            // A token's signature alone is a secret's fingerprint; its claims part may be logged by nobody either.
            if let signature = value.split(separator: ".").last, value.contains(".") {
                #expect(!text.contains(signature), "\(what)'s signature is in the log")
            }
        }
    }

    @Test("/metrics answers GET and HEAD only: POST, PUT and DELETE get 405 with Allow")
    func metricsMethods() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        #expect(try await httpGet(port: server.metricsPort, path: "/metrics").hasPrefix("HTTP/1.1 200"))
        let head = try await httpGet(port: server.metricsPort, path: "/metrics", method: "HEAD")
        #expect(head.hasPrefix("HTTP/1.1 200") && !head.contains("rpc_server_calls_total"), "HEAD: no body")
        for method in ["POST", "PUT", "DELETE"] {
            let answer = try await httpGet(port: server.metricsPort, path: "/metrics", method: method)
            #expect(
                answer.hasPrefix("HTTP/1.1 405") && answer.lowercased().contains("allow: get, head"),
                "\(method): \(answer.prefix(80))"
            )
            #expect(!answer.contains("rpc_server_calls_total"), "\(method) gets no metrics")
        }
        // What an operator watches: full verifications (the cache's misses), refusals by reason.
        let client = CommerceClient(port: server.rpcPort, token: serviceToken)
        for _ in 0..<5 { _ = try await client.listUserCoupons(userID: try await client.createUser(name: "m").id) }
        await client.close()
        let forged = try AccessToken.user(UserID(1), now: now, ttl: 60).signed(
            with: TokenKey.generate(id: "test-key", algorithm: .hs256)
        )
        for _ in 0..<3 { _ = await self.refusal(server.rpcPort, header: "Bearer \(forged)", user: 1) }
        _ = await self.refusal(server.rpcPort, header: "Bearer a.b", user: 1)
        let values = try await metrics(port: server.metricsPort)
        #expect(
            values["auth_token_verifications_total"] == 5,
            "one for the service token (then cached), three for the forged one, one for a.b"
        )
        #expect(values[#"auth_refusals_total{reason="TOKEN_SIGNATURE_INVALID"}"#] == 3)
        #expect(values[#"auth_refusals_total{reason="TOKEN_MALFORMED"}"#] == 1)
        #expect(await server.terminate() == 0)
    }
}
