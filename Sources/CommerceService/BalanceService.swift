import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.BalanceService`.
public struct BalanceService: RPCService {
    let useCases: CommerceUseCases

    public init(useCases: CommerceUseCases) { self.useCases = useCases }

    public var methods: [RPCMethod] {
        [
            .unary("/commerce.v1.BalanceService/ChargeBalance", mutating: true) { (request: Commerce_V1_ChargeBalanceRequest, context) in
                let user = try Validate.userID(request.userID)
                let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                let receipt = try await self.useCases.chargeBalance(user: user, amount: request.amount, idempotencyKey: key)
                return Commerce_V1_ChargeBalanceResponse(receipt)
            },
            .unary("/commerce.v1.BalanceService/GetBalance") { (request: Commerce_V1_GetBalanceRequest, _) in
                let balance = try await self.useCases.getBalance(user: try Validate.userID(request.userID))
                return Commerce_V1_GetBalanceResponse.with {
                    $0.userID = request.userID
                    $0.balance = balance
                }
            },
            .unary("/commerce.v1.BalanceService/ListBalanceHistory") { (request: Commerce_V1_ListBalanceHistoryRequest, _) in
                let page = try await self.useCases.listBalanceHistory(user: try Validate.userID(request.userID), page: try request.page.query())
                return Commerce_V1_ListBalanceHistoryResponse.with {
                    $0.entries = page.items.map(Commerce_V1_BalanceEntry.init)
                    $0.nextPageToken = page.nextPageToken
                }
            },
        ]
    }
}
