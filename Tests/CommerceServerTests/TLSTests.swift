import CommerceClient
import Foundation
import FrameRPC
import FrameRPCClient
import FrameRPCServer
import SocketTestSupport
import Testing

/// A test PKI made with openssl at test time: a CA, a server certificate for localhost and
/// 127.0.0.1, and a client certificate, each in PEM files in a folder of their own.
struct TestPKI {
    let folder: String
    var ca: String { self.folder + "/ca.pem" }
    var serverCertificate: String { self.folder + "/server.pem" }
    var serverKey: String { self.folder + "/server.key" }
    var clientCertificate: String { self.folder + "/client.pem" }
    var clientKey: String { self.folder + "/client.key" }

    init(name: String) throws {
        self.folder =
            FileManager.default.temporaryDirectory.appendingPathComponent("pki-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: self.folder, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try Self.openssl(
            ["req", "-x509"] + ec + [
                "-keyout", self.folder + "/ca.key", "-out", self.ca, "-days", "2", "-subj", "/CN=\(name) test CA",
            ]
        )
        try self.issue(
            "server",
            subject: "/CN=localhost",
            extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
        )
        try self.issue("client", subject: "/CN=storefront", extensions: "extendedKeyUsage=clientAuth")
    }

    private func issue(_ name: String, subject: String, extensions: String) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        let extensionsFile = self.folder + "/\(name).ext"
        try extensions.write(toFile: extensionsFile, atomically: true, encoding: .utf8)
        try Self.openssl(
            ["req"] + ec + [
                "-keyout", self.folder + "/\(name).key", "-out", self.folder + "/\(name).csr", "-subj", subject,
            ]
        )
        try Self.openssl([
            "x509", "-req", "-in", self.folder + "/\(name).csr", "-CA", self.ca, "-CAkey", self.folder + "/ca.key",
            "-CAcreateserial",
            "-out", self.folder + "/\(name).pem", "-days", "2", "-extfile", extensionsFile,
        ])
    }

    private static func openssl(_ arguments: [String]) throws {
        let result = try run("/usr/bin/openssl", arguments, withErrors: true)
        guard result.status == 0 else {
            throw TestSetupError(message: "openssl \(arguments.joined(separator: " ")): \(result.output)")
        }
    }
}

@Suite(
    "TLS on the FrameRPC listener: plaintext refused clearly, mutual TLS, certificates reloaded",
    .timeLimit(.minutes(2))
)
struct TLSTests {
    func client(_ port: Int, _ tls: ClientTLS?) -> CommerceClient {
        CommerceClient(configuration: ClientConfiguration(port: port, maxAttempts: 1, tls: tls), token: serviceToken)
    }

    @Test(
        "A TLS client that trusts the server's CA is served; a plaintext one is told TLS_REQUIRED; one that trusts other CAs fails the handshake"
    )
    func serverTLS() async throws {
        let pki = try TestPKI(name: "server")
        let tls = try ServerTLS(certificate: pki.serverCertificate, key: pki.serverKey)
        try await withCommerceServer(configure: { $0.rpc.tls = tls }) { server, _ in
            for name in ["127.0.0.1", "localhost"] {
                let client = CommerceClient(
                    configuration: ClientConfiguration(
                        host: name,
                        port: server.port,
                        tls: try ClientTLS(trustRoots: pki.ca)
                    ),
                    token: serviceToken
                )
                let user = try await fundedUser(client, 10_000)
                #expect(try await client.getBalance(userID: user) == 10_000, "over TLS to \(name)")
                await client.close()
            }

            let plaintext = self.client(server.port, nil)
            await expectRPCError(.failedPrecondition, WireReason.tlsRequired) {
                try await plaintext.getBalance(userID: 1)
            }
            await plaintext.close()

            let other = try TestPKI(name: "other")
            let distrustful = self.client(server.port, try ClientTLS(trustRoots: other.ca))
            await expectRPCError(.unavailable, WireReason.tlsHandshakeFailed) {
                try await distrustful.getBalance(userID: 1)
            }
            await distrustful.close()
        }
    }

    @Test("Mutual TLS: no client certificate, or one from another CA, fails the handshake; the right one is served")
    func mutualTLS() async throws {
        let pki = try TestPKI(name: "mtls")
        let rogue = try TestPKI(name: "rogue")
        let tls = try ServerTLS(certificate: pki.serverCertificate, key: pki.serverKey, clientCA: pki.ca)
        try await withCommerceServer(configure: { $0.rpc.tls = tls }) { server, _ in
            let anonymous = self.client(server.port, try ClientTLS(trustRoots: pki.ca))
            await expectRPCError(.unavailable, WireReason.tlsHandshakeFailed) { try await anonymous.health() }
            await anonymous.close()
            let impostor = self.client(
                server.port,
                try ClientTLS(trustRoots: pki.ca, certificate: rogue.clientCertificate, key: rogue.clientKey)
            )
            await expectRPCError(.unavailable, WireReason.tlsHandshakeFailed) { try await impostor.health() }
            await impostor.close()
            let service = self.client(
                server.port,
                try ClientTLS(trustRoots: pki.ca, certificate: pki.clientCertificate, key: pki.clientKey)
            )
            let user = try await fundedUser(service, 5_000)
            #expect(try await service.getBalance(userID: user) == 5_000)
            await service.close()
        }
    }

