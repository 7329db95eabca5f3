import CommerceUseCases
import FrameRPCServer

/// Every commerce service, ready to register on a router.
public enum CommerceServices {
    public static func router(useCases: CommerceUseCases, gate: Gate) -> RPCRouter {
        ShopMetrics.register()
        return RPCRouter(services: [
            UserService(useCases: useCases, gate: gate),
            BalanceService(useCases: useCases, gate: gate),
            ProductService(useCases: useCases, gate: gate),
            OrderService(useCases: useCases, gate: gate),
            CouponService(useCases: useCases, gate: gate),
            CartService(useCases: useCases, gate: gate),
            AdminService(useCases: useCases, gate: gate),
        ])
    }
}
