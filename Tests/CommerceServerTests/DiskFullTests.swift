import CommerceClient
import Foundation
import FrameRPC
import FrameRPCClient
import Synchronization
import Testing

/// The database on a small filesystem of its own (a tmpfs the test mounts and removes), filled up
/// while orders run. Needs root to mount; skipped, saying so, without it.
@Suite(
    "A full disk under the database",
    .timeLimit(.minutes(3)),
    .enabled(if: getuid() == 0, "mounting a size-limited tmpfs needs root")
)
struct DiskFullTests {
    @Test(
        "writes fail at once with UNAVAILABLE / STORAGE_FULL, reads answer, nothing acknowledged is lost, writes resume once space is freed"
    )
    func fillTheDiskUnderOrders() async throws {
        let mount = try SmallFilesystem(megabytes: 64)
        defer { mount.remove() }
        let database = mount.path + "/shop.sqlite"
        // The events file lives on another filesystem: the relay delivers what the outbox kept.
        let events = temporaryDatabasePath() + ".events.jsonl"
        let server = try await ServerProcess.launch(database: database, extra: ["--events-file", events])
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 4),
            token: serviceToken,
            adminToken: adminToken
        )
        let product = try await client.createProduct(name: "disk", price: 1_000, initialStock: 1_000_000).id
        var funded: [Int64] = []
        for index in 0..<8 { funded.append(try await fundedUser(client, 1_000_000, name: "d\(index)")) }
        let buyers = funded

        // 8 callers order without pause; every answer is recorded.
        let ledger = Ledger()
        let stop = StopFlag()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for buyer in buyers {
                    group.addTask {
                        while !stop.value.load(ordering: .relaxed) {
                            let started = ContinuousClock.now
                            do {
                                let order = try await client.placeOrder(userID: buyer, items: [(product, 1)]).order.id
                                ledger.record(.success(order), took: ContinuousClock.now - started)
                            } catch let error as RPCError {
                                ledger.record(.failure(error), took: ContinuousClock.now - started)
                            } catch {
                                ledger.record(
                                    .failure(RPCError(code: .unknown, reason: "\(error)", message: "")),
                                    took: ContinuousClock.now - started
                                )
                            }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        let beforeFull = ledger.acknowledged.count

        // Fill the filesystem while the orders run, then keep it full for 3 s.
        let ballast = try mount.fill()
        let filledAt = ledger.answers
        var readsWhileFull = 0
        let fullUntil = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < fullUntil {
            #expect(try await client.getBalance(userID: buyers[0]) >= 0)
            #expect(try await client.getProduct(productID: product).id == product)
            readsWhileFull += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        let refusedWhileFull = ledger.reasons["STORAGE_FULL", default: 0]

        // Free the space: orders succeed again without anyone restarting anything.
        try FileManager.default.removeItem(atPath: ballast)
        let freedAt = ledger.acknowledged.count
        let reasonsWhenFreed = ledger.reasons
        let giveUp = ContinuousClock.now + .seconds(30)
        while ledger.acknowledged.count <= freedAt + 50 && ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(20))
        }
        let resumed = ledger.acknowledged.count > freedAt + 50
        stop.value.store(true, ordering: .relaxed)
        await load.value
        #expect(
            resumed,
            "orders after the space was freed: \(ledger.acknowledged.count - freedAt) ok; refusals by then \(reasonsWhenFreed), now \(ledger.reasons); files: \(mount.usage())"
        )
        guard resumed else {
            await client.close()
            _ = await server.terminate()
            return
        }

        #expect(beforeFull > 0, "orders ran before the disk filled")
        #expect(ledger.answers > filledAt, "orders ran while the disk was full")
        #expect(refusedWhileFull > 0, "some orders met the full disk (refused \(ledger.reasons))")
        #expect(readsWhileFull > 10, "reads answered while the disk was full")
        // Every refusal is STORAGE_FULL, and none waited: a full disk is not a hang.
        #expect(Set(ledger.reasons.keys).isSubset(of: ["STORAGE_FULL"]), "\(ledger.reasons)")
        #expect(Set(ledger.codes).isSubset(of: [.unavailable]), "\(ledger.codes)")
        #expect(ledger.slowestRefusal < .seconds(5), "a refused order took \(ledger.slowestRefusal)")

        // Nothing acknowledged is lost, nothing refused was kept: each buyer's paid orders are exactly
        // the acknowledged ones, stock and balances agree, the audit is clean, and every order's
        // event reaches the platform once the relay can write its cursor again.
        let acknowledged = Set(ledger.acknowledged)
        var stored: Set<Int64> = []
        for buyer in buyers {
            stored.formUnion(try await CrashTests.allOrders(client, buyer).filter { $0.status == .paid }.map(\.id))
        }
        #expect(stored == acknowledged, "stored \(stored.count), acknowledged \(acknowledged.count)")
        #expect(try await client.getProduct(productID: product).stock == 1_000_000 - Int64(acknowledged.count))
        var balances: Int64 = 0
        for buyer in buyers { balances += try await client.getBalance(userID: buyer) }
        #expect(balances == 8 * 1_000_000 - 1_000 * Int64(acknowledged.count))
        try? await waitUntil("every acknowledged order's event is in the events file", timeout: .seconds(30)) {
            Set(CrashTests.paidEvents(events).keys).isSuperset(of: acknowledged)
        }
        #expect(Set(CrashTests.paidEvents(events).keys) == acknowledged)
        await client.close()
        #expect(await server.terminate() == 0)
        let audit = try await run(try serverBinary(), ["audit", "--db", database])
        #expect(audit.status == 0, "\(audit.output)")
    }
}

