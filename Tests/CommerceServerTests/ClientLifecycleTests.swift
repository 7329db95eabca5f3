import CommerceClient
import CommerceServerRuntime
import Foundation
import FrameRPCClient
import Testing

@Suite("withCommerceClient closes its client on every way out", .timeLimit(.minutes(1)))
struct ClientLifecycleTests {
    struct Abandoned: Error {}

    /// Waits up to 5 s for the server to count `expected` open connections.
    func connections(_ server: CommerceServer, become expected: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(5)
        while server.openConnections != expected && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        return server.openConnections
    }

    @Test("The body's value comes back and the connection is closed; a body that throws closes it too")
    func closesOnEveryExit() async throws {
        try await withCommerceServer { server, setup in
            let user = try await fundedUser(setup, 2_000)
            await setup.close()
            let configuration = ClientConfiguration(port: server.port, connections: 2)
            let balance = try await withCommerceClient(configuration: configuration, token: userToken(user)) { client in
                let balance = try await client.getBalance(userID: user)
                #expect(server.openConnections >= 1, "the client connected (on its first call)")
                return balance
            }
            #expect(balance == 2_000)
            #expect(try await self.connections(server, become: 0) == 0, "closed after a normal return")
            await #expect(throws: Abandoned.self) {
                try await withCommerceClient(configuration: configuration, token: userToken(user)) { client in
                    _ = try await client.getBalance(userID: user)
                    throw Abandoned()
                }
            }
            #expect(try await self.connections(server, become: 0) == 0, "closed after a throw")
        }
    }
}
