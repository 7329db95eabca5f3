import CommerceClient
import CommerceServerRuntime
import Foundation
import FrameRPCConnect
import FrameRPCServer
import Testing

@Suite("Pushback over HTTP (Connect)", .timeLimit(.minutes(2)))
struct ConnectPushbackTests {
    /// An HTTP/1.1 request with a JSON body, kept alive.
    static func post(_ path: String, json: String, headers: [String] = []) -> [UInt8] {
        let body = Array(json.utf8)
        let head =
            "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Authorization: Bearer \(serviceToken)\r\n"
            + headers.map { "\($0)\r\n" }.joined()
            + "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    @Test(
        "an HTTP/1.1 connection refused OVERLOADED is not read while the write slots stay taken; another connection is answered meanwhile; the paused one once writes end"
    )
    func pausedUntilRoom() async throws {
        try await withCommerceServer(configure: {
            $0.http = ConnectConfiguration(port: 0)
            $0.rpc.maxCallsInFlight = 4  // 3 for writes
        }) { server, client in
            let port = try #require(server.httpPort)
            let user = try await client.createUser(name: "pushed").id
            let holder = try WriteLockHolder(path: server.sqlite!.configuration.path)
            // Three charges wait for the database's write lock: every write slot is taken.
            let charges = (0..<3).map { index in
                Task { try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "held-\(index)") }
            }
            let end = ContinuousClock.now + .seconds(20)
            while server.callsInFlight < 3 && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.callsInFlight == 3)

            let raw = try await RawConnection(port: port)
            try await raw.send(
                Self.post(
                    "/commerce.v1.BalanceService/ChargeBalance",
                    json: #"{"userId": \#(user), "amount": 1000}"#,
                    headers: ["Idempotency-Key: refused"]
                )
            )
            #expect(await raw.waitUntil { $0.text.contains("OVERLOADED") })
            #expect(raw.text.hasPrefix("HTTP/1.1 429"))
            let answered = raw.text.count
            // A read (there is a slot for it), on the same connection: not read while paused…
            try await raw.send(
                Self.post("/commerce.v1.BalanceService/GetBalance", json: #"{"userId": \#(user)}"#)
            )
            try await Task.sleep(for: .milliseconds(300))
            #expect(raw.text.count == answered, "nothing more was answered: \(raw.text)")
            // …while another connection is read and answered.
            let other = try await ConnectCurlTests.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                json: #"{"userId": \#(user)}"#,
                headers: [ConnectCurlTests.auth]
            )
            #expect(other.status == 200, "balance 0 is answered as {}: \(other.json)")

            try await offThePool { holder.release() }
            for charge in charges { _ = try await charge.value }
            #expect(await raw.waitUntil { $0.text.contains(#""balance":"3000""#) }, "\(raw.text)")
            await raw.close()
        }
    }

    @Test(
        "over HTTP/2 a refusal pauses the carrying connection: curl's next request on it waits for the one-second fallback while the write slots stay taken, another connection is answered meanwhile"
    )
    func http2ConnectionPaused() async throws {
        // HTTP/2 over TLS (ALPN): Debian's curl 7.88 cannot reuse a connection made with
        // `--http2-prior-knowledge` (curl/curl#10634), and this also puts TLS below the gate.
        let pki = try TestPKI(name: "h2-pushback")
        let tls = try ServerTLS(
            certificate: pki.serverCertificate,
            key: pki.serverKey,
            applicationProtocols: ["h2", "http/1.1"]
        )
        try await withCommerceServer(configure: {
            $0.http = ConnectConfiguration(port: 0, tls: tls)
            $0.rpc.maxCallsInFlight = 4  // 3 for writes
        }) { server, client in
            let port = try #require(server.httpPort)
            let user = try await client.createUser(name: "pushed over h2").id
            let holder = try WriteLockHolder(path: server.sqlite!.configuration.path)
            let charges = (0..<3).map { index in
                Task { try await client.chargeBalance(userID: user, amount: 1_000, idempotencyKey: "h2-held-\(index)") }
            }
            let end = ContinuousClock.now + .seconds(20)
            while server.callsInFlight < 3 && ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.callsInFlight == 3)

            // Two requests on one HTTP/2 connection (curl reuses it for `--next`): a charge, refused,
            // then a read, for which there is a slot.
            let base = "https://localhost:\(port)/commerce.v1.BalanceService"
            let common = [
                "-sS", "--http2", "--cacert", pki.ca, "-o", "/dev/null", "-H", "Content-Type: application/json",
                "-H", ConnectCurlTests.auth,
                "-w", "%{http_code} %{http_version} %{num_connects} %{time_starttransfer} %{time_total}\\n",
            ]
            let pair = Task {
                try await run(
                    "/usr/bin/curl",
                    common + [
                        "-H", "Idempotency-Key: h2-refused", "--data-binary", #"{"userId": \#(user), "amount": 1000}"#,
                    ]
                        + ["\(base)/ChargeBalance", "--next"]
                        + common + ["--data-binary", #"{"userId": \#(user)}"#, "\(base)/GetBalance"]
                )
            }
            // Meanwhile, while the slots stay taken, another connection is read and answered.
            try await Task.sleep(for: .milliseconds(300))
            let other = try await ConnectCurlTests.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                scheme: "https",
                curlOptions: ["--http2", "--cacert", pki.ca],
                json: #"{"userId": \#(user)}"#,
                headers: [ConnectCurlTests.auth]
            )
            #expect(other.status == 200)

            let lines = try await pair.value.output.split(separator: "\n").map { $0.split(separator: " ") }
            try #require(lines.count == 2, "\(lines)")
            #expect(lines[0][0] == "429" && lines[0][1] == "2", "the charge was refused over HTTP/2: \(lines[0])")
            #expect(lines[1][0] == "200" && lines[1][2] == "0", "the read came on the same connection: \(lines[1])")
            // Not read until the fallback let the connection go: the slots were taken all along.
            let waited = try #require(Double(lines[1][4]))
            #expect(waited >= 0.9, "the read on the paused connection was answered after \(waited) s")
            #expect(server.callsInFlight == 3, "the held charges still hold their slots")

            try await offThePool { holder.release() }
            for charge in charges { _ = try await charge.value }
        }
    }
}
