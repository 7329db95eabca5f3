import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.AdminService`: the catalogue, campaigns and the audit, for admin credentials only.
public struct AdminService: RPCService, Commerce_V1_AdminServiceHandler {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] { self.methods(guarded: self.guarded) }

    func createProduct(
        _ request: Commerce_V1_CreateProductRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_CreateProductResponse {
        let product = try await self.useCases.createProduct(
            try NewProduct.validate(name: request.name, price: request.price, initialStock: request.initialStock)
        )
        return Commerce_V1_CreateProductResponse.with { $0.product = .init(product) }
    }

    func restock(
        _ request: Commerce_V1_RestockRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_RestockResponse {
        let product = try await self.useCases.restock(
            try Validate.productID(request.productID),
            quantity: try Validate.quantity(request.quantity)
        )
        return Commerce_V1_RestockResponse.with { $0.product = .init(product) }
    }

    func createCouponCampaign(
        _ request: Commerce_V1_CreateCouponCampaignRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_CreateCouponCampaignResponse {
        guard request.kind == .fixed || request.kind == .percent else {
            throw CommerceError(.invalidDiscount, "kind must be DISCOUNT_KIND_FIXED or DISCOUNT_KIND_PERCENT")
        }
        let campaign = try NewCampaign.validate(
            name: request.name,
            fixed: request.kind == .fixed,
            amount: request.amount,
            maxDiscount: request.maxDiscount == 0 ? nil : request.maxDiscount,
            quantity: request.totalQuantity,
            validFrom: request.validFromUnixMs,
            validUntil: request.validUntilUnixMs
        )
        let created = try await self.useCases.createCouponCampaign(campaign)
        return Commerce_V1_CreateCouponCampaignResponse.with { $0.campaign = .init(created) }
    }

    func audit(_ request: Commerce_V1_AuditRequest, context: ServerContext) async throws -> Commerce_V1_AuditResponse {
        let violations = try await self.useCases.audit()
        return Commerce_V1_AuditResponse.with {
            $0.violations = violations.map { violation in
                Commerce_V1_AuditViolation.with {
                    $0.rule = violation.rule
                    $0.subject = violation.subject
                    $0.detail = violation.detail
                }
            }
        }
    }

    func listRecentOrders(
        _ request: Commerce_V1_ListRecentOrdersRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_ListOrdersResponse {
        let page = try await self.useCases.listRecentOrders(page: try request.page.query())
        return Commerce_V1_ListOrdersResponse.with {
            $0.orders = page.items.map(Commerce_V1_Order.init)
            $0.nextPageToken = page.nextPageToken
        }
    }

    func listCouponCampaigns(
        _ request: Commerce_V1_ListCouponCampaignsRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_ListCouponCampaignsResponse {
        let page = try await self.useCases.listCouponCampaigns(page: try request.page.query())
        return Commerce_V1_ListCouponCampaignsResponse.with {
            $0.campaigns = page.items.map(Commerce_V1_CouponCampaign.init)
            $0.nextPageToken = page.nextPageToken
        }
    }
}
