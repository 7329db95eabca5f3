import CommerceClient
import Foundation
import FrameRPCClient
import Synchronization
import Testing

/// `commerce-server backup`: an online copy of a SQLite database while a server process writes to it.
@Suite("Online backup of a SQLite database", .timeLimit(.minutes(2)))
struct BackupTests {
    @Test("a backup taken under load opens, audits clean and holds every order acknowledged before it began")
    func backupUnderLoad() async throws {
        let database = temporaryDatabasePath()
        let copy = URL(fileURLWithPath: database).deletingLastPathComponent().appendingPathComponent("copy.sqlite").path
        let server = try await ServerProcess.launch(database: database)
        let client = CommerceClient(
            configuration: ClientConfiguration(port: server.rpcPort, connections: 4),
            token: serviceToken,
            adminToken: adminToken
        )
        let product = try await client.createProduct(name: "backed up", price: 1_000, initialStock: 1_000_000).id
        var buyers: [Int64] = []
        for index in 0..<8 { buyers.append(try await fundedUser(client, 1_000_000, name: "b\(index)")) }
        var acknowledged: [Int64] = []
        for index in 0..<40 {
            acknowledged.append(try await client.placeOrder(userID: buyers[index % 8], items: [(product, 1)]).order.id)
        }

        // Orders keep coming from 8 callers while the backup runs.
        let stop = StopFlag()
        let load = Task {
            await withTaskGroup(of: Int.self) { group in
                for buyer in buyers {
                    group.addTask {
                        var placed = 0
                        while !stop.value.load(ordering: .relaxed) {
                            if (try? await client.placeOrder(userID: buyer, items: [(product, 1)])) != nil {
                                placed += 1
                            }
                        }
                        return placed
                    }
                }
                return await group.reduce(0, +)
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let backup = try await Task.detached {
            try await run(try serverBinary(), ["backup", "--db", database, "--to", copy], withErrors: true)
        }.value
        try await Task.sleep(for: .milliseconds(300))
        stop.value.store(true, ordering: .relaxed)
        let duringLoad = await load.value
        await client.close()
        #expect(await server.terminate() == 0)
        #expect(backup.status == 0, "\(backup.output)")
        #expect(backup.output.contains("integrity ok"))
        #expect(duringLoad > 0, "orders ran during the backup")

        // The copy: clean audit, and every order acknowledged before the backup, paid.
        let audit = try await run(try serverBinary(), ["audit", "--db", copy])
        #expect(audit.status == 0, "\(audit.output)")
        let restored = try await ServerProcess.launch(database: copy)
        let reader = CommerceClient(
            configuration: ClientConfiguration(port: restored.rpcPort),
            token: serviceToken,
            adminToken: adminToken
        )
        for id in acknowledged { #expect(try await reader.getOrder(orderID: id).status == .paid, "order \(id)") }
        await reader.close()
        #expect(await restored.terminate() == 0)

        // An existing file is not overwritten unless asked.
        let again = try await run(try serverBinary(), ["backup", "--db", database, "--to", copy], withErrors: true)
        #expect(again.status != 0 && again.output.contains("exists"), "\(again.output)")
        let forced = try await run(
            try serverBinary(),
            ["backup", "--db", database, "--to", copy, "--force"],
            withErrors: true
        )
        #expect(forced.status == 0, "\(forced.output)")
    }

    @Test("backup refuses a PostgreSQL database and names its tools")
    func postgresRefused() async throws {
        let refused = try await run(
            try serverBinary(),
            ["backup", "--db", "postgres://u@127.0.0.1:1/db", "--to", "/tmp/never.sqlite"],
            withErrors: true
        )
        #expect(refused.status != 0 && refused.output.contains("pg_dump"), "\(refused.output)")
    }
}
