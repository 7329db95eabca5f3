import CommerceUseCases
import FrameRPCServer

/// Every commerce service, ready to register on a router.
public enum CommerceServices {
    public static func router(useCases: CommerceUseCases, adminToken: String?) -> RPCRouter {
        RPCRouter(services: [
            UserService(useCases: useCases),
            BalanceService(useCases: useCases),
            ProductService(useCases: useCases),
            OrderService(useCases: useCases),
            CouponService(useCases: useCases),
            CartService(useCases: useCases),
            AdminService(useCases: useCases, authenticator: AdminAuthenticator(token: adminToken)),
        ])
    }
}
