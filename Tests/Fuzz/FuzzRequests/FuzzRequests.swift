import CommerceAuth
import CommerceDomain
import CommerceSQLite
import CommerceService
import CommerceUseCases
import Dispatch
import Foundation
import FrameRPC
import FrameRPCServer
import FuzzSupport
import Logging
import NIOCore

/// Every commerce method's request payload through the server's own method table, against a real
/// SQLite store seeded with the demo catalogue: decoding, the edge's checks, the use case and the
/// store. Whatever the payload, the call answers a reply or an error the server can put on the wire
/// with a status other than INTERNAL (a bad input is the caller's fault, with a reason it can read),
/// and the store's invariants still hold (checked every few thousand calls).
///
/// An input is `<method name> NUL <payload>`: the seed corpus has one well-formed request per method.
@_cdecl("FuzzRequests_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzRequests(data, size) }
}

func fuzzRequests(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    guard let separator = bytes.firstIndex(of: 0) else { return 0 }
    let name = String(decoding: bytes[..<separator], as: UTF8.self)
    guard let method = Fixture.shared.router[name] else { return 0 }
    let payload = Data(bytes[(separator + 1)...])
    let context = ServerContext(
        method: name,
        metadata: Fixture.metadata,
        deadline: .now() + .seconds(30),
        connectionTag: "fuzz",
        streamID: 1,
        connectionLogger: Fixture.logger,
        remoteAddress: "fuzz"
    )

    if case .failure(let error) = blocking({ try await method.handler(payload, context) }) {
        guard let convertible = error as? any RPCErrorConvertible else {
            fatalError("\(name) failed with an error the server cannot map (INTERNAL on the wire): \(error)")
        }
        let status = convertible.rpcError
        require(
            status.code != .internal && status.code != .unknown && !status.reason.isEmpty,
            "\(name) answered \(status)"
        )
    }
    Fixture.shared.checkInvariantsNow()
    return 0
}

/// Runs `body` to its end on the concurrency pool, blocking the fuzzer's thread meanwhile.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let slot = Slot<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { slot.result = .success(try await body()) } catch { slot.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return slot.result!
}

/// Written by the task before it signals, read after the wait.
final class Slot<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// The store and method table every input runs against, made once per fuzzing process.
final class Fixture: @unchecked Sendable {
    /// A token that may act for any user and make the admin calls: every method gets past the gate
    /// to the code behind it (the gate itself is fuzzed by the token tests' cases).
    static let keys = try! TokenKeySet([TokenKey.generate(id: "fuzz", algorithm: .hs256)])
    static let token = try! AccessToken(subject: "fuzz", scopes: [.service, .admin], expiresAt: Int64.max / 2).signed(
        with: keys.keys[0]
    )
    static let metadata: Metadata = [MetadataKey.authorization: "Bearer \(token)"]
    static let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    static let shared = Fixture()

    let directory: URL
    let router: RPCRouter
    let useCases: CommerceUseCases
    private var calls = 0

    private init() {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("commerce-fuzz-\(getpid())")
        try! FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let store = try! SQLiteStore(
            StoreConfiguration(path: self.directory.appendingPathComponent("fuzz.sqlite").path, synchronous: .off)
        )
        _ = try! blocking { try await DemoCatalogue.seed(into: store) }.get()
        self.useCases = CommerceUseCases(store: store, queues: WorkQueues(shards: 8), calendar: store.calendar)
        self.router = CommerceServices.router(
            useCases: self.useCases,
            gate: Gate(mode: .tokens(Self.keys), adminToken: nil, clock: systemClock)
        )
        atexit { try? FileManager.default.removeItem(at: Fixture.shared.directory) }
    }

    /// Every 2,000 calls: the audit finds nothing (stock + sold = initial, balances add up, …).
    func checkInvariantsNow() {
        self.calls += 1
        guard self.calls % 2_000 == 0 else { return }
        let useCases = self.useCases
        let violations = try! blocking { try await useCases.audit() }.get()
        require(violations.isEmpty, "invariants broken after \(self.calls) calls: \(violations)")
    }
}
