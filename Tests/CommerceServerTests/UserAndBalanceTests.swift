import CommerceClient
import CommerceProto
import Foundation
import FrameRPC
import FrameRPCClient
import Testing

@Suite("Users and balance through the real server", .timeLimit(.minutes(2)))
struct UserAndBalanceTests {
    @Test("CreateUser and GetUser", arguments: StoreKind.available)
    func users(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let user = try await client.createUser(name: "  Kim Minji ")
            #expect(user.id > 0 && user.name == "Kim Minji" && user.balance == 0 && user.createdAtUnixMs > 0)
            let fetched = try await client.getUser(userID: user.id)
            #expect(fetched == user)
            await expectRPCError(.invalidArgument, "INVALID_NAME") { try await client.createUser(name: "   ") }
            await expectRPCError(.invalidArgument, "INVALID_NAME") {
                try await client.createUser(name: String(repeating: "n", count: 101))
            }
            await expectRPCError(.notFound, "USER_NOT_FOUND") { try await client.getUser(userID: 424_242) }
            await expectRPCError(.invalidArgument, "INVALID_USER_ID") { try await client.getUser(userID: 0) }
        }
    }

    @Test(
        "ChargeBalance, GetBalance and ListBalanceHistory, with every refusal and its reason",
        arguments: StoreKind.available
    )
    func balance(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let user = try await client.createUser(name: "payer")
            let receipt = try await client.chargeBalance(userID: user.id, amount: 10_000)
            #expect(receipt.balance == 10_000 && receipt.charged == 10_000 && !receipt.replayed && receipt.entryID > 0)
            #expect(try await client.getBalance(userID: user.id) == 10_000)

            await expectRPCError(.invalidArgument, "INVALID_AMOUNT") {
                try await client.chargeBalance(userID: user.id, amount: -5_000)
            }
            await expectRPCError(.invalidArgument, "INVALID_AMOUNT") {
                try await client.chargeBalance(userID: user.id, amount: 0)
            }
            await expectRPCError(.invalidArgument, "CHARGE_BELOW_MINIMUM") {
                try await client.chargeBalance(userID: user.id, amount: 999)
            }
            await expectRPCError(.failedPrecondition, "BALANCE_LIMIT_EXCEEDED") {
                try await client.chargeBalance(userID: user.id, amount: 995_000)
            }
            await expectRPCError(.notFound, "USER_NOT_FOUND") {
                try await client.chargeBalance(userID: 999_999, amount: 1_000)
            }
            await expectRPCError(.invalidArgument, "INVALID_USER_ID") {
                try await client.chargeBalance(userID: -1, amount: 1_000)
            }
            await expectRPCError(.notFound, "USER_NOT_FOUND") { try await client.getBalance(userID: 999_999) }
            #expect(try await client.getBalance(userID: user.id) == 10_000, "refused charges changed nothing")

            let history = try await client.listBalanceHistory(userID: user.id)
            #expect(history.entries.count == 1)
            #expect(
                history.entries[0].type == .charge && history.entries[0].amount == 10_000
                    && history.entries[0].balanceAfter == 10_000
            )
            await expectRPCError(.notFound, "USER_NOT_FOUND") { try await client.listBalanceHistory(userID: 999_999) }
            await expectRPCError(.invalidArgument, "INVALID_PAGE_TOKEN") {
                try await client.listBalanceHistory(userID: user.id, pageToken: "x")
            }
            await expectRPCError(.invalidArgument, "INVALID_PAGE_SIZE") {
                try await client.listBalanceHistory(userID: user.id, pageSize: 9_999)
            }
        }
    }

    @Test(
        "idempotency keys: a repeat replays the first result; a conflicting or malformed key is refused",
        arguments: StoreKind.available
    )
    func idempotencyKeys(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let user = try await client.createUser(name: "retrier")
            let first = try await client.chargeBalance(userID: user.id, amount: 2_000, idempotencyKey: "pay-1")
            let second = try await client.chargeBalance(userID: user.id, amount: 2_000, idempotencyKey: "pay-1")
            #expect(!first.replayed && second.replayed && second.entryID == first.entryID && second.balance == 2_000)
            // The key may travel in the request body instead of metadata: the same key, the same charge.
            let body: Commerce_V1_ChargeBalanceResponse = try await client.call(
                "/commerce.v1.BalanceService/ChargeBalance",
                Commerce_V1_ChargeBalanceRequest.with {
                    $0.userID = user.id
                    $0.amount = 2_000
                    $0.idempotencyKey = "pay-1"
                }
            )
            #expect(body.replayed)
            await expectRPCError(.alreadyExists, "IDEMPOTENCY_KEY_REUSED") {
                try await client.chargeBalance(userID: user.id, amount: 3_000, idempotencyKey: "pay-1")
            }
            await expectRPCError(.invalidArgument, "INVALID_IDEMPOTENCY_KEY") {
                try await client.chargeBalance(userID: user.id, amount: 3_000, idempotencyKey: "has spaces")
            }
            await expectRPCError(.invalidArgument, "INVALID_IDEMPOTENCY_KEY") {
                let request = Commerce_V1_ChargeBalanceRequest.with {
                    $0.userID = user.id
                    $0.amount = 3_000
                    $0.idempotencyKey = "a"
                }
                let _: Commerce_V1_ChargeBalanceResponse = try await client.call(
                    "/commerce.v1.BalanceService/ChargeBalance",
                    request,
                    options: CallOptions(metadata: [MetadataKey.idempotencyKey: "b"])
                )
            }
            #expect(try await client.getBalance(userID: user.id) == 2_000)
        }
    }

    @Test("history pages through every entry, newest first", arguments: StoreKind.available)
    func historyPaging(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            let user = try await client.createUser(name: "pager")
            for index in 1...12 { _ = try await client.chargeBalance(userID: user.id, amount: Int64(1_000 * index)) }
            var amounts: [Int64] = []
            var token = ""
            var pages = 0
            repeat {
                let page = try await client.listBalanceHistory(userID: user.id, pageSize: 5, pageToken: token)
                amounts += page.entries.map(\.amount)
                token = page.nextPageToken
                pages += 1
            } while !token.isEmpty
            #expect(pages == 3)
            #expect(amounts == (1...12).reversed().map { Int64(1_000 * $0) })
        }
    }

    @Test(
        "a string field with invalid UTF-8 is INVALID_ARGUMENT / INVALID_UTF8, and the connection survives",
        arguments: StoreKind.available
    )
    func invalidUTF8(store: StoreKind) async throws {
        try await withCommerceServer(store: store) { _, client in
            // CreateUserRequest.name (field 1) = 0xFF 0xFE: protobuf-c would send this; swift-protobuf refuses it.
            await expectRPCError(.invalidArgument, WireReason.invalidUTF8) {
                try await client.rpc.call(
                    "/commerce.v1.UserService/CreateUser",
                    request: [0x0A, 0x02, 0xFF, 0xFE],
                    options: client.authorized(CallOptions())
                )
            }
            await expectRPCError(.invalidArgument, WireReason.malformedMessage) {
                try await client.rpc.call(
                    "/commerce.v1.UserService/CreateUser",
                    request: [0x0A, 0x09, 0x41],
                    options: client.authorized(CallOptions())
                )
            }
            let user = try await client.createUser(name: "still fine")
            #expect(user.id > 0)
        }
    }
}
