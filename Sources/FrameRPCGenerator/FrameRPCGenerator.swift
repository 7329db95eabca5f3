import FrameRPC
import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// `protoc-gen-framerpc`: writes the method tables from `proto/`, so that a method's name, access
/// and side effects are written once. `scripts/generate-protos.sh` runs it once per part:
///
/// - `Part=descriptors`: a `Service` enum per service with a `Method` enum per method
///   (``FrameRPC/RPCMethodSpec``: its path, message types, access, side effects);
/// - `Part=server`: a handler protocol per service and the registration of its methods behind
///   their access checks: an RPC added to a `.proto` file does not compile until it is answered;
/// - `Part=client`: the Swift client's typed methods, and with `Catalog=FILE` one list of every
///   method (the `commerce` CLI's catalogue);
/// - `Part=c`: with `Header=FILE`, the C client's method-name constants.
///
/// `InFrameRPC=true` writes descriptors that live in the FrameRPC module itself.
@main
struct FrameRPCGenerator: CodeGenerator {
    var customOptionExtensions: [any AnyMessageExtension] { [Framerpc_V1_Extensions_access] }
    var supportedFeatures: [Google_Protobuf_Compiler_CodeGeneratorResponse.Feature] { [.proto3Optional] }
    var version: String? { "1" }
    var projectURL: String? { "proto/framerpc/v1/options.proto" }

    func generate(
        files: [FileDescriptor],
        parameter: any CodeGeneratorParameter,
        protoCompilerContext: any ProtoCompilerContext,
        generatorOutputs: any GeneratorOutputs
    ) throws {
        let options = Dictionary(parameter.parsedPairs.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        let services = try files.flatMap { file in try file.services.map { try ServiceModel($0) } }
        switch options["Part"] {
        case "descriptors":
            for file in files where !file.services.isEmpty {
                let models = try file.services.map { try ServiceModel($0) }
                try generatorOutputs.add(
                    fileName: Self.outputName(file, ".methods.swift"),
                    contents: SwiftWriter.descriptors(models, inFrameRPC: options["InFrameRPC"] == "true")
                )
            }
        case "server":
            for file in files where !file.services.isEmpty {
                let models = try file.services.map { try ServiceModel($0) }
                try generatorOutputs.add(
                    fileName: Self.outputName(file, ".server.swift"),
                    contents: SwiftWriter.server(models)
                )
            }
        case "client":
            try Self.checkUniqueFunctionNames(services)
            for file in files where !file.services.isEmpty {
                let models = try file.services.map { try ServiceModel($0) }
                try generatorOutputs.add(
                    fileName: Self.outputName(file, ".client.swift"),
                    contents: SwiftWriter.client(models, type: options["Client"] ?? "CommerceClient")
                )
            }
            if let catalog = options["Catalog"] {
                try generatorOutputs.add(fileName: catalog, contents: SwiftWriter.catalog(services))
            }
        case "c":
            guard let header = options["Header"] else { throw GeneratorError("Part=c needs Header=FILE") }
            try generatorOutputs.add(fileName: header, contents: CWriter.header(services, fileName: header))
        default:
            throw GeneratorError("say which part to write: Part=descriptors|server|client|c")
        }
    }

    /// `commerce/v1/balance.proto` → `balance.methods.swift`: the generated folders are flat, as
    /// swift-protobuf's `FileNaming=DropPath` makes them.
    static func outputName(_ file: FileDescriptor, _ suffix: String) -> String {
        let base = file.name.split(separator: "/").last.map(String.init) ?? file.name
        return (base.hasSuffix(".proto") ? String(base.dropLast(6)) : base) + suffix
    }

    /// The client's methods share one type: two services may not both have a `GetX`.
    static func checkUniqueFunctionNames(_ services: [ServiceModel]) throws {
        var seen: [String: String] = [:]
        for service in services {
            for method in service.methods {
                if let other = seen.updateValue(method.descriptorPath, forKey: method.functionName) {
                    throw GeneratorError(
                        "\(other) and \(method.descriptorPath) would both be the client's `\(method.functionName)`"
                    )
                }
            }
        }
    }
}

struct GeneratorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
