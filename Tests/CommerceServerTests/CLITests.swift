import CommerceClient
import CommerceSQLite
import Foundation
import FrameRPCClient
import Testing

/// The command-line tools as an operator runs them, against a real server process: what they
/// print, and the exit status a script can switch on (`commerce`: 0, or 64 + the status code).
@Suite("The command-line tools", .timeLimit(.minutes(3)))
struct CLITests {
    func commerce() throws -> String {
        let path = packageRoot.appendingPathComponent(".build/debug/commerce").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSetupError(message: "no \(path): run `swift build` first")
        }
        return path
    }

    /// Runs `commerce`, stdout and stderr kept apart.
    func commerce(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try self.commerce())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["COMMERCE_ADMIN_TOKEN"] = nil
        process.environment = environment
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData, as: UTF8.self)
        )
    }

    @Test(
        "`commerce list` prints every method with its types; `commerce call` prints the reply as JSON, or the status on stderr with exit 64 + code"
    )
    func commerceCLI() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        let port = ["--port", "\(server.rpcPort)"]

        let list = try self.commerce(["list"] + port)
        #expect(list.status == 0, "\(list.err)")
        let rows = list.out.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        for entry in MethodCatalog.entries {
            #expect(
                rows.contains { $0.first == entry.name && $0.count >= 2 && $0[1].contains(" -> ") },
                "\(entry.name) listed with its types"
            )
        }
        #expect(rows.contains { $0.first == "/commerce.v1.OrderService/PlaceOrder" && $0.last == "(mutating)" })

        let anonymous = try self.commerce(
            ["call", "commerce.v1.UserService/CreateUser", #"{"name": "from the shell"}"#] + port
        )
        #expect(
            anonymous.status == 64 + 16 && anonymous.err.contains("Reason: MISSING_CREDENTIALS"),
            "no token: UNAUTHENTICATED (16)"
        )
        let created = try self.commerce(
            ["call", "commerce.v1.UserService/CreateUser", #"{"name": "from the shell"}"#, "--token", serviceToken]
                + port
        )
        #expect(created.status == 0, "\(created.err)")
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
        let user = try #require(reply["user"] as? [String: Any])
        #expect(user["name"] as? String == "from the shell" && (user["id"] as? Int ?? 0) > 0)

        let missing = try self.commerce(
            ["call", "commerce.v1.BalanceService/GetBalance", #"{"user_id": 987654}"#, "--token", serviceToken] + port
        )
        #expect(missing.status == 64 + 5, "NOT_FOUND is 5")
        #expect(
            missing.out.isEmpty && missing.err.contains("Code: NOT_FOUND (5)")
                && missing.err.contains("Reason: USER_NOT_FOUND")
        )
        #expect(missing.err.contains("Detail: user_id=987654"))

        let refused = try self.commerce(
            ["call", "commerce.v1.AdminService/CreateProduct", #"{"name": "x", "price": 1, "initial_stock": 1}"#] + port
        )
        #expect(
            refused.status == 64 + 16 && refused.err.contains("Reason: MISSING_CREDENTIALS"),
            "no token: UNAUTHENTICATED (16)"
        )
        let admitted = try self.commerce(
            [
                "call", "commerce.v1.AdminService/CreateProduct", #"{"name": "x", "price": 1, "initial_stock": 1}"#,
                "--admin-token", adminToken,
            ] + port
        )
        #expect(admitted.status == 0 && admitted.out.contains("\"product\""), "\(admitted.err)")

        let browsing = try self.commerce(["call", "commerce.v1.ProductService/ListProducts"] + port)
        #expect(
            browsing.status == 0 && browsing.out.contains("\"products\""),
            "browsing needs no token: \(browsing.err)"
        )
        let badJSON = try self.commerce(["call", "commerce.v1.UserService/CreateUser", "{name"] + port)
        #expect(
            badJSON.status == 64 && badJSON.err.contains("not valid JSON for commerce.v1.CreateUserRequest"),
            "a usage error: \(badJSON.err)"
        )
        let unknown = try self.commerce(["call", "commerce.v1.Nope/Nothing"] + port)
        #expect(unknown.status == 64 && unknown.err.contains("unknown method /commerce.v1.Nope/Nothing"))

        #expect(await server.terminate() == 0)
        let down = try self.commerce(["list"] + port)
        #expect(
            down.status == 64 + 14 && down.err.contains("Code: UNAVAILABLE (14)"),
            "a server that is gone: UNAVAILABLE (14)"
        )
    }

    @Test("`commerce-server audit` exits 0 on a sound database and 1, naming the broken rule, on one tampered with")
    func auditExitStatus() async throws {
        let database = temporaryDatabasePath()
        let server = try await ServerProcess.launch(database: database)
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 1),
            token: serviceToken,
            adminToken: adminToken
        )
        let buyer = try await fundedUser(client, 10_000)
        let product = try await client.createProduct(name: "audited", price: 1_000, initialStock: 5).id
        _ = try await client.placeOrder(userID: buyer, items: [(product, 2)])
        await client.close()
        #expect(await server.terminate() == 0)

        let sound = try await run(try serverBinary(), ["audit", "--db", database], withErrors: true)
        #expect(sound.status == 0, "\(sound.output)")
        try SQLiteStore(StoreConfiguration(path: database, synchronous: .normal)).unsafeExecuteForTesting(
            "UPDATE products SET stock = stock + 1"
        )
        let tampered = try await run(try serverBinary(), ["audit", "--db", database], withErrors: true)
        #expect(tampered.status == 1 && tampered.output.contains("stock"), "\(tampered.output)")
    }

    @Test("/metrics moves with the calls: counts by method and code, call durations, open connections")
    func metricsMove() async throws {
        let server = try await ServerProcess.launch(database: temporaryDatabasePath())
        func scrape() async throws -> [String: Double] { try await metrics(port: server.metricsPort) }
        let getBalanceOK = #"rpc_server_calls_total{method="/commerce.v1.BalanceService/GetBalance",code="OK"}"#
        let getBalanceNotFound =
            #"rpc_server_calls_total{method="/commerce.v1.BalanceService/GetBalance",code="NOT_FOUND"}"#
        let durations = #"rpc_server_call_duration_seconds_count{method="/commerce.v1.BalanceService/GetBalance"}"#
        let before = try await scrape()
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 2),
            token: serviceToken
        )
        let user = try await client.createUser(name: "measured").id
        for _ in 0..<7 { _ = try await client.getBalance(userID: user) }
        for _ in 0..<3 {
            await expectRPCError(.notFound, "USER_NOT_FOUND") { try await client.getBalance(userID: 999_999) }
        }
        let during = try await scrape()
        #expect((during[getBalanceOK] ?? 0) - (before[getBalanceOK] ?? 0) == 7)
        #expect((during[getBalanceNotFound] ?? 0) - (before[getBalanceNotFound] ?? 0) == 3)
        #expect((during[durations] ?? 0) - (before[durations] ?? 0) == 10, "one duration per call")
        #expect(during["rpc_server_connections"] ?? 0 >= 2, "the client's two connections are open")
        await client.close()
        try await waitUntil("the connections closed") {
            try await scrape()["rpc_server_connections"] == (before["rpc_server_connections"] ?? 0)
        }
        #expect(await server.terminate() == 0)
    }
}