    @Test("A reloaded certificate serves new connections; open ones keep theirs")
    func reload() async throws {
        let first = try TestPKI(name: "first")
        let second = try TestPKI(name: "second")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (certificate, key) = (folder + "/server.pem", folder + "/server.key")
        try FileManager.default.copyItem(atPath: first.serverCertificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: first.serverKey, toPath: key)
        let tls = try ServerTLS(certificate: certificate, key: key)
        try await withCommerceServer(configure: { $0.rpc.tls = tls }) { server, _ in
            let old = self.client(server.port, try ClientTLS(trustRoots: first.ca))
            _ = try await old.health()
            for (from, to) in [(second.serverCertificate, certificate), (second.serverKey, key)] {
                try FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
            try tls.reload()
            _ = try await old.health()
            await old.close()
            let renewed = self.client(server.port, try ClientTLS(trustRoots: second.ca))
            _ = try await renewed.health()
            await renewed.close()
            let stale = self.client(server.port, try ClientTLS(trustRoots: first.ca))
            await expectRPCError(.unavailable, WireReason.tlsHandshakeFailed) { try await stale.health() }
            await stale.close()
            try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self) { try tls.reload() }
            let still = self.client(server.port, try ClientTLS(trustRoots: second.ca))
            _ = try await still.health()
            await still.close()
        }
    }

    @Test("SIGHUP reloads the token keys and the certificate of a running server process")
    func sighup() async throws {
        let pki = try TestPKI(name: "hup")
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("hup-keys-\(UUID().uuidString).json")
            .path
        try testKeys.write(path: keys)
        let binary = try serverBinary()
        let server = try await ServerProcess.launch(
            database: temporaryDatabasePath(),
            extra: ["--auth-keys", keys, "--tls-cert", pki.serverCertificate, "--tls-key", pki.serverKey]
        )
        let tls = try ClientTLS(trustRoots: pki.ca)
        let storefront = self.client(server.rpcPort, tls)
        let user = try await fundedUser(storefront, 1_000)
        // A key the server does not know yet: its tokens are refused until the set is reloaded.
        #expect(try await run(binary, ["keys", "add", "--file", keys, "--kid", "rotated"]).status == 0)
        let rotatedToken = try await run(binary, ["token", "--keys", keys, "--user", "\(user)"]).output
            .trimmingCharacters(
                in: .whitespacesAndNewlines
            )
        let rotated = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, maxAttempts: 1, tls: tls),
            token: rotatedToken
        )
        await expectRPCError(.unauthenticated, "TOKEN_KEY_UNKNOWN") { try await rotated.getBalance(userID: user) }
        kill(server.pid, SIGHUP)
        try await eventually { (try? await rotated.getBalance(userID: user)) == 1_000 }
        // The old key removed: the storefront's token stops working, even though it was cached.
        #expect(try await run(binary, ["keys", "remove", "--file", keys, "--kid", "test-key"]).status == 0)
        kill(server.pid, SIGHUP)
        try await eventually {
            do {
                _ = try await storefront.getBalance(userID: user)
                return false
            } catch let error as RPCError { return error.reason == "TOKEN_KEY_UNKNOWN" }
        }
        #expect(try await rotated.getBalance(userID: user) == 1_000)
        // A client that does not trust the server's certificate: counted where an operator looks.
        let distrustful = self.client(server.rpcPort, try ClientTLS(trustRoots: try TestPKI(name: "foreign").ca))
        await expectRPCError(.unavailable, WireReason.tlsHandshakeFailed) { try await distrustful.health() }
        await distrustful.close()
        try await eventually {
            (try await metrics(port: server.metricsPort))["rpc_server_tls_handshake_failures_total"] == 1
        }
        await rotated.close()
        await storefront.close()
        #expect(await server.terminate() == 0)
    }

    /// Polls `condition` for up to 10 s.
    func eventually(
        _ condition: () async throws -> Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the condition did not hold within 10 s", sourceLocation: sourceLocation)
    }
}

@Suite("Pushback over TLS", .timeLimit(.minutes(2)))
struct TLSPushbackTests {
    @Test(
        "a TLS connection refused OVERLOADED is not read while the write slots stay taken (TLS cannot read past the gate); it is read once writes end"
    )
    func pausedUnderTLS() async throws {
        let pki = try TestPKI(name: "pushback")
        let tls = try ServerTLS(certificate: pki.serverCertificate, key: pki.serverKey)
        try await withCommerceServer(configure: {
            $0.rpc.tls = tls
            $0.rpc.maxCallsInFlight = 4  // 3 for writes
        }) { server, _ in
            func client() throws -> CommerceClient {
                CommerceClient(
                    configuration: ClientConfiguration(
                        port: server.port,
                        connections: 1,
                        maxAttempts: 1,
                        tls: try ClientTLS(trustRoots: pki.ca)
                    ),
                    token: serviceToken
                )
            }
            let holder = try client()
            let user = try await holder.createUser(name: "pushed over TLS").id
            let held = try await HeldWriteSlots(server: server, client: holder, user: user, keys: "tls-held")

            let refused = try client()
            await expectRPCError(.resourceExhausted, WireReason.overloaded) {
                try await refused.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "tls-refused")
            }
            // A read (there is a slot for it) on the paused connection: not read while the writes hold.
            let read = Task { (balance: try await refused.getBalance(userID: user), at: ContinuousClock.now) }
            try await Task.sleep(for: .milliseconds(300))
            let released = ContinuousClock.now
            try await held.release()
            let answer = try await read.value
            #expect(answer.at > released, "answered only after the writes' slots came back")
            #expect(answer.balance >= 1_000, "read after at least one held charge ended")
            await refused.close()
            await holder.close()
        }
    }
}
