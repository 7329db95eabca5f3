import CommerceProto
import FrameRPC
import FrameRPCClient

extension CommerceClient {
    // MARK: Users

    public func createUser(name: String, options: CallOptions = CallOptions()) async throws -> Commerce_V1_User {
        let reply: Commerce_V1_CreateUserResponse = try await self.call(
            "/commerce.v1.UserService/CreateUser", Commerce_V1_CreateUserRequest.with { $0.name = name }, options: options)
        return reply.user
    }

    public func getUser(userID: Int64, options: CallOptions = CallOptions()) async throws -> Commerce_V1_User {
        let reply: Commerce_V1_GetUserResponse = try await self.read(
            "/commerce.v1.UserService/GetUser", Commerce_V1_GetUserRequest.with { $0.userID = userID }, options)
        return reply.user
    }

    // MARK: Balance

    /// Charges `amount` won. With an idempotency key the call is retried safely after a broken
    /// connection, and a repeat returns the first result (`replayed == true`).
    public func chargeBalance(
        userID: Int64, amount: Int64, idempotencyKey: String? = nil, options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_ChargeBalanceResponse {
        var options = options
        if let idempotencyKey { options.idempotent = true; options.metadata[MetadataKey.idempotencyKey] = idempotencyKey }
        return try await self.call(
            "/commerce.v1.BalanceService/ChargeBalance",
            Commerce_V1_ChargeBalanceRequest.with {
                $0.userID = userID
                $0.amount = amount
            }, options: options)
    }

    public func getBalance(userID: Int64, options: CallOptions = CallOptions()) async throws -> Int64 {
        let reply: Commerce_V1_GetBalanceResponse = try await self.read(
            "/commerce.v1.BalanceService/GetBalance", Commerce_V1_GetBalanceRequest.with { $0.userID = userID }, options)
        return reply.balance
    }

    public func listBalanceHistory(
        userID: Int64, pageSize: Int32 = 0, pageToken: String = "", options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_ListBalanceHistoryResponse {
        try await self.read(
            "/commerce.v1.BalanceService/ListBalanceHistory",
            Commerce_V1_ListBalanceHistoryRequest.with {
                $0.userID = userID
                $0.page.pageSize = pageSize
                $0.page.pageToken = pageToken
            }, options)
    }

    // MARK: Products

    public func getProduct(productID: Int64, options: CallOptions = CallOptions()) async throws -> Commerce_V1_Product {
        let reply: Commerce_V1_GetProductResponse = try await self.read(
            "/commerce.v1.ProductService/GetProduct", Commerce_V1_GetProductRequest.with { $0.productID = productID }, options)
        return reply.product
    }

    public func listProducts(pageSize: Int32 = 0, pageToken: String = "", options: CallOptions = CallOptions()) async throws
        -> Commerce_V1_ListProductsResponse
    {
        try await self.read(
            "/commerce.v1.ProductService/ListProducts",
            Commerce_V1_ListProductsRequest.with {
                $0.page.pageSize = pageSize
                $0.page.pageToken = pageToken
            }, options)
    }

    /// Best sellers over `days` days of the shop's calendar (0 = 3), top `limit` (0 = 5), by units or
    /// by orders, over the last days including today (rolling) or the whole days before today.
    public func topProducts(
        days: Int32 = 0, limit: Int32 = 0, rankBy: Commerce_V1_RankBy = .unspecified, window: Commerce_V1_RankingWindow = .unspecified,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_TopProductsResponse {
        try await self.read(
            "/commerce.v1.ProductService/TopProducts",
            Commerce_V1_TopProductsRequest.with {
                $0.days = days
                $0.limit = limit
                $0.rankBy = rankBy
                $0.window = window
            }, options)
    }

    // MARK: Admin

    public func createProduct(name: String, price: Int64, initialStock: Int64, options: CallOptions = CallOptions()) async throws
        -> Commerce_V1_Product
    {
        let reply: Commerce_V1_CreateProductResponse = try await self.call(
            "/commerce.v1.AdminService/CreateProduct",
            Commerce_V1_CreateProductRequest.with {
                $0.name = name
                $0.price = price
                $0.initialStock = initialStock
            }, options: self.admin(options))
        return reply.product
    }

    public func restock(productID: Int64, quantity: Int64, options: CallOptions = CallOptions()) async throws -> Commerce_V1_Product {
        let reply: Commerce_V1_RestockResponse = try await self.call(
            "/commerce.v1.AdminService/Restock",
            Commerce_V1_RestockRequest.with {
                $0.productID = productID
                $0.quantity = quantity
            }, options: self.admin(options))
        return reply.product
    }

    // MARK: Built-in

    public func health(service: String = "", options: CallOptions = CallOptions()) async throws
        -> Framerpc_V1_HealthCheckResponse.ServingStatus
    {
        let reply: Framerpc_V1_HealthCheckResponse = try await self.read(
            "/framerpc.v1.Health/Check", Framerpc_V1_HealthCheckRequest.with { $0.service = service }, options)
        return reply.status
    }

    public func listMethods(options: CallOptions = CallOptions()) async throws -> [Framerpc_V1_MethodInfo] {
        let reply: Framerpc_V1_ListMethodsResponse = try await self.read(
            "/framerpc.v1.Reflection/ListMethods", Framerpc_V1_ListMethodsRequest(), options)
        return reply.methods
    }
}
