import Foundation
import FrameRPC
import SwiftProtobuf

extension RPCError {
    /// The error as Connect's JSON error body: `code` (Connect's name), `message`, and one
    /// `google.rpc.ErrorInfo` detail carrying our reason (and the error's details as its
    /// metadata), binary in `value` as the protocol says and readable in `debug` for people with curl.
    var connectBody: [UInt8] {
        var info = Google_Rpc_ErrorInfo()
        info.reason = self.reason
        info.domain = ConnectServer.errorDomain
        info.metadata = self.details
        let value = (try? info.serializedBytes() as [UInt8]) ?? []
        var debug: [String: Any] = ["reason": self.reason, "domain": ConnectServer.errorDomain]
        if !self.details.isEmpty { debug["metadata"] = self.details }
        let body: [String: Any] = [
            "code": ConnectCode.name(self.code),
            "message": self.message,
            "details": [
                [
                    "type": Google_Rpc_ErrorInfo.protoMessageName,
                    "value": Data(value).base64EncodedString().replacingOccurrences(of: "=", with: ""),
                    "debug": debug,
                ] as [String: Any]
            ],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data)
    }
}
