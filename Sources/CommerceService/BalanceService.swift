import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPC
import FrameRPCServer

/// `commerce.v1.BalanceService`.
public struct BalanceService: RPCService {
    let useCases: CommerceUseCases

    public init(useCases: CommerceUseCases) { self.useCases = useCases }

    public var methods: [RPCMethod] {
        [
            .unary("/commerce.v1.BalanceService/ChargeBalance", mutating: true) { (request: Commerce_V1_ChargeBalanceRequest, context) in
                let key = try Self.idempotencyKey(field: request.idempotencyKey, metadata: context.metadata)
                let receipt = try await self.useCases.chargeBalance(userID: request.userID, amount: request.amount, idempotencyKey: key)
                return Commerce_V1_ChargeBalanceResponse(receipt)
            },
            .unary("/commerce.v1.BalanceService/GetBalance") { (request: Commerce_V1_GetBalanceRequest, _) in
                let balance = try await self.useCases.getBalance(userID: request.userID)
                return Commerce_V1_GetBalanceResponse.with {
                    $0.userID = request.userID
                    $0.balance = balance
                }
            },
            .unary("/commerce.v1.BalanceService/ListBalanceHistory") { (request: Commerce_V1_ListBalanceHistoryRequest, _) in
                let page = try await self.useCases.listBalanceHistory(
                    userID: request.userID, pageSize: request.page.pageSize, pageToken: request.page.pageToken)
                return Commerce_V1_ListBalanceHistoryResponse.with {
                    $0.entries = page.items.map(Commerce_V1_BalanceEntry.init)
                    $0.nextPageToken = page.nextToken ?? ""
                }
            },
        ]
    }

    /// The key may come in the request or in `idempotency-key` metadata; if both, they must agree.
    static func idempotencyKey(field: String, metadata: Metadata) throws(CommerceError) -> String {
        let header = metadata[MetadataKey.idempotencyKey] ?? ""
        if !field.isEmpty && !header.isEmpty && field != header {
            throw CommerceError(.invalidArgument, .invalidIdempotencyKey,
                                "idempotency_key in the request and idempotency-key metadata differ")
        }
        return field.isEmpty ? header : field
    }
}
