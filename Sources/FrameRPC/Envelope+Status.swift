import Foundation
import SwiftProtobuf

extension Framerpc_V1_Status {
    public init(_ error: RPCError) {
        self.init()
        self.code = error.code.rawValue
        self.reason = error.reason
        self.message = error.message
        self.details = error.details.sorted { $0.key < $1.key }.map {
            Framerpc_V1_KeyValue(key: $0.key, value: $0.value)
        }
    }

    public static let ok = Framerpc_V1_Status()

    /// `nil` when the status is OK.
    public var rpcError: RPCError? {
        guard self.code != StatusCode.ok.rawValue else { return nil }
        var details: [String: String] = [:]
        for entry in self.details { details[entry.key] = entry.value }
        return RPCError(
            code: StatusCode(rawValue: self.code),
            reason: self.reason,
            message: self.message,
            details: details
        )
    }
}

extension Framerpc_V1_KeyValue {
    public init(key: String, value: String) {
        self.init()
        self.key = key
        self.value = value
    }
}

extension Metadata {
    public init(_ entries: [Framerpc_V1_KeyValue]) {
        if entries.isEmpty {
            self.init()
        } else {
            self.init(entries.map { ($0.key, $0.value) })
        }
    }

    public var keyValues: [Framerpc_V1_KeyValue] {
        self.entries.map { Framerpc_V1_KeyValue(key: $0.key, value: $0.value) }
    }
}

extension RPCError {
    /// Maps a swift-protobuf decoding failure of a request or reply message.
    public init(decoding error: any Error, what: String) {
        if let error = error as? BinaryDecodingError, error == .invalidUTF8 {
            self.init(
                code: .invalidArgument,
                reason: WireReason.invalidUTF8,
                message: "\(what): a string field is not valid UTF-8"
            )
        } else {
            self.init(
                code: .invalidArgument,
                reason: WireReason.malformedMessage,
                message: "\(what) is not a valid protobuf message: \(error)"
            )
        }
    }
}
