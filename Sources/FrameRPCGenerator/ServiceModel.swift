import FrameRPC
import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// A service as the writers need it: Swift names resolved, each method's access checked.
struct ServiceModel {
    /// `commerce.v1.BalanceService`.
    let fullName: String
    /// `Commerce_V1_BalanceService`: the enum holding the method specs.
    let swiftName: String
    let comment: String
    let methods: [MethodModel]

    init(_ service: ServiceDescriptor) throws {
        let namer = SwiftProtobufNamer()
        self.fullName = service.fullName
        self.swiftName = namer.typePrefix(forFile: service.file) + service.name
        self.comment = service.protoSourceComments()
        self.methods = try service.methods.map { try MethodModel($0, namer: namer) }
    }
}

struct MethodModel {
    enum Access: String {
        case `public`, user, owner, service, admin

        /// The ``FrameRPC/RPCAccess`` a client and `ListMethods` see: an owner's method is a user's.
        var runtime: String { self == .owner ? "user" : self.rawValue }
    }

    let service: String
    let name: String
    /// `getBalance`.
    let functionName: String
    let requestType: String
    let responseType: String
    let access: Access
    let mutating: Bool
    /// For a user method: the Swift property of the request's `user_id`.
    let userProperty: String?
    let comment: String

    var descriptorPath: String { "/\(self.service)/\(self.name)" }

    init(_ method: SwiftProtobufPluginLibrary.MethodDescriptor, namer: SwiftProtobufNamer) throws {
        let path = "/\(method.service.fullName)/\(method.name)"
        guard !method.clientStreaming && !method.serverStreaming else {
            throw GeneratorError("\(path): FrameRPC calls are unary")
        }
        self.service = method.service.fullName
        self.name = method.name
        self.functionName = method.name.prefix(1).lowercased() + method.name.dropFirst()
        self.requestType = namer.fullName(message: method.inputType)
        self.responseType = namer.fullName(message: method.outputType)
        self.mutating = method.options.idempotencyLevel != Google_Protobuf_MethodOptions.IdempotencyLevel.noSideEffects
        self.comment = method.protoSourceComments()
        switch method.options.Framerpc_V1_access {
        case .public: self.access = .public
        case .user: self.access = .user
        case .owner: self.access = .owner
        case .service: self.access = .service
        case .admin: self.access = .admin
        case .unspecified, .UNRECOGNIZED:
            throw GeneratorError("\(path) says nothing of who may call it: add `option (framerpc.v1.access) = ...;`")
        }
        if self.access == .user {
            guard let field = method.inputType.fields.first(where: { $0.name == "user_id" }),
                field.type == Google_Protobuf_FieldDescriptorProto.TypeEnum.int64, !field.isRepeated
            else {
                throw GeneratorError("\(path) is ACCESS_USER, so \(method.inputType.fullName) needs `int64 user_id`")
            }
            self.userProperty = namer.messagePropertyNames(field: field, prefixed: "", includeHasAndClear: false).name
        } else {
            self.userProperty = nil
        }
    }
}
