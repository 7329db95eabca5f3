import CommerceClient
import CommerceProto
import CommerceServerRuntime
import Foundation
import FrameRPC
import FrameRPCConnect
import FrameRPCServer
import NIOCore
import SocketTestSupport
import SwiftProtobuf
import Testing

/// What curl sees of the HTTP (Connect) port: the real server, the real curl binary.
@Suite("The API over HTTP with curl (Connect protocol, unary)", .timeLimit(.minutes(2)))
struct ConnectCurlTests {
    struct Reply: Sendable {
        let status: Int
        /// The HTTP version curl spoke: `1.1` or `2`.
        let version: String
        let headers: [String: String]
        let body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any] ?? [:] }
        /// Connect's error code and our reason (from the ErrorInfo detail's `debug`).
        var error: (code: String, reason: String)? {
            guard let code = self.json["code"] as? String else { return nil }
            let details = self.json["details"] as? [[String: Any]] ?? []
            let reason = (details.first?["debug"] as? [String: Any])?["reason"] as? String ?? ""
            return (code, reason)
        }
    }

    /// Runs curl against `path` on the server's HTTP port, on a thread of its own (``offThePool(_:)``).
    static func curl(
        _ port: Int,
        _ path: String,
        scheme: String = "http",
        curlOptions: [String] = [],
        json: String? = nil,
        body: Data? = nil,
        contentType: String = "application/json",
        headers: [String] = [],
        method: String? = nil
    ) async throws -> Reply {
        try await offThePool {
            try Self.curlBlocking(
                port,
                path,
                scheme: scheme,
                curlOptions: curlOptions,
                json: json,
                body: body,
                contentType: contentType,
                headers: headers,
                method: method
            )
        }
    }

    private static func curlBlocking(
        _ port: Int,
        _ path: String,
        scheme: String,
        curlOptions: [String],
        json: String?,
        body: Data?,
        contentType: String,
        headers: [String],
        method: String?
    ) throws -> Reply {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("body").path
        let headerFile = folder.appendingPathComponent("headers").path
        var arguments = [
            "-sS", "-o", output, "-D", headerFile, "-w", "%{http_code} %{http_version}",
            "\(scheme)://localhost:\(port)\(path)",
        ]
        arguments += curlOptions
        if let method { arguments += ["-X", method] }
        if let json { arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", json] }
        if let body {
            let input = folder.appendingPathComponent("request").path
            _ = FileManager.default.createFile(atPath: input, contents: body)
            arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", "@\(input)"]
        }
        for header in headers { arguments += ["-H", header] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let code = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var parsed: [String: String] = [:]
        for line in (try String(contentsOfFile: headerFile, encoding: .utf8)).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let written = String(decoding: code, as: UTF8.self).split(separator: " ")
        return Reply(
            status: written.first.flatMap { Int($0) } ?? 0,
            version: written.count > 1 ? String(written[1]) : "",
            headers: parsed,
            body: FileManager.default.contents(atPath: output) ?? Data()
        )
    }

    static func withHTTPServer(_ body: (CommerceServer, Int, CommerceClient) async throws -> Void) async throws {
        try await withCommerceServer(configure: { $0.http = ConnectConfiguration(port: 0) }) { server, client in
            try await body(server, try #require(server.httpPort), client)
        }
    }

    static let auth = "Authorization: Bearer \(serviceToken)"

    @Test("JSON calls to balance, product, coupon, cart and order methods answer as the FrameRPC ones do")
    func jsonCalls() async throws {
        try await Self.withHTTPServer { _, port, client in
            let created = try await Self.curl(
                port,
                "/commerce.v1.UserService/CreateUser",
                json: #"{"name": "curl"}"#,
                headers: [Self.auth]
            )
            #expect(created.status == 200 && created.headers["content-type"] == "application/json")
            let user = try #require((created.json["user"] as? [String: Any])?["id"] as? String)
            let charged = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/ChargeBalance",
                json: #"{"userId": \#(user), "amount": 50000}"#,
                headers: [Self.auth, "Connect-Protocol-Version: 1", "Idempotency-Key: curl-1"]
            )
            #expect(charged.status == 200 && charged.json["balance"] as? String == "50000")
            let replay = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/ChargeBalance",
                json: #"{"userId": \#(user), "amount": 50000}"#,
                headers: [Self.auth, "Idempotency-Key: curl-1"]
            )
            #expect(replay.json["replayed"] as? Bool == true, "the idempotency key travels as a header")
            #expect(
                try await client.getBalance(userID: Int64(user)!) == 50_000,
                "the FrameRPC side sees the same balance"
            )

            let product = try await client.createProduct(name: "curl mug", price: 7_000, initialStock: 3)
            let got = try await Self.curl(
                port,
                "/commerce.v1.ProductService/GetProduct",
                json: #"{"productId": \#(product.id)}"#
            )
            #expect((got.json["product"] as? [String: Any])?["stock"] as? String == "3", "browsing needs no token")

            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let campaign = try await client.createCouponCampaign(
                name: "curl",
                kind: .fixed,
                amount: 1_000,
                totalQuantity: 5,
                validFromUnixMs: now - 1_000,
                validUntilUnixMs: now + 60_000
            )
            let coupon = try await Self.curl(
                port,
                "/commerce.v1.CouponService/IssueCoupon",
                json: #"{"userId": \#(user), "campaignId": \#(campaign.id)}"#,
                headers: [Self.auth]
            )
            let couponID = try #require((coupon.json["coupon"] as? [String: Any])?["id"] as? String)

            let cart = try await Self.curl(
                port,
                "/commerce.v1.CartService/AddItem",
                json: #"{"userId": \#(user), "productId": \#(product.id), "quantity": 2}"#,
                headers: [Self.auth]
            )
            #expect((cart.json["cart"] as? [String: Any])?["total"] as? String == "14000")
            let order = try await Self.curl(
                port,
                "/commerce.v1.CartService/CheckoutCart",
                json: #"{"userId": \#(user), "couponId": \#(couponID)}"#,
                headers: [Self.auth]
            )
            let placed = try #require(order.json["order"] as? [String: Any])
            #expect(placed["total"] as? String == "14000" && placed["discount"] as? String == "1000")
            let orderID = try #require(placed["id"] as? String)
            let listed = try await Self.curl(
                port,
                "/commerce.v1.OrderService/ListOrders",
                json: #"{"userId": \#(user)}"#,
                headers: [Self.auth]
            )
            #expect((listed.json["orders"] as? [[String: Any]])?.map { $0["id"] as? String } == [orderID])
            let cancelled = try await Self.curl(
                port,
                "/commerce.v1.OrderService/CancelOrder",
                json: #"{"userId": \#(user), "orderId": \#(orderID)}"#,
                headers: [Self.auth]
            )
            #expect(cancelled.json["refunded"] as? String == "13000")
            #expect(try await client.getProduct(productID: product.id).stock == 3, "the refund put the stock back")
        }
    }

    @Test("application/proto: the binary request and reply, as Connect clients send them by default")
    func binary() async throws {
        try await Self.withHTTPServer { _, port, client in
            let user = try await fundedUser(client, 20_000)
            let request = try Commerce_V1_GetBalanceRequest.with { $0.userID = user }.serializedData()
            let reply = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                body: request,
                contentType: "application/proto",
                headers: [Self.auth]
            )
            #expect(reply.status == 200 && reply.headers["content-type"] == "application/proto")
            #expect(try Commerce_V1_GetBalanceResponse(serializedBytes: reply.body).balance == 20_000)
        }
    }

    @Test("a gzip body (what Connect clients send by default) is inflated; one that is not gzip is refused")
    func gzip() async throws {
        try await Self.withHTTPServer { _, port, client in
            let user = try await fundedUser(client, 30_000)
            let json = Data(#"{"userId": \#(user)}"#.utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["gzip", "-c"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            input.fileHandleForWriting.write(json)
            try input.fileHandleForWriting.close()
            let compressed = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let reply = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                body: compressed,
                headers: [Self.auth, "Content-Encoding: gzip"]
            )
            #expect(reply.status == 200 && reply.json["balance"] as? String == "30000")
            let bogus = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                json: "{}",
                headers: [Self.auth, "Content-Encoding: gzip"]
            )
            #expect(bogus.status == 400 && bogus.error?.reason == "MALFORMED_MESSAGE")
        }
    }

    @Test("a read by GET with the message in the query; a write by GET is refused 405")
    func get() async throws {
        try await Self.withHTTPServer { _, port, client in
            let product = try await client.createProduct(name: "by GET", price: 1_000, initialStock: 9)
            let message = #"{"productId":\#(product.id)}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let reply = try await Self.curl(
                port,
                "/commerce.v1.ProductService/GetProduct?connect=v1&encoding=json&message=\(message)"
            )
            #expect(reply.status == 200 && (reply.json["product"] as? [String: Any])?["name"] as? String == "by GET")
            let write = try await Self.curl(port, "/commerce.v1.AdminService/Restock?encoding=json&message=%7B%7D")
            #expect(write.status == 405 && write.headers["allow"] == "POST" && write.error?.code == "unimplemented")
        }
    }

    @Test("errors: Connect's code and HTTP status, our reason in a google.rpc.ErrorInfo detail")
    func errors() async throws {
        try await Self.withHTTPServer { _, port, client in
            let alice = try await fundedUser(client, 10_000)
            let bob = try await fundedUser(client, 0)
            let product = try await client.createProduct(name: "dear", price: 50_000, initialStock: 1)
            let cases: [(Reply, Int, String, String)] = [
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.BalanceService/GetBalance",
                        json: #"{"userId": \#(alice)}"#
                    ), 401,
                    "unauthenticated", "MISSING_CREDENTIALS"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.BalanceService/GetBalance",
                        json: #"{"userId": \#(alice)}"#,
                        headers: ["Authorization: Bearer \(userToken(bob))"]
                    ), 403, "permission_denied", "SUBJECT_MISMATCH"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.OrderService/PlaceOrder",
                        json: #"{"userId": \#(alice), "items": [{"productId": \#(product.id), "quantity": 1}]}"#,
                        headers: [Self.auth]
                    ),
                    400, "failed_precondition", "INSUFFICIENT_BALANCE"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.BalanceService/ChargeBalance",
                        json: #"{"userId": \#(alice), "amount": -5}"#,
                        headers: [Self.auth]
                    ),
                    400, "invalid_argument", "INVALID_AMOUNT"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.BalanceService/GetBalance",
                        json: "{not json",
                        headers: [Self.auth]
                    ), 400, "invalid_argument", "MALFORMED_MESSAGE"
                ),
                (
                    try await Self.curl(port, "/commerce.v1.Nope/Nothing", json: "{}"), 404, "unimplemented",
                    "METHOD_NOT_FOUND"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.ProductService/ListProducts",
                        json: "{}",
                        contentType: "text/plain"
                    ), 415, "unimplemented",
                    "UNSUPPORTED_CONTENT_TYPE"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.ProductService/ListProducts",
                        json: "{}",
                        headers: ["Connect-Timeout-Ms: 0"]
                    ), 504,
                    "deadline_exceeded", "DEADLINE_EXCEEDED"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.ProductService/ListProducts",
                        json: "{}",
                        headers: ["Connect-Timeout-Ms: soon"]
                    ), 400,
                    "invalid_argument", "INVALID_TIMEOUT"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.ProductService/ListProducts",
                        json: "{}",
                        headers: ["Connect-Protocol-Version: 2"]
                    ), 400,
                    "invalid_argument", "UNSUPPORTED_PROTOCOL_VERSION"
                ),
                (
                    try await Self.curl(
                        port,
                        "/commerce.v1.ProductService/ListProducts",
                        json: "{}",
                        headers: ["Content-Encoding: br"]
                    ), 501,
                    "unimplemented", "UNSUPPORTED_COMPRESSION"
                ),
            ]
            for (reply, status, code, reason) in cases {
                #expect(reply.status == status, "\(reason): HTTP \(reply.status)")
                #expect(
                    reply.error?.code == code && reply.error?.reason == reason,
                    "\(reason): \(String(decoding: reply.body, as: UTF8.self))"
                )
                #expect(reply.headers["content-type"] == "application/json")
            }
            // The detail's binary value is the ErrorInfo the debug field shows.
            let detail = try #require((cases[2].0.json["details"] as? [[String: Any]])?.first)
            #expect(detail["type"] as? String == "google.rpc.ErrorInfo")
            var value = try #require(detail["value"] as? String)
            while value.count % 4 != 0 { value += "=" }
            let info = try Google_Rpc_ErrorInfo(serializedBytes: try #require(Data(base64Encoded: value)))
            #expect(info.reason == "INSUFFICIENT_BALANCE" && info.domain == "commerce")
            #expect(try await client.getBalance(userID: alice) == 10_000, "no refused call changed anything")
        }
    }

    @Test("HTTP/2: with prior knowledge in plaintext, and chosen by ALPN over TLS (HTTP/1.1 still offered)")
    func http2() async throws {
        try await Self.withHTTPServer { _, port, client in
            let user = try await fundedUser(client, 12_000)
            let reply = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                curlOptions: ["--http2-prior-knowledge"],
                json: #"{"userId": \#(user)}"#,
                headers: [Self.auth]
            )
            #expect(reply.version == "2" && reply.status == 200 && reply.json["balance"] as? String == "12000")
            let error = try await Self.curl(
                port,
                "/commerce.v1.Nope/Nothing",
                curlOptions: ["--http2-prior-knowledge"],
                json: "{}"
            )
            #expect(error.version == "2" && error.status == 404 && error.error?.reason == "METHOD_NOT_FOUND")
            let plain = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                json: #"{"userId": \#(user)}"#,
                headers: [Self.auth]
            )
            #expect(plain.version == "1.1" && plain.status == 200, "HTTP/1.1 on the same port")
        }
        let pki = try TestPKI(name: "http")
        let tls = try ServerTLS(
            certificate: pki.serverCertificate,
            key: pki.serverKey,
            applicationProtocols: ["h2", "http/1.1"]
        )
        try await withCommerceServer(configure: { $0.http = ConnectConfiguration(port: 0, tls: tls) }) {
            server,
            client in
            let port = try #require(server.httpPort)
            let user = try await fundedUser(client, 34_000)
            let h2 = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                scheme: "https",
                curlOptions: ["--cacert", pki.ca, "--http2"],
                json: #"{"userId": \#(user)}"#,
                headers: [Self.auth]
            )
            #expect(h2.version == "2" && h2.json["balance"] as? String == "34000")
            let h1 = try await Self.curl(
                port,
                "/commerce.v1.BalanceService/GetBalance",
                scheme: "https",
                curlOptions: ["--cacert", pki.ca, "--http1.1"],
                json: #"{"userId": \#(user)}"#,
                headers: [Self.auth]
            )
            #expect(h1.version == "1.1" && h1.json["balance"] as? String == "34000")
            let untrusted = try? await Self.curl(
                port,
                "/commerce.v1.ProductService/ListProducts",
                scheme: "https",
                json: "{}"
            )
            #expect((untrusted?.status ?? 0) == 0, "a client that does not trust the certificate gets no answer")
        }
    }

    @Test("a body above the limit is refused, and the server answers the next request")
    func limitsAndMetrics() async throws {
        try await withCommerceServer(configure: { $0.http = ConnectConfiguration(port: 0, maxBodySize: 1_024) }) {
            server,
            _ in
            let port = try #require(server.httpPort)
            let big = try await Self.curl(
                port,
                "/commerce.v1.ProductService/ListProducts",
                json: String(repeating: " ", count: 4_096)
            )
            #expect(
                big.status == 429 && big.error?.code == "resource_exhausted" && big.error?.reason == "FRAME_TOO_LARGE"
            )
            let small = try await Self.curl(port, "/commerce.v1.ProductService/ListProducts", json: "{}")
            #expect(small.status == 200, "the server still answers")
        }
    }

    /// The start of a POST whose body declares `length` bytes, with `sent` of them.
    static func partialPost(length: Int, sent: Int) -> [UInt8] {
        let head =
            "POST /commerce.v1.ProductService/ListProducts HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/proto\r\nContent-Length: \(length)\r\n\r\n"
        return Array(head.utf8) + [UInt8](repeating: 0, count: sent)
    }

    /// The start of a FrameRPC REQUEST frame declaring `length` payload bytes, with `sent` of them,
    /// after the preface.
    static func partialFrame(length: Int, sent: Int) -> [UInt8] {
        var buffer = ByteBuffer(bytes: Preface().bytes)
        buffer.writeMultipleIntegers(UInt32(length), UInt32(1), FrameType.request.rawValue, UInt8(0))
        buffer.writeBytes([UInt8](repeating: 7, count: sent))
        return Array(buffer.readableBytesView)
    }

    @Test(
        "HTTP bodies still arriving share the server-wide budget with unfinished frames: past it the largest holder, HTTP or FrameRPC, is refused PARTIAL_FRAME_BUDGET and closed; the others and new clients are served"
    )
    func bodiesShareThePartialRequestBudget() async throws {
        try await withCommerceServer(configure: {
            $0.rpc.maxBufferedPartialBytes = 1_000_000
            $0.rpc.frameTimeout = .seconds(60)
            $0.http = ConnectConfiguration(port: 0, requestTimeout: .seconds(60))
        }) { server, _ in
            let httpPort = try #require(server.httpPort)
            // 600 kB of a 2 MB body and 300 kB of a 900 kB one, then 200 kB of a 2 MB frame: past 1 MB in all.
            let largest = try await RawConnection(port: httpPort)
            try await largest.send(Self.partialPost(length: 2_000_000, sent: 600_000))
            try await Task.sleep(for: .milliseconds(200))
            let second = try await RawConnection(port: httpPort)
            try await second.send(Self.partialPost(length: 900_000, sent: 300_000))
            try await Task.sleep(for: .milliseconds(200))
            let framePeer = try await RawConnection(port: server.port)
            try await framePeer.send(Self.partialFrame(length: 2_000_000, sent: 200_000))
            #expect(await largest.waitUntil { $0.isClosed })
            #expect(largest.text.hasPrefix("HTTP/1.1 429"), "\(largest.text.prefix(200))")
            #expect(largest.text.contains("resource_exhausted") && largest.text.contains("PARTIAL_FRAME_BUDGET"))
            #expect(!second.isClosed && !framePeer.isClosed, "only the largest holder was closed")

            // The frame grows to 800 kB: now it holds the most, and the same budget closes it.
            try await framePeer.send([UInt8](repeating: 7, count: 600_000))
            #expect(await framePeer.waitUntil { $0.isClosed })
            #expect(!second.isClosed, "the HTTP body of 300 kB stays")

            // New clients are served; the body that stayed completes (900 kB, within the budget alone)
            // and is answered as any request is (these zeros are no ListProducts request).
            let fresh = try await Self.curl(httpPort, "/commerce.v1.ProductService/ListProducts", json: "{}")
            #expect(fresh.status == 200)
            try await second.send([UInt8](repeating: 0, count: 600_000))
            #expect(await second.waitUntil { $0.text.hasPrefix("HTTP/1.1 ") })
            #expect(
                !second.text.contains("PARTIAL_FRAME_BUDGET"),
                "answered as any request: \(second.text.prefix(200))"
            )
            for connection in [largest, second, framePeer] { await connection.close() }
        }
    }
}
