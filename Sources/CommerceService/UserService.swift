import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.UserService`.
public struct UserService: RPCService, Commerce_V1_UserServiceHandler {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] { self.methods(guarded: self.guarded) }

    func createUser(
        _ request: Commerce_V1_CreateUserRequest,
        context: ServerContext
    ) async throws -> Commerce_V1_CreateUserResponse {
        let user = try await self.useCases.createUser(name: try User.validName(request.name))
        return Commerce_V1_CreateUserResponse.with { $0.user = .init(user) }
    }

    func getUser(
        _ request: Commerce_V1_GetUserRequest,
        user: UserID,
        context: ServerContext
    ) async throws -> Commerce_V1_GetUserResponse {
        let found = try await self.useCases.getUser(user)
        return Commerce_V1_GetUserResponse.with { $0.user = .init(found) }
    }
}
