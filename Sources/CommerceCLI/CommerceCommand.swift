import ArgumentParser
import CommerceCLISupport
import CommerceClient
import Foundation
import FrameRPC
import FrameRPCClient
import SwiftProtobuf

@main
struct CommerceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commerce",
        abstract: "Call the commerce service from the command line (like grpcurl, for FrameRPC).",
        discussion: """
            Examples:
              commerce list
              commerce call commerce.v1.ProductService/ListProducts
              commerce call commerce.v1.BalanceService/GetBalance '{"user_id": 1}' --token "$(cat data/tokens/user-1)"
              commerce call commerce.v1.AdminService/Restock '{"product_id": 1, "quantity": 5}' --admin-token demo-admin-token

            On an error reply the status is printed to stderr and the exit code is 64 + the status code number.
            """,
        subcommands: [Call.self, List.self]
    )
}

struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server address.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 7070
    @Option(help: "Deadline of the call in seconds.") var timeout: Double = 10
    @Option(name: [.customShort("H"), .long], help: "Metadata entry key=value (repeatable).") var metadata: [String] =
        []
    @Option(help: "Bearer token sent on every call (or env COMMERCE_TOKEN): a user's, a service's or an admin's.")
    var token: String?
    @Option(
        help:
            "Sent instead of --token on AdminService calls (or env COMMERCE_ADMIN_TOKEN): the server's static admin token."
    )
    var adminToken: String?
    @OptionGroup var tlsOptions: ClientTLSOptions

    /// Runs `body` with a client of these options (closed afterwards); an error reply becomes the
    /// report on stderr and exit code 64 + its status code.
    func withClient(_ body: (CommerceClient) async throws -> Void) async throws {
        let environment = ProcessInfo.processInfo.environment
        let tls = try self.tlsOptions.clientTLS()
        do {
            try await withCommerceClient(
                configuration: ClientConfiguration(host: self.host, port: self.port, maxAttempts: 1, tls: tls),
                token: self.token ?? environment["COMMERCE_TOKEN"],
                adminToken: self.adminToken ?? environment["COMMERCE_ADMIN_TOKEN"],
                body
            )
        } catch let error as RPCError {
            Call.report(error)
            throw ExitCode(Int32(64 + error.code.rawValue))
        }
    }

    func callOptions() throws -> CallOptions {
        var metadata = Metadata()
        for entry in self.metadata {
            guard let equals = entry.firstIndex(of: "=") else {
                throw ValidationError("metadata must be key=value, got \(entry)")
            }
            metadata.add(String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        }
        return CallOptions(timeout: .milliseconds(Int64(self.timeout * 1000)), metadata: metadata)
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call one method with a JSON request; print the JSON reply."
    )

    @Argument(help: "The method, e.g. commerce.v1.BalanceService/GetBalance.") var method: String
    @Argument(help: "The request as JSON (proto field names or lowerCamelCase); '-' reads stdin.") var json: String =
        "{}"
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let name = self.method.hasPrefix("/") ? self.method : "/" + self.method
        guard let entry = MethodCatalog.entry(named: name) else {
            throw ValidationError("unknown method \(name); `commerce list` shows what the server offers")
        }
        let text =
            self.json == "-"
            ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : self.json
        let request: any SwiftProtobuf.Message
        do {
            request = try entry.request.init(jsonString: text)
        } catch {
            throw ValidationError("the request is not valid JSON for \(entry.request.protoMessageName): \(error)")
        }
        let options = try self.connection.callOptions()
        let payload: [UInt8] = try request.serializedBytes()
        try await self.connection.withClient { client in
            let bytes = try await client.rpc.call(
                name,
                request: payload,
                options: client.authorized(options, admin: entry.descriptor.access == .admin)
            )
            print(try Self.prettyJSON(try entry.response.init(serializedBytes: bytes)))
        }
    }

    static func prettyJSON(_ message: any SwiftProtobuf.Message) throws -> String {
        var options = JSONEncodingOptions()
        options.alwaysPrintInt64sAsNumbers = true
        options.preserveProtoFieldNames = true
        let compact = try message.jsonUTF8Data(options: options)
        let object = try JSONSerialization.jsonObject(with: compact)
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: pretty, as: UTF8.self)
    }

    static func report(_ error: RPCError) {
        var text =
            "ERROR:\n  Code: \(error.code.name) (\(error.code.rawValue))\n  Reason: \(error.reason)\n  Message: \(error.message)\n"
        for (key, value) in error.details.sorted(by: { $0.key < $1.key }) { text += "  Detail: \(key)=\(value)\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the methods the server offers.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let options = try self.connection.callOptions()
        try await self.connection.withClient { client in
            for method in try await client.listMethods(options: options) {
                print(
                    "\(method.name)\t\(method.requestType) -> \(method.responseType)\t\(method.access)\(method.mutating ? "\t(mutating)" : "")"
                )
            }
        }
    }
}
