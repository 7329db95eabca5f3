import CommerceDomain

public struct GetProduct: Sendable {
    let store: any ProductStore
    let queues: WorkQueues

    public func callAsFunction(productID rawID: Int64) async throws -> Product {
        let id = try Validate.productID(rawID)
        guard let product = try await self.store.product(id) else {
            throw CommerceError.productNotFound(id)
        }
        return product
    }
}

public struct ListProducts: Sendable {
    let store: any ProductStore
    let queues: WorkQueues

    public func callAsFunction(pageSize: Int32, pageToken: String) async throws -> Page<Product> {
        let page = try PageQuery.parse(size: pageSize, token: pageToken)
        return try await self.store.products(page: page)
    }
}

public struct CreateProduct: Sendable {
    let store: any ProductStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(name rawName: String, price rawPrice: Int64, initialStock: Int64) async throws -> Product {
        let name = try Validate.name(rawName, maxLength: 200)
        let price = try Validate.price(rawPrice)
        let stock = try Validate.quantity(initialStock, field: "initial_stock", allowZero: true)
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.writeNew { store.createProduct(name: name, price: price, stock: stock, at: clock()) }
    }
}

public struct Restock: Sendable {
    let store: any ProductStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(productID rawID: Int64, quantity rawQuantity: Int64) async throws -> Product {
        let id = try Validate.productID(rawID)
        let quantity = try Validate.quantity(rawQuantity)
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(product: id) { store.restock(id, quantity: quantity, at: clock()) }
    }
}
