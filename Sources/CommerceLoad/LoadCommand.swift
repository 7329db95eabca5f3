import ArgumentParser
import CommerceCLISupport
import CommerceClient
import Foundation
import FrameRPC
import FrameRPCClient
import NIOPosix

@main
struct LoadCommand: AsyncParsableCommand {
    /// How many times a broken invariant is checked, a second apart, before it is reported.
    static let invariantChecks = 10
    static let configuration = CommandConfiguration(
        commandName: "commerce-load",
        abstract: "Load generator for the commerce service, built on CommerceClient.",
        discussion: """
            Closed loop by default: each of --concurrency callers sends its next call when the last one is answered.
            With --rate the load is open: calls start on a fixed schedule whatever the latency, and latency is
            measured from the scheduled start (no coordinated omission).

            Scenarios:
              get-balance   GetBalance of a few users (the trivial RPC of the benchmarks)
              health        Health/Check: the RPC stack with no storage (for benchmarks/transport-floor.sh)
              read          GetProduct / GetBalance mix, 80/20
              top-products  TopProducts of the last --ranking-days days (3), top 5
              charge-storm  ChargeBalance of many users, every 10th call reusing an idempotency key
              hot-product   --users buyers race for one product with --stock units
              flash-sale    --users users race for --coupons coupons, and order with the ones they get
              mixed         a shop's day: product pages, catalogue, best sellers, carts and checkouts,
                            orders, charges (20 products, 3 of them with only --stock units)
              order         sustained PlaceOrder of one unit, many users, ample stock, of one product
                            (or spread over --products)

            The headline rate counts successful calls; failed calls (the server refused, or the client could not
            connect) and unknown ones (no answer: the connection closed after sending, a timeout, or the drain after
            --duration ended them; they may have taken effect) are reported beside it. The order scenarios top up a
            buyer refused INSUFFICIENT_BALANCE (counted as top-ups), so a long run keeps measuring orders. The open-loop
            report gives the planned and started rates and the calls started late or not started.

            After a write scenario the invariants are checked through the API (no oversell, balances equal
            charged minus spent, coupons within quantity and one per user) and with the server's audit
            (AdminService/Audit, needs --admin-token). A broken invariant exits with status 3; a check that could not
            run (the server is gone) prints the report and exits with status 4.
            """
    )

    @Option(help: "Scenario: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).") var scenario: Scenario =
        .getBalance
    @Option(help: "Server address.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 7070
    @Option(help: "Connections in the client pool (per server).") var connections = 1
    @Option(
        help: """
            More servers on one database, as host:port,host:port: calls rotate over --host:--port and these \
            (set-up and the invariant check go through --host:--port).
            """
    ) var alsoTargets: String?
    @Option(help: "Concurrent callers.") var concurrency = 1
    @Option(help: "Seconds of measured load.") var duration: Double = 10
    @Option(help: "Seconds of unmeasured warm-up before it.") var warmup: Double = 2
    @Option(help: "Stop after this many measured calls instead of --duration.") var requests: Int?
    @Option(
        help:
            "Seconds calls still in flight at the end of --duration may take; then they are cancelled and counted unknown."
    )
    var drain: Double = 5
    @Option(help: "Open loop: total calls per second (default: closed loop).") var rate: Double?
    @Option(help: "Users to create in set-up.") var users = 100
    @Option(help: "hot-product: units of the product.") var stock: Int64 = 100
    @Option(help: "flash-sale: coupons in the campaign.") var coupons: Int64 = 100
    @Option(help: "order: products the orders spread over (one: every order races for one row).") var products = 1
    @Option(
        help: "Bearer token of a service (or env COMMERCE_TOKEN): set-up creates users and every call acts for them."
    )
    var token: String?
    @Option(
        help: """
            A key set file (JWKS): each call acting for a user carries that user's own token, minted here from the set's         signing key, instead of --token (set-up still uses --token). For the cost of user tokens; not in the mixed scenario.
            """
    )
    var userTokens: String?
    @Option(help: "list-orders, list-history: whose lists (default: the fixture's first user).") var listUser: Int64?
    @Option(help: "list-orders, list-history: entries per page.") var pageSize: Int32 = 50
    @Option(help: "top-products: the days ranked, 1 to 30 (the server refuses others).") var rankingDays: Int32 = 3
    @Option(help: "Admin token, for scenarios that create products.") var adminToken: String?
    @OptionGroup var tlsOptions: ClientTLSOptions
    @Option(help: "Label for this run in the JSON report.") var label: String?
    @Option(help: "Draw latency over time and the latency distribution into this SVG file.") var plot: String?
    @Flag(help: "Print the report as JSON on stdout.") var json = false
    @Flag(help: "No live progress line.") var quiet = false
    @Flag(
        help: """
            After a write scenario, skip the server's whole-database audit (the checks through the API still run): \
            for databases too large to audit after every run (data-growth.sh times the audit on its own).
            """
    )
    var noServerAudit = false

    func run() async throws {
        // One event loop for every connection, and the callers' tasks run on it: like
        // redis-benchmark's single event loop, a call costs no thread hand-off on this side.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let token = self.token ?? ProcessInfo.processInfo.environment["COMMERCE_TOKEN"]
        let tls = try self.tlsOptions.clientTLS()
        let client = CommerceClient(
            configuration: ClientConfiguration(
                host: self.host,
                port: self.port,
                connections: self.connections,
                tls: tls
            ),
            token: token,
            adminToken: self.adminToken,
            group: loop
        )
        let fixture = try await Fixture.prepare(
            client: client,
            scenario: self.scenario,
            sizes: Fixture.Sizes(users: self.users, stock: self.stock, coupons: self.coupons, products: self.products)
        )
        let credentials = try self.userTokens.map { try Credentials(keys: $0, users: fixture.userIDs) } ?? Credentials()
        var clients = [client]
        for target in self.alsoTargets?.split(separator: ",") ?? [] {
            guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]) else {
                throw ValidationError("--also-targets takes host:port,host:port; got \(target)")
            }
            clients.append(
                CommerceClient(
                    configuration: ClientConfiguration(
                        host: String(target[..<colon]),
                        port: port,
                        connections: self.connections,
                        tls: tls
                    ),
                    token: token,
                    adminToken: self.adminToken,
                    group: loop
                )
            )
        }
        let topUps = TopUps()
        let workloads = clients.map {
            self.scenario.workload(
                client: $0,
                fixture: fixture,
                topUps: topUps,
                credentials: credentials,
                listUser: self.listUser,
                pageSize: self.pageSize,
                rankingDays: self.rankingDays
            )
        }
        let workload: @Sendable (Int) async -> Outcome = { sequence in
            await workloads[sequence % workloads.count](sequence)
        }

