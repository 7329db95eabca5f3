import ArgumentParser
import CommerceDomain
import CommercePostgres
import CommerceSQLite
import CommerceServerRuntime
import CommerceUseCases
import Foundation
import FrameRPCConnect
import FrameRPCServer
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import ServiceLifecycle

@main
struct CommerceServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commerce-server",
        abstract: "The commerce order service: FrameRPC over TCP, SQLite or PostgreSQL storage.",
        subcommands: [Serve.self, Migrate.self, Seed.self, Audit.self, Backup.self, Keys.self, Token.self],
        defaultSubcommand: Serve.self
    )
}
