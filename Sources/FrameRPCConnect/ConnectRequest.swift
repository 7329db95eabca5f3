import CompressNIO
import Foundation
import FrameRPC
import FrameRPCServer
import NIOCore
import NIOHTTP1
import SwiftProtobuf

/// How a unary call's messages are encoded: `application/proto` (binary) or `application/json`
/// (proto3 JSON).
enum ConnectCodec: Sendable {
    case proto, json

    var contentType: String { self == .proto ? "application/proto" : "application/json" }

    /// From a unary request's `Content-Type` (`application/json; charset=utf-8` included).
    init?(contentType: String) {
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch type {
        case "application/proto": self = .proto
        case "application/json": self = .json
        default: return nil
        }
    }

    /// From a GET request's `encoding` parameter.
    init?(encoding: String) {
        switch encoding {
        case "proto": self = .proto
        case "json": self = .json
        default: return nil
        }
    }

    /// The request as protobuf binary, for the handler (which every transport calls the same way).
    func requestPayload(_ body: [UInt8], as type: (any SwiftProtobuf.Message.Type)?) throws(RPCError) -> Data {
        guard self == .json else { return Data(body) }
        guard let type else {
            throw RPCError(
                code: .unimplemented,
                reason: ConnectRequest.unsupportedContentType,
                message: "this method takes application/proto only"
            )
        }
        do {
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = true
            return try type.init(jsonUTF8Bytes: body, extensions: nil, options: options).serializedData()
        } catch {
            throw RPCError(
                code: .invalidArgument,
                reason: WireReason.malformedMessage,
                message: "the request is not valid JSON for its message: \(error)"
            )
        }
    }

    /// `compressed` inflated, refused once it would exceed `limit` bytes.
    static func gunzip(_ compressed: ByteBuffer, limit: Int) throws(RPCError) -> ByteBuffer {
        var compressed = compressed
        do {
            return try compressed.decompress(with: .gzip(), maxSize: limit + 1)
        } catch {
            throw RPCError(
                code: .invalidArgument,
                reason: WireReason.malformedMessage,
                message: "the gzip body is not valid gzip, or inflates past \(limit) bytes"
            )
        }
    }

    /// The handler's protobuf reply in this encoding.
    func responseBody(_ reply: [UInt8], as type: (any SwiftProtobuf.Message.Type)?) throws -> [UInt8] {
        guard self == .json, let type else { return reply }
        return try type.init(serializedBytes: reply).jsonUTF8Bytes()
    }
}

/// What the head of an HTTP request asks for, checked before its body is read.
struct ConnectRequest {
    let method: RPCMethod
    let codec: ConnectCodec
    let timeout: TimeAmount?
    let metadata: Metadata
    /// A GET carries its message in the query (only methods without side effects answer GET).
    let queryMessage: [UInt8]?
    /// The body (or the GET's message) is gzip-compressed.
    let gzipped: Bool

    static let unsupportedContentType = "UNSUPPORTED_CONTENT_TYPE"
    static let unsupportedCompression = "UNSUPPORTED_COMPRESSION"
    static let getNotAllowed = "GET_NOT_ALLOWED"
    static let methodNotAllowed = "METHOD_NOT_ALLOWED"
    static let invalidTimeout = "INVALID_TIMEOUT"
    static let unsupportedVersion = "UNSUPPORTED_PROTOCOL_VERSION"

    /// Headers that are the protocol's or HTTP's, not the caller's metadata.
    static func isProtocolHeader(_ name: String) -> Bool {
        let name = name.lowercased()
        return name.hasPrefix("connect-") || name.hasPrefix("content-") || name.hasPrefix("accept")
            || ["host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "user-agent", "expect"]
                .contains(name)
    }

    /// Reads `head`; throws the Connect error to answer instead.
    init(head: HTTPRequestHead, router: RPCRouter, maximumDeadline: TimeAmount) throws(RPCError) {
        let components = URLComponents(string: head.uri)
        let path = components?.percentEncodedPath ?? head.uri
        guard let method = router[path] else {
            throw RPCError(
                code: .unimplemented,
                reason: WireReason.methodNotFound,
                message: "no method \"\(path)\"; POST /framerpc.v1.Reflection/ListMethods for the list"
            )
        }
        self.method = method
        if let version = head.headers.first(name: "connect-protocol-version"), version != "1" {
            throw RPCError(
                code: .invalidArgument,
                reason: Self.unsupportedVersion,
                message: "connect-protocol-version must be 1, got \(version)"
            )
        }
        switch head.method {
        case .POST:
            let contentType = head.headers.first(name: "content-type") ?? ""
            guard let codec = ConnectCodec(contentType: contentType) else {
                throw RPCError(
                    code: .unimplemented,
                    reason: Self.unsupportedContentType,
                    message: "content-type must be application/json or application/proto, got \"\(contentType)\""
                )
            }
            // gzip is what Connect clients send by default.
            let encoding = head.headers.first(name: "content-encoding")?.lowercased() ?? "identity"
            if encoding != "identity" && encoding != "gzip" {
                throw RPCError(
                    code: .unimplemented,
                    reason: Self.unsupportedCompression,
                    message: "content-encoding \(encoding) is not supported; send identity"
                )
            }
            self.codec = codec
            self.queryMessage = nil
            self.gzipped = encoding == "gzip"
        case .GET:
            guard !method.mutating else {
                throw RPCError(
                    code: .unimplemented,
                    reason: Self.getNotAllowed,
                    message: "\(method.name) changes state: call it with POST (GET is for methods without side effects)"
                )
            }
            let query = Dictionary(
                (components?.queryItems ?? []).map { ($0.name, $0.value ?? "") },
                uniquingKeysWith: { $1 }
            )
            guard let encoding = query["encoding"], let codec = ConnectCodec(encoding: encoding) else {
                throw RPCError(
                    code: .invalidArgument,
                    reason: Self.unsupportedContentType,
                    message: "a GET needs encoding=json or encoding=proto"
                )
            }
            let compression = query["compression"] ?? "identity"
            if compression != "identity" && compression != "gzip" {
                throw RPCError(
                    code: .unimplemented,
                    reason: Self.unsupportedCompression,
                    message: "compression \(compression) is not supported; use gzip or identity"
                )
            }
            self.gzipped = compression == "gzip"
            let message = query["message"] ?? ""
            if query["base64"] == "1" {
                var text = message.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                while text.count % 4 != 0 { text += "=" }
                guard let decoded = Data(base64Encoded: text) else {
                    throw RPCError(
                        code: .invalidArgument,
                        reason: WireReason.malformedMessage,
                        message: "message is not base64url"
                    )
                }
                self.queryMessage = Array(decoded)
            } else {
                self.queryMessage = Array(message.utf8)
            }
            self.codec = codec
        default:
            throw RPCError(code: .unimplemented, reason: Self.methodNotAllowed, message: "use POST (or GET for a read)")
        }
        if let text = head.headers.first(name: "connect-timeout-ms") {
            guard text.count <= 10, let millis = Int64(text), millis >= 0 else {
                throw RPCError(
                    code: .invalidArgument,
                    reason: Self.invalidTimeout,
                    message: "connect-timeout-ms must be 1 to 10 digits, got \"\(text)\""
                )
            }
            self.timeout = .milliseconds(min(millis, maximumDeadline.nanoseconds / 1_000_000))
        } else {
            self.timeout = nil
        }
        var metadata = Metadata()
        for (name, value) in head.headers where !Self.isProtocolHeader(name) {
            metadata.add(name, value)
        }
        self.metadata = metadata
    }
}
