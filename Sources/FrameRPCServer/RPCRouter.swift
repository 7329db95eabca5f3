import FrameRPC

/// The method table of a server. Built before the server starts; read-only afterwards.
public struct RPCRouter: Sendable {
    private var table: [String: RPCMethod] = [:]

    public init() {}

    public init(services: [any RPCService]) {
        for service in services { self.register(service) }
    }

    public mutating func register(_ service: any RPCService) {
        for method in service.methods { self.register(method) }
    }

    public mutating func register(_ method: RPCMethod) {
        precondition(self.table[method.name] == nil, "method \(method.name) registered twice")
        precondition(
            method.name.hasPrefix("/") && method.name.split(separator: "/").count == 2,
            "method name \(method.name) must look like /package.Service/Method"
        )
        self.table[method.name] = method
    }

    public subscript(name: String) -> RPCMethod? { self.table[name] }

    /// Sorted by name.
    public var methods: [RPCMethod] { self.table.values.sorted { $0.name < $1.name } }

    public var serviceNames: Set<String> { Set(self.table.values.map(\.serviceName)) }
}
