// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "commerce",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CommerceClient", targets: ["CommerceClient"]),
        .library(name: "FrameRPC", targets: ["FrameRPC"]),
        .executable(name: "commerce-server", targets: ["CommerceServerCLI"]),
        .executable(name: "commerce", targets: ["CommerceCLI"]),
        .executable(name: "commerce-load", targets: ["CommerceLoad"]),
        .executable(name: "protoc-gen-framerpc", targets: ["FrameRPCGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Only its OTLP/HTTP exporter: the gRPC one (and grpc-swift) is left out.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // MARK: Wire protocol (no commerce knowledge)
        .target(
            name: "FrameRPC",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FrameRPCServer",
            dependencies: [
                "FrameRPC",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        // The same router over HTTP/1.1 in the Connect protocol's unary form.
        .target(
            name: "FrameRPCConnect",
            dependencies: [
                "FrameRPC",
                "FrameRPCServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FrameRPCClient",
            dependencies: [
                "FrameRPC",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),

        // MARK: Commerce
        .target(
            name: "CommerceProto",
            dependencies: ["FrameRPC", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strict
        ),
        .target(name: "CommerceDomain", swiftSettings: strict),
        .target(
            name: "CommerceUseCases",
            dependencies: ["CommerceDomain", .product(name: "Tracing", package: "swift-distributed-tracing")],
            swiftSettings: strict
        ),
        .target(
            name: "CommerceAuth",
            dependencies: ["CommerceDomain", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // `sqlite3_config` for Swift (it is variadic): process-wide SQLite settings.
        .target(name: "CSQLiteSettings", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "CommerceSQLite",
            dependencies: [
                "CSQLiteSettings",
                "CommerceDomain", "CommerceUseCases", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CommercePostgres",
            dependencies: [
                "CommerceDomain", "CommerceUseCases",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CommerceService",
            dependencies: [
                "FrameRPC", "FrameRPCServer", "CommerceProto", "CommerceDomain", "CommerceUseCases", "CommerceAuth",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CommerceServerRuntime",
            dependencies: [
                "FrameRPC", "FrameRPCServer", "FrameRPCConnect", "CommerceService", "CommerceAuth", "CommerceSQLite",
                "CommercePostgres",
                "CommerceUseCases", "CommerceDomain",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            resources: [.embedInCode("Console/console.html")],
            swiftSettings: strict
        ),
        .target(
            name: "CommerceClient",
            dependencies: [
                "FrameRPC", "FrameRPCClient", "CommerceProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),

        // MARK: Test seams
        // A client transport into a server's router, without a socket.
        .target(
            name: "FrameRPCInProcess",
            dependencies: [
                "FrameRPC", "FrameRPCServer", "FrameRPCClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Raw sockets for tests of backpressure, and blocking work off the cooperative pool.
        .target(name: "SocketTestSupport", swiftSettings: strict),
        // The whole service in-process on a temporary SQLite store, with test credentials.
        .target(
            name: "CommerceTestSupport",
            dependencies: [
                "FrameRPCInProcess", "FrameRPCServer", "CommerceClient", "CommerceService", "CommerceSQLite",
                "CommerceUseCases",
                "CommerceDomain", "CommerceAuth",
            ],
            swiftSettings: strict
        ),

        // MARK: Executables
        // What the client command lines share (their TLS options).
        .target(
            name: "CommerceCLISupport",
            dependencies: [
                "FrameRPCClient", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // The protoc plugin that writes the method tables from proto/ (scripts/generate-protos.sh).
        .executableTarget(
            name: "FrameRPCGenerator",
            dependencies: [
                "FrameRPC",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CommerceServerCLI",
            dependencies: [
                "CommerceServerRuntime", "CommerceAuth", "CommerceService", "CommerceSQLite", "CommercePostgres",
                "CommerceDomain", "CommerceUseCases", "FrameRPCServer", "FrameRPCConnect",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CommerceCLI",
            dependencies: [
                "CommerceCLISupport",
                "CommerceClient", "FrameRPC", "FrameRPCClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CommerceLoad",
            dependencies: [
                "CommerceCLISupport",
                "CommerceClient", "CommerceProto", "FrameRPC", "FrameRPCClient", "CommerceAuth", "CommerceDomain",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),

        // MARK: Tests
        .testTarget(
            name: "FrameRPCTests",
            dependencies: [
                "FrameRPC", "FrameRPCServer", "FrameRPCClient", "SocketTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "CommerceDomainTests", dependencies: ["CommerceDomain"], swiftSettings: strict),
        .testTarget(
            name: "CommerceServiceTests",
            dependencies: [
                "CommerceTestSupport", "CommerceClient", "CommerceProto", "CommerceDomain", "FrameRPC",
                "FrameRPCClient",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CommerceSQLiteTests",
            dependencies: [
                "CommerceSQLite", "CommerceUseCases", "CommerceDomain", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CommerceServerTests",
            dependencies: [
                "CommerceServerRuntime", "CommerceClient", "CommerceProto", "FrameRPC", "FrameRPCClient",
                "CommerceAuth", "CommerceTestSupport", "FrameRPCConnect", "SocketTestSupport",
                "CommerceSQLite", "CommercePostgres", "CommerceUseCases", "CommerceDomain", "CommerceService",
                "FrameRPCServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
    ]
)

// MARK: Fuzzing
// libFuzzer targets, declared only for `scripts/fuzz.sh` (COMMERCE_FUZZ=1), which builds them with
// `-sanitize=fuzzer,address` in a build folder of their own: without the sanitizer they have no `main`.
if Context.environment["COMMERCE_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzFrames", ["FrameRPC", .product(name: "NIOCore", package: "swift-nio")]),
        (
            "FuzzEnvelope",
            [
                "FrameRPC", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        ("FuzzPageToken", ["CommerceService"]),
        ("FuzzEventJSON", ["CommerceDomain"]),
        (
            "FuzzRequests",
            [
                "CommerceService", "CommerceAuth", "CommerceSQLite", "CommerceUseCases", "FrameRPC", "FrameRPCServer",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ]
    package.targets.append(.target(name: "CFuzzDriver", path: "Tests/Fuzz/CFuzzDriver"))
    package.targets.append(
        .target(
            name: "FuzzSupport",
            dependencies: ["CFuzzDriver"],
            path: "Tests/Fuzz/FuzzSupport",
            swiftSettings: strict
        )
    )
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name,
                dependencies: ["FuzzSupport"] + target.dependencies,
                path: "Tests/Fuzz/\(target.name)",
                swiftSettings: strict + [.unsafeFlags(["-parse-as-library"])]
            )
        )
    }
}
