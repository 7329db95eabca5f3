import FrameRPC

/// `framerpc.v1.Health`: SERVING while the server takes calls, NOT_SERVING once it drains.
/// Answered immediately on the event loop, so a probe's latency is the server's, not its queue's.
struct HealthService: RPCService {
    let serviceNames: Set<String>
    let isDraining: @Sendable () -> Bool

    var methods: [RPCMethod] {
        [
            .immediate("/framerpc.v1.Health/Check") { (request: Framerpc_V1_HealthCheckRequest) in
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
            .unary("/framerpc.v1.Reflection/ListMethods", access: .public) { (_: Framerpc_V1_ListMethodsRequest, _) in
                var response = Framerpc_V1_ListMethodsResponse()
                response.methods = self.listing
                return response
            }
        ]
    }
}

extension RPCRouter {
    /// This router plus the built-in Health and Reflection services.
    func withBuiltins(isDraining: @escaping @Sendable () -> Bool) -> RPCRouter {
        var router = self
        let userServices = self.serviceNames
        router.register(HealthService(serviceNames: userServices.union(["framerpc.v1.Health", "framerpc.v1.Reflection"]), isDraining: isDraining))
        let reflectionName = "/framerpc.v1.Reflection/ListMethods"
        var listing = router.methods.map(Self.info)
        listing.append(Self.info(name: reflectionName, request: Framerpc_V1_ListMethodsRequest.protoMessageName,
                                 response: Framerpc_V1_ListMethodsResponse.protoMessageName, mutating: false, access: .public))
        listing.sort { $0.name < $1.name }
        router.register(ReflectionService(listing: listing))
        return router
    }

    private static func info(_ method: RPCMethod) -> Framerpc_V1_MethodInfo {
        info(name: method.name, request: method.requestType, response: method.responseType, mutating: method.mutating, access: method.access)
    }

    private static func info(name: String, request: String, response: String, mutating: Bool, access: RPCAccess) -> Framerpc_V1_MethodInfo {
        var info = Framerpc_V1_MethodInfo()
        info.name = name
        info.requestType = request
        info.responseType = response
        info.mutating = mutating
        info.access = access.name
        return info
    }
}
