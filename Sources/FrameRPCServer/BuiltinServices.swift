import FrameRPC

/// `framerpc.v1.Health`: SERVING while the server takes calls, NOT_SERVING once it drains.
/// Answered immediately on the event loop, so a probe's latency is the server's, not its queue's.
struct HealthService: RPCService {
    let serviceNames: Set<String>
    let isDraining: @Sendable () -> Bool

    var methods: [RPCMethod] {
        [
            .immediate(Framerpc_V1_Health.Check.self) { request in
                var response = Framerpc_V1_HealthCheckResponse()
                if !request.service.isEmpty && !self.serviceNames.contains(request.service) {
                    response.status = .serviceUnknown
                } else {
                    response.status = self.isDraining() ? .notServing : .serving
                }
                return response
            }
        ]
    }
}

/// `framerpc.v1.Reflection`: the methods the server offers.
struct ReflectionService: RPCService {
    let listing: [Framerpc_V1_MethodInfo]

    var methods: [RPCMethod] {
        [
            .unary(Framerpc_V1_Reflection.ListMethods.self) { _, _ in
                var response = Framerpc_V1_ListMethodsResponse()
                response.methods = self.listing
                return response
            }
        ]
    }
}

extension RPCRouter {
    /// This router plus the built-in Health and Reflection services: the table a server serves.
    public func withBuiltins(isDraining: @escaping @Sendable () -> Bool) -> RPCRouter {
        var router = self
        let userServices = self.serviceNames
        router.register(
            HealthService(
                serviceNames: userServices.union([Framerpc_V1_Health.name, Framerpc_V1_Reflection.name]),
                isDraining: isDraining
            )
        )
        // Reflection lists itself: its table is built from a probe registration of it.
        let reflection = ReflectionService(listing: []).methods
        var listing = (router.methods + reflection).map(Self.info)
        listing.sort { $0.name < $1.name }
        router.register(ReflectionService(listing: listing))
        return router
    }

    private static func info(_ method: RPCMethod) -> Framerpc_V1_MethodInfo {
        var info = Framerpc_V1_MethodInfo()
        info.name = method.name
        info.requestType = method.requestType
        info.responseType = method.responseType
        info.mutating = method.mutating
        info.access = method.access.name
        return info
    }
}
