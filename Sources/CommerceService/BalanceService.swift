import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.BalanceService`.
public struct BalanceService: RPCService, Commerce_V1_BalanceServiceHandler {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] { self.methods(guarded: self.guarded) }

    func chargeBalance(
        _ request: Commerce_V1_ChargeBalanceRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_ChargeBalanceResponse {
        let key = try Wire.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
        return Commerce_V1_ChargeBalanceResponse(
            try await self.useCases.chargeBalance(user: user, amount: request.amount, idempotencyKey: key)
        )
    }

    func getBalance(
        _ request: Commerce_V1_GetBalanceRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_GetBalanceResponse {
        let balance = try await self.useCases.getBalance(user: user)
        return Commerce_V1_GetBalanceResponse.with {
            $0.userID = request.userID
            $0.balance = balance
        }
    }

    func listBalanceHistory(
        _ request: Commerce_V1_ListBalanceHistoryRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_ListBalanceHistoryResponse {
        let page = try await self.useCases.listBalanceHistory(user: user, page: try request.page.query())
        return Commerce_V1_ListBalanceHistoryResponse.with {
            $0.entries = page.items.map(Commerce_V1_BalanceEntry.init)
            $0.nextPageToken = page.nextPageToken
        }
    }
}
