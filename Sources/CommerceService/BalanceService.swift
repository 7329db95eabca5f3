import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.BalanceService`.
public struct BalanceService: RPCService {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] {
        [
            self.guarded.user("/commerce.v1.BalanceService/ChargeBalance", mutating: true, user: { $0.userID }) {
                (request: Commerce_V1_ChargeBalanceRequest, user, context) in
                let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                let receipt = try await self.useCases.chargeBalance(user: user, amount: request.amount, idempotencyKey: key)
                return Commerce_V1_ChargeBalanceResponse(receipt)
            },
            self.guarded.user("/commerce.v1.BalanceService/GetBalance", user: { $0.userID }) { (request: Commerce_V1_GetBalanceRequest, user, _) in
                let balance = try await self.useCases.getBalance(user: user)
                return Commerce_V1_GetBalanceResponse.with {
                    $0.userID = request.userID
                    $0.balance = balance
                }
            },
            self.guarded.user("/commerce.v1.BalanceService/ListBalanceHistory", user: { $0.userID }) {
                (request: Commerce_V1_ListBalanceHistoryRequest, user, _) in
                let page = try await self.useCases.listBalanceHistory(user: user, page: try request.page.query())
                return Commerce_V1_ListBalanceHistoryResponse.with {
                    $0.entries = page.items.map(Commerce_V1_BalanceEntry.init)
                    $0.nextPageToken = page.nextPageToken
                }
            },
        ]
    }
}
