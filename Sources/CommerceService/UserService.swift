import CommerceDomain
import CommerceProto
import CommerceUseCases
import FrameRPCServer

/// `commerce.v1.UserService`.
public struct UserService: RPCService {
    let useCases: CommerceUseCases

    public init(useCases: CommerceUseCases) { self.useCases = useCases }

    public var methods: [RPCMethod] {
        [
            .unary("/commerce.v1.UserService/CreateUser", mutating: true) { (request: Commerce_V1_CreateUserRequest, _) in
                let user = try await self.useCases.createUser(name: try User.validName(request.name))
                return Commerce_V1_CreateUserResponse.with { $0.user = .init(user) }
            },
            .unary("/commerce.v1.UserService/GetUser") { (request: Commerce_V1_GetUserRequest, _) in
                let user = try await self.useCases.getUser(try Validate.userID(request.userID))
                return Commerce_V1_GetUserResponse.with { $0.user = .init(user) }
            },
        ]
    }
}
