import CommerceClient
import FrameRPC
import FrameRPCClient
import Testing

@Suite("Products and admin through the real server", .timeLimit(.minutes(2)))
struct ProductAndAdminTests {
    @Test("CreateProduct, Restock, GetProduct and ListProducts", arguments: StoreKind.available)
    func catalogue(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let product = try await client.createProduct(name: "Keyboard", price: 89_000, initialStock: 10)
            #expect(product.id > 0 && product.stock == 10 && product.price == 89_000)
            #expect(try await client.restock(productID: product.id, quantity: 5).stock == 15)
            #expect(try await client.getProduct(productID: product.id).stock == 15)
            for index in 0..<6 { _ = try await client.createProduct(name: "P\(index)", price: 1_000, initialStock: 0) }
            let first = try await client.listProducts(pageSize: 4)
            let second = try await client.listProducts(pageSize: 4, pageToken: first.nextPageToken)
            #expect(first.products.count == 4 && second.products.count == 3 && second.nextPageToken.isEmpty)
            #expect(Set((first.products + second.products).map(\.id)).count == 7)
        }
    }

    @Test("product and admin refusals carry their reasons", arguments: StoreKind.available)
    func refusals(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let product = try await client.createProduct(name: "Lamp", price: 32_000, initialStock: 1)
            await expectRPCError(.notFound, "PRODUCT_NOT_FOUND") { try await client.getProduct(productID: 777_777) }
            await expectRPCError(.invalidArgument, "INVALID_PRODUCT_ID") { try await client.getProduct(productID: 0) }
            await expectRPCError(.invalidArgument, "INVALID_PRICE") {
                try await client.createProduct(name: "x", price: 0, initialStock: 1)
            }
            await expectRPCError(.invalidArgument, "INVALID_QUANTITY") {
                try await client.createProduct(name: "x", price: 10, initialStock: -1)
            }
            await expectRPCError(.invalidArgument, "INVALID_NAME") {
                try await client.createProduct(name: "", price: 10, initialStock: 1)
            }
            await expectRPCError(.invalidArgument, "INVALID_QUANTITY") {
                try await client.restock(productID: product.id, quantity: 0)
            }
            await expectRPCError(.notFound, "PRODUCT_NOT_FOUND") {
                try await client.restock(productID: 777_777, quantity: 1)
            }
            await expectRPCError(.failedPrecondition, "STOCK_LIMIT_EXCEEDED") {
                try await client.restock(productID: product.id, quantity: 1_000_000_000)
            }
        }
    }

    @Test(
        "admin calls need the right token: missing is MISSING_CREDENTIALS, wrong is INVALID_CREDENTIALS",
        arguments: StoreKind.available
    )
    func adminToken(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { server, _ in
            let anonymous = CommerceClient(port: server.port)
            let impostor = CommerceClient(port: server.port, adminToken: "wrong")
            await expectRPCError(.unauthenticated, "MISSING_CREDENTIALS") {
                try await anonymous.createProduct(name: "x", price: 10, initialStock: 1)
            }
            await expectRPCError(.unauthenticated, "INVALID_CREDENTIALS") {
                try await impostor.restock(productID: 1, quantity: 1)
            }
            await anonymous.close()
            await impostor.close()
        }
    }

    @Test(
        "a server with --auth off and no admin token refuses admin calls with ADMIN_DISABLED",
        arguments: StoreKind.available
    )
    func adminDisabled(store: StoreKind) async throws {
        try await withCommerceServer(store: store, adminToken: nil, configure: { $0.auth = .off }) { server, _ in
            let client = CommerceClient(port: server.port, adminToken: "anything")
            await expectRPCError(.permissionDenied, "ADMIN_DISABLED") {
                try await client.createProduct(name: "x", price: 10, initialStock: 1)
            }
            await client.close()
        }
    }

    @Test("AdminService/Audit: clean on a consistent database, reports a tampered one, admin only")
    func auditRPC() async throws {
        try await withCommerceServer { server, client in
            let user = try await client.createUser(name: "audited")
            _ = try await client.chargeBalance(userID: user.id, amount: 5_000)
            #expect(try await client.audit().isEmpty)
            // Tamper behind the service's back, as a bad migration or manual edit would.
            try server.sqlite!.unsafeExecuteForTesting("UPDATE users SET balance = balance + 1 WHERE id = \(user.id)")
            let violations = try await client.audit()
            #expect(violations.map(\.rule).contains("balance-equals-history"))
            let anonymous = CommerceClient(port: server.port)
            await expectRPCError(.unauthenticated, "MISSING_CREDENTIALS") { try await anonymous.audit() }
            await anonymous.close()
        }
    }

    @Test("Health and the method listing", arguments: StoreKind.available)
    func builtins(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            #expect(try await client.health() == .serving)
            #expect(try await client.health(service: "commerce.v1.BalanceService") == .serving)
            let names = try await client.listMethods().map(\.name)
            for entry in MethodCatalog.entries { #expect(names.contains(entry.name), "\(entry.name) is offered") }
        }
    }
}
