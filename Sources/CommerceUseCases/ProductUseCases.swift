import CommerceDomain

public struct GetProduct: Sendable {
    let store: any ProductStore
    let queues: WorkQueues

    public func callAsFunction(_ id: ProductID) async throws -> Product {
        guard let product = try await self.store.product(id) else {
            throw CommerceError.productNotFound(id)
        }
        return product
    }
}

public struct ListProducts: Sendable {
    let store: any ProductStore
    let queues: WorkQueues

    public func callAsFunction(page: PageQuery) async throws -> Page<Product> {
        try await self.store.products(page: page)
    }
}

public struct CreateProduct: Sendable {
    let store: any ProductStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    public func callAsFunction(_ product: NewProduct) async throws -> Product {
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.writeNew {
            store.createProduct(name: product.name, price: product.price, stock: product.initialStock, at: clock())
        }
    }
}

public struct Restock: Sendable {
    let store: any ProductStore
    let queues: WorkQueues
    let clock: @Sendable () -> UnixMillis

    /// - Parameter quantity: 1 through 1,000,000,000 (``Validate/quantity(_:field:allowZero:max:)``).
    public func callAsFunction(_ id: ProductID, quantity: Int64) async throws -> Product {
        let (store, clock) = (self.store, self.clock)
        return try await self.queues.write(product: id) { store.restock(id, quantity: quantity, at: clock()) }
    }
}
