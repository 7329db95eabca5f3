// swift-tools-version:6.1
// The transport floor for the 1-caller benchmark: a RESP GET server and a closed-loop GET client
// on bare SwiftNIO (one event loop, one handler, no framing of ours, no protobuf, no storage).
// Built and run by benchmarks/transport-floor.sh; not part of the product or its tests.
import PackageDescription

let package = Package(
    name: "nio-floor",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3")],
    targets: [
        .executableTarget(
            name: "NIOFloor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        )
    ]
)
