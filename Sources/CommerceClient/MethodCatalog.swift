import CommerceProto
import FrameRPC
import SwiftProtobuf

/// The message types of every method this client knows, for tools that take requests as JSON
/// (the `commerce` CLI). Built from the generated types.
public enum MethodCatalog {
    public struct Entry: Sendable {
        public let name: String
        public let request: any SwiftProtobuf.Message.Type
        public let response: any SwiftProtobuf.Message.Type
    }

    public static let entries: [Entry] = [
        Entry(name: "/framerpc.v1.Health/Check", request: Framerpc_V1_HealthCheckRequest.self, response: Framerpc_V1_HealthCheckResponse.self),
        Entry(name: "/framerpc.v1.Reflection/ListMethods", request: Framerpc_V1_ListMethodsRequest.self, response: Framerpc_V1_ListMethodsResponse.self),
        Entry(name: "/commerce.v1.UserService/CreateUser", request: Commerce_V1_CreateUserRequest.self, response: Commerce_V1_CreateUserResponse.self),
        Entry(name: "/commerce.v1.UserService/GetUser", request: Commerce_V1_GetUserRequest.self, response: Commerce_V1_GetUserResponse.self),
        Entry(name: "/commerce.v1.BalanceService/ChargeBalance", request: Commerce_V1_ChargeBalanceRequest.self, response: Commerce_V1_ChargeBalanceResponse.self),
        Entry(name: "/commerce.v1.BalanceService/GetBalance", request: Commerce_V1_GetBalanceRequest.self, response: Commerce_V1_GetBalanceResponse.self),
        Entry(name: "/commerce.v1.BalanceService/ListBalanceHistory", request: Commerce_V1_ListBalanceHistoryRequest.self, response: Commerce_V1_ListBalanceHistoryResponse.self),
        Entry(name: "/commerce.v1.ProductService/GetProduct", request: Commerce_V1_GetProductRequest.self, response: Commerce_V1_GetProductResponse.self),
        Entry(name: "/commerce.v1.ProductService/ListProducts", request: Commerce_V1_ListProductsRequest.self, response: Commerce_V1_ListProductsResponse.self),
        Entry(name: "/commerce.v1.ProductService/TopProducts", request: Commerce_V1_TopProductsRequest.self, response: Commerce_V1_TopProductsResponse.self),
        Entry(name: "/commerce.v1.AdminService/CreateProduct", request: Commerce_V1_CreateProductRequest.self, response: Commerce_V1_CreateProductResponse.self),
        Entry(name: "/commerce.v1.AdminService/Restock", request: Commerce_V1_RestockRequest.self, response: Commerce_V1_RestockResponse.self),
        Entry(name: "/commerce.v1.AdminService/CreateCouponCampaign", request: Commerce_V1_CreateCouponCampaignRequest.self, response: Commerce_V1_CreateCouponCampaignResponse.self),
        Entry(name: "/commerce.v1.AdminService/Audit", request: Commerce_V1_AuditRequest.self, response: Commerce_V1_AuditResponse.self),
        Entry(name: "/commerce.v1.OrderService/PlaceOrder", request: Commerce_V1_PlaceOrderRequest.self, response: Commerce_V1_PlaceOrderResponse.self),
        Entry(name: "/commerce.v1.OrderService/CreateOrder", request: Commerce_V1_PlaceOrderRequest.self, response: Commerce_V1_PlaceOrderResponse.self),
        Entry(name: "/commerce.v1.OrderService/PayOrder", request: Commerce_V1_PayOrderRequest.self, response: Commerce_V1_PlaceOrderResponse.self),
        Entry(name: "/commerce.v1.OrderService/CancelOrder", request: Commerce_V1_CancelOrderRequest.self, response: Commerce_V1_CancelOrderResponse.self),
        Entry(name: "/commerce.v1.OrderService/GetOrder", request: Commerce_V1_GetOrderRequest.self, response: Commerce_V1_GetOrderResponse.self),
        Entry(name: "/commerce.v1.OrderService/ListOrders", request: Commerce_V1_ListOrdersRequest.self, response: Commerce_V1_ListOrdersResponse.self),
        Entry(name: "/commerce.v1.CartService/AddItem", request: Commerce_V1_AddCartItemRequest.self, response: Commerce_V1_CartResponse.self),
        Entry(name: "/commerce.v1.CartService/RemoveItem", request: Commerce_V1_RemoveCartItemRequest.self, response: Commerce_V1_CartResponse.self),
        Entry(name: "/commerce.v1.CartService/UpdateQuantity", request: Commerce_V1_UpdateCartItemRequest.self, response: Commerce_V1_CartResponse.self),
        Entry(name: "/commerce.v1.CartService/GetCart", request: Commerce_V1_GetCartRequest.self, response: Commerce_V1_CartResponse.self),
        Entry(name: "/commerce.v1.CartService/CheckoutCart", request: Commerce_V1_CheckoutCartRequest.self, response: Commerce_V1_PlaceOrderResponse.self),
        Entry(name: "/commerce.v1.CouponService/IssueCoupon", request: Commerce_V1_IssueCouponRequest.self, response: Commerce_V1_IssueCouponResponse.self),
        Entry(name: "/commerce.v1.CouponService/ListUserCoupons", request: Commerce_V1_ListUserCouponsRequest.self, response: Commerce_V1_ListUserCouponsResponse.self),
    ]

    /// Accepts `/pkg.Service/Method` or `pkg.Service/Method`.
    public static func entry(named name: String) -> Entry? {
        let normalized = name.hasPrefix("/") ? name : "/" + name
        return self.entries.first { $0.name == normalized }
    }
}
