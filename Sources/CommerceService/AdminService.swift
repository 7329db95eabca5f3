import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.AdminService`: the catalogue, campaigns and the audit, for admin credentials only.
public struct AdminService: RPCService {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] {
        [
            self.guarded.admin("/commerce.v1.AdminService/CreateProduct", mutating: true) { (request: Commerce_V1_CreateProductRequest, _) in
                let product = try await self.useCases.createProduct(
                    try NewProduct.validate(name: request.name, price: request.price, initialStock: request.initialStock))
                return Commerce_V1_CreateProductResponse.with { $0.product = .init(product) }
            },
            self.guarded.admin("/commerce.v1.AdminService/Restock", mutating: true) { (request: Commerce_V1_RestockRequest, _) in
                let product = try await self.useCases.restock(
                    try Validate.productID(request.productID), quantity: try Validate.quantity(request.quantity))
                return Commerce_V1_RestockResponse.with { $0.product = .init(product) }
            },
            self.guarded.admin("/commerce.v1.AdminService/CreateCouponCampaign", mutating: true) {
                (request: Commerce_V1_CreateCouponCampaignRequest, _) in
                guard request.kind == .fixed || request.kind == .percent else {
                    throw CommerceError(.invalidDiscount, "kind must be DISCOUNT_KIND_FIXED or DISCOUNT_KIND_PERCENT")
                }
                let campaign = try NewCampaign.validate(
                    name: request.name, fixed: request.kind == .fixed, amount: request.amount, maxDiscount: request.maxDiscount == 0 ? nil : request.maxDiscount,
                    quantity: request.totalQuantity, validFrom: request.validFromUnixMs, validUntil: request.validUntilUnixMs)
                let created = try await self.useCases.createCouponCampaign(campaign)
                return Commerce_V1_CreateCouponCampaignResponse.with { $0.campaign = .init(created) }
            },
            self.guarded.admin("/commerce.v1.AdminService/Audit") { (_: Commerce_V1_AuditRequest, _) in
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
            },
        ]
    }
}