        let runner = LoadRunner(
            executor: EventLoopTaskExecutor(loop),
            concurrency: self.concurrency,
            rate: self.rate,
            warmup: self.warmup,
            duration: self.duration,
            requests: self.requests,
            progress: !self.quiet && !self.json,
            recordSamples: self.plot != nil,
            drain: .milliseconds(Int64(self.drain * 1_000))
        )
        let result = try await runner.run(workload)
        // The report is printed whatever happens next: a server that died mid-run still gets its
        // count of calls acknowledged, failed and unknown.
        var broken: [String] = []
        var invariants = "not checked"
        if self.scenario.writes {
            do {
                // Calls the run stopped waiting for (the drain's end, a deadline) may still be queued
                // on the server, and an account is read through several calls: a write landing
                // between them looks like a broken invariant until it has landed. A real break stays,
                // so a broken check is repeated, a second apart, for up to 10 s.
                for attempt in 1...Self.invariantChecks {
                    broken = try await checkInvariants(
                        scenario: self.scenario,
                        client: client,
                        fixture: fixture,
                        result: result,
                        serverAudit: !self.noServerAudit
                    )
                    if broken.isEmpty || attempt == Self.invariantChecks { break }
                    try await Task.sleep(for: .seconds(1))
                }
                invariants = broken.isEmpty ? "hold" : "broken"
            } catch {
                invariants = "not checked: \(error)"
            }
        }
        for client in clients { await client.close() }

        let report = Report(
            label: self.label ?? "\(self.scenario.rawValue) c=\(self.concurrency)",
            scenario: self.scenario.rawValue,
            concurrency: self.concurrency,
            connections: self.connections,
            openLoopRate: self.rate,
            result: result,
            topUps: topUps.count.load(ordering: .relaxed)
        )
        if let plot = self.plot {
            try LatencyPlot(title: report.label, result: result).svg().write(
                toFile: plot,
                atomically: true,
                encoding: .utf8
            )
            if !self.json { print("plot written to \(plot)") }
        }
        if self.json {
            print(try report.json(invariantsBroken: broken, invariants: invariants))
        } else {
            print(report.table())
            if invariants == "hold" { print("invariants hold: checked through the API and the server's audit") }
        }
        if !broken.isEmpty {
            for line in broken { FileHandle.standardError.write(Data("INVARIANT BROKEN: \(line)\n".utf8)) }
            throw ExitCode(3)
        }
        if invariants.hasPrefix("not checked:") {
            FileHandle.standardError.write(Data("invariants \(invariants)\n".utf8))
            throw ExitCode(4)
        }
    }
}

enum Scenario: String, ExpressibleByArgument, CaseIterable, Sendable {
    case getBalance = "get-balance"
    case health
    case read
    case topProducts = "top-products"
    case chargeStorm = "charge-storm"
    case hotProduct = "hot-product"
    case flashSale = "flash-sale"
    case mixed
    case order
    /// GetProduct over the fixture's products.
    case getProduct = "get-product"
    /// The first page of --list-user's orders, newest first.
    case listOrders = "list-orders"
    /// The first page of --list-user's balance history, newest first.
    case listHistory = "list-history"
    /// PlaceOrder, then CancelOrder of it (refunded); CancelOrder is what is measured.
    case cancelOrder = "cancel-order"
}
