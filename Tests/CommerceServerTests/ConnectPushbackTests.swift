import CommerceClient
import CommerceServerRuntime
import Foundation
import FrameRPCConnect
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
}
