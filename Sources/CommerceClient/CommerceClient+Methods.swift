import CommerceProto
import FrameRPC
import FrameRPCClient

extension CommerceClient {
    // MARK: Users

    public func createUser(name: String, options: CallOptions = CallOptions()) async throws -> Commerce_V1_User {
        let reply = try await self.createUser(Commerce_V1_CreateUserRequest.with { $0.name = name }, options: options)
        return reply.user
    }

    public func getUser(userID: Int64, options: CallOptions = CallOptions()) async throws -> Commerce_V1_User {
        let reply = try await self.getUser(Commerce_V1_GetUserRequest.with { $0.userID = userID }, options: options)
        return reply.user
    }

    // MARK: Balance

    /// Charges `amount` won. With an idempotency key the call is retried safely after a broken
    /// connection, and a repeat returns the first result (`replayed == true`).
    public func chargeBalance(
        userID: Int64,
        amount: Int64,
        idempotencyKey: String? = nil,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_ChargeBalanceResponse {
        var options = options
        if let idempotencyKey {
            options.idempotent = true
            options.metadata[MetadataKey.idempotencyKey] = idempotencyKey
        }
        return try await self.chargeBalance(
            Commerce_V1_ChargeBalanceRequest.with {
                $0.userID = userID
                $0.amount = amount
            },
            options: options
        )
    }

    public func getBalance(userID: Int64, options: CallOptions = CallOptions()) async throws -> Int64 {
        let reply = try await self.getBalance(
            Commerce_V1_GetBalanceRequest.with { $0.userID = userID },
            options: options
        )
        return reply.balance
    }

    public func listBalanceHistory(
        userID: Int64,
        pageSize: Int32 = 0,
        pageToken: String = "",
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_ListBalanceHistoryResponse {
        try await self.listBalanceHistory(
            Commerce_V1_ListBalanceHistoryRequest.with {
                $0.userID = userID
                $0.page.pageSize = pageSize
                $0.page.pageToken = pageToken
            },
            options: options
        )
    }

    // MARK: Products

    public func getProduct(productID: Int64, options: CallOptions = CallOptions()) async throws -> Commerce_V1_Product {
        let reply = try await self.getProduct(
            Commerce_V1_GetProductRequest.with { $0.productID = productID },
            options: options
        )
        return reply.product
    }

    public func listProducts(
        pageSize: Int32 = 0,
        pageToken: String = "",
        options: CallOptions = CallOptions()
    ) async throws
        -> Commerce_V1_ListProductsResponse
    {
        try await self.listProducts(
            Commerce_V1_ListProductsRequest.with {
                $0.page.pageSize = pageSize
                $0.page.pageToken = pageToken
            },
            options: options
        )
    }

    /// Best sellers over `days` days of the shop's calendar (0 = 3), top `limit` (0 = 5), by units or
    /// by orders, over the last days including today (rolling) or the whole days before today.
    public func topProducts(
        days: Int32 = 0,
        limit: Int32 = 0,
        rankBy: Commerce_V1_RankBy = .unspecified,
        window: Commerce_V1_RankingWindow = .unspecified,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_TopProductsResponse {
        try await self.topProducts(
            Commerce_V1_TopProductsRequest.with {
                $0.days = days
                $0.limit = limit
                $0.rankBy = rankBy
                $0.window = window
            },
            options: options
        )
    }

    // MARK: Admin

    public func createProduct(
        name: String,
        price: Int64,
        initialStock: Int64,
        options: CallOptions = CallOptions()
    ) async throws
        -> Commerce_V1_Product
    {
        let reply = try await self.createProduct(
            Commerce_V1_CreateProductRequest.with {
                $0.name = name
                $0.price = price
                $0.initialStock = initialStock
            },
            options: options
        )
        return reply.product
    }

    public func restock(
        productID: Int64,
        quantity: Int64,
        options: CallOptions = CallOptions()
    ) async throws -> Commerce_V1_Product {
        let reply = try await self.restock(
            Commerce_V1_RestockRequest.with {
                $0.productID = productID
                $0.quantity = quantity
            },
            options: options
        )
        return reply.product
    }

    // MARK: Built-in

    public func health(
        service: String = "",
        options: CallOptions = CallOptions()
    ) async throws
        -> Framerpc_V1_HealthCheckResponse.ServingStatus
    {
        let reply = try await self.check(Framerpc_V1_HealthCheckRequest.with { $0.service = service }, options: options)
        return reply.status
    }

    public func listMethods(options: CallOptions = CallOptions()) async throws -> [Framerpc_V1_MethodInfo] {
        let reply = try await self.listMethods(Framerpc_V1_ListMethodsRequest(), options: options)
        return reply.methods
    }
}
