import CommerceAuth
import CommerceServerRuntime
import Dispatch
import Foundation
import FrameRPCServer
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// On SIGHUP, reads the token key set and the TLS certificate again: keys rotate and certificates
/// renew without a restart. A file that fails to load leaves what is in use in place (and says so).
/// `@unchecked`: the signal source is set once, in `init`, and only cancelled afterwards.
final class Reloader: @unchecked Sendable {
    private let source: any DispatchSourceSignal

    init(server: CommerceServer, keysPath: String?, tls: [ServerTLS], logger: Logger) {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler {
            if let keysPath {
                do {
                    let keys = try TokenKeySet.load(path: keysPath)
                    if server.gate.reload(keys: keys) {
                        logger.notice(
                            "token keys reloaded",
                            metadata: ["keys": "\(keys.keys.map(\.id).joined(separator: ", "))"]
                        )
                    }
                } catch {
                    logger.error("token keys not reloaded; the previous ones stay", metadata: ["error": "\(error)"])
                }
            }
            for tls in tls {
                do {
                    try tls.reload()
                    logger.notice("TLS certificate reloaded", metadata: ["certificate": "\(tls.certificatePath)"])
                } catch {
                    logger.error(
                        "TLS certificate not reloaded; the previous one stays",
                        metadata: ["error": "\(error)"]
                    )
                }
            }
        }
        source.resume()
        self.source = source
    }

    deinit { self.source.cancel() }
}
