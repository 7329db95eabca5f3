import CommerceClient
import CommerceServerRuntime
import Foundation
import FrameRPCConnect
import FrameRPCServer
import Glibc
import SocketTestSupport
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
            let held = try await HeldWriteSlots(server: server, client: client, user: user, keys: "held")

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

            try await held.release()
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
            let held = try await HeldWriteSlots(server: server, client: client, user: user, keys: "h2-held")

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

            try await held.release()
        }
    }

    @Test(
        "an HTTP/1.1 client that pipelines requests and reads no response stops being read: the rest waits in TCP, not in the server's memory; every request is answered once it reads"
    )
    func unreadResponsesStopReads() async throws {
        try await withCommerceServer(configure: { $0.http = ConnectConfiguration(port: 0) }) { server, client in
            let port = try #require(server.httpPort)
            for index in 0..<40 {
                _ = try await client.createProduct(
                    name: "product \(index) " + String(repeating: "x", count: 80),
                    price: 1_000,
                    initialStock: 1
                )
            }
            // 2,500 requests of about 16 KB (a padding header), each answered with about 7 KB.
            let requests = 2_500
            let padding = "X-Padding: " + String(repeating: "p", count: 16_000) + "\r\n"
            let one = Array(
                ("POST /commerce.v1.ProductService/ListProducts HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\n\(padding)Content-Length: 17\r\n\r\n"
                    + #"{"pageSize": 40}"# + " ").utf8
            )
            let request = Array([[UInt8]](repeating: one, count: requests).joined())
            let socket = try UnreadingSocket(port: port)
            let stalledAt = try await offThePool { socket.sendUntilStalled(request) }
            #expect(
                stalledAt < request.count / 2,
                "the server kept reading a client that reads none of its responses: \(stalledAt) of \(request.count) bytes taken"
            )
            // The client reads: every request is answered, in order, with the whole page.
            let answers = try await offThePool { () -> (arrived: Int, good: Int) in
                var responses = HTTPResponses()
                socket.exchange(request, from: stalledAt) { chunk in
                    responses.append(chunk, expecting: "product 39 ")
                    return responses.arrived == requests
                }
                return (responses.arrived, responses.good)
            }
            #expect(answers.arrived == requests && answers.good == requests, "\(answers)")
        }
    }
}

/// HTTP/1.1 responses as they arrive in pieces: how many have arrived whole, and how many of those
/// are a 200 whose body contains what was expected.
private struct HTTPResponses {
    private var received: [UInt8] = []
    private(set) var arrived = 0
    private(set) var good = 0

    mutating func append(_ chunk: [UInt8], expecting expected: String) {
        self.received += chunk
        var consumed = 0
        while let response = Self.response(in: self.received[consumed...]) {
            self.arrived += 1
            if response.head.hasPrefix("HTTP/1.1 200") && response.body.contains(expected) { self.good += 1 }
            consumed += response.length
        }
        self.received.removeFirst(consumed)
    }

    /// The first whole HTTP response in `bytes`: its head, its body (by Content-Length) and its
    /// length; nil until it has all arrived.
    private static func response(in bytes: ArraySlice<UInt8>) -> (head: String, body: String, length: Int)? {
        let separator = Array("\r\n\r\n".utf8)
        var index = bytes.startIndex
        while index + separator.count <= bytes.endIndex,
            !bytes[index..<(index + separator.count)].elementsEqual(separator)
        {
            index += 1
        }
        guard index + separator.count <= bytes.endIndex else { return nil }
        let head = String(decoding: bytes[bytes.startIndex..<index], as: UTF8.self)
        guard
            let line = head.lowercased().split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let bodyStart = index + separator.count
        guard bodyStart + length <= bytes.endIndex else { return nil }
        return (
            head,
            String(decoding: bytes[bodyStart..<(bodyStart + length)], as: UTF8.self),
            bodyStart + length - bytes.startIndex
        )
    }
}
