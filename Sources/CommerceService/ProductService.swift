import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.ProductService`.
public struct ProductService: RPCService, Commerce_V1_ProductServiceHandler {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] { self.methods(guarded: self.guarded) }

    func getProduct(
        _ request: Commerce_V1_GetProductRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_GetProductResponse {
        let product = try await self.useCases.getProduct(try Validate.productID(request.productID))
        return Commerce_V1_GetProductResponse.with { $0.product = .init(product) }
    }

    func listProducts(
        _ request: Commerce_V1_ListProductsRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_ListProductsResponse {
        let page = try await self.useCases.listProducts(page: try request.page.query())
        return Commerce_V1_ListProductsResponse.with {
            $0.products = page.items.map(Commerce_V1_Product.init)
            $0.nextPageToken = page.nextPageToken
        }
    }

    func topProducts(
        _ request: Commerce_V1_TopProductsRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_TopProductsResponse {
        let ranking = try await self.useCases.topProducts(try request.query())
        return Commerce_V1_TopProductsResponse.with {
            $0.products = ranking.sellers.map { seller in
                Commerce_V1_TopProduct.with {
                    $0.productID = seller.productID.rawValue
                    $0.name = seller.name
                    $0.quantitySold = seller.quantitySold
                    $0.orderCount = seller.orderCount
                }
            }
            $0.windowStartUnixMs = ranking.windowStart
            $0.windowEndUnixMs = ranking.windowEnd
        }
    }
}