/// A size-limited tmpfs mounted on a fresh folder; `remove()` unmounts it and deletes the folder.
struct SmallFilesystem {
    let path: String

    init(megabytes: Int) throws {
        self.path =
            FileManager.default.temporaryDirectory.appendingPathComponent("commerce-full-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
        let mounted = try run(
            "/bin/mount",
            ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", self.path],
            withErrors: true
        )
        guard mounted.status == 0 else {
            try? FileManager.default.removeItem(atPath: self.path)
            throw TestSetupError(message: "mount tmpfs failed: \(mounted.output)")
        }
    }

    /// Writes a file until the filesystem has no byte left; returns its path.
    func fill() throws -> String {
        let ballast = self.path + "/ballast"
        let fd = open(ballast, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TestSetupError(message: "cannot create \(ballast): errno \(errno)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0xAB, count: 64 * 1024)
        var size = chunk.count
        while size > 0 {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
            if written < 0 {
                guard errno == ENOSPC else { throw TestSetupError(message: "filling \(ballast): errno \(errno)") }
                size /= 2  // down to the last free byte
            }
        }
        return ballast
    }

    /// The files on the filesystem and their sizes, and what `df` says is free.
    func usage() -> String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: self.path)) ?? []
        let sizes = files.sorted().map { name in
            "\(name) \(((try? FileManager.default.attributesOfItem(atPath: self.path + "/" + name))?[.size] as? Int) ?? -1)"
        }
        let df = (try? run("/bin/df", ["-k", self.path]))?.output ?? ""
        return sizes.joined(separator: ", ") + "; " + (df.split(separator: "\n").last.map(String.init) ?? "")
    }

    func remove() {
        _ = try? run("/bin/umount", ["-l", self.path], withErrors: true)
        try? FileManager.default.removeItem(atPath: self.path)
    }
}

/// Every order call's outcome, from the callers' side.
private final class Ledger: Sendable {
    private struct State {
        var acknowledged: [Int64] = []
        var reasons: [String: Int] = [:]
        var codes: [StatusCode] = []
        var answers = 0
        var slowestRefusal: Duration = .zero
    }

    private let state = Mutex(State())

    func record(_ outcome: Result<Int64, RPCError>, took: Duration) {
        self.state.withLock { state in
            state.answers += 1
            switch outcome {
            case .success(let order): state.acknowledged.append(order)
            case .failure(let error):
                state.reasons[error.reason, default: 0] += 1
                if !state.codes.contains(error.code) { state.codes.append(error.code) }
                state.slowestRefusal = max(state.slowestRefusal, took)
            }
        }
    }

    var acknowledged: [Int64] { self.state.withLock { $0.acknowledged } }
    var reasons: [String: Int] { self.state.withLock { $0.reasons } }
    var codes: [StatusCode] { self.state.withLock { $0.codes } }
    var answers: Int { self.state.withLock { $0.answers } }
    var slowestRefusal: Duration { self.state.withLock { $0.slowestRefusal } }
}
