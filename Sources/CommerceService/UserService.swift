import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.UserService`.
public struct UserService: RPCService {
    let useCases: CommerceUseCases
    let guarded: GuardedMethods

    public init(useCases: CommerceUseCases, gate: Gate) {
        self.useCases = useCases
        self.guarded = GuardedMethods(gate: gate)
    }

    public var methods: [RPCMethod] {
        [
            self.guarded.service("/commerce.v1.UserService/CreateUser", mutating: true) { (request: Commerce_V1_CreateUserRequest, _) in
                let user = try await self.useCases.createUser(name: try User.validName(request.name))
                return Commerce_V1_CreateUserResponse.with { $0.user = .init(user) }
            },
            self.guarded.user("/commerce.v1.UserService/GetUser", user: { $0.userID }) { (_: Commerce_V1_GetUserRequest, id, _) in
                let user = try await self.useCases.getUser(id)
                return Commerce_V1_GetUserResponse.with { $0.user = .init(user) }
            },
        ]
    }
}
