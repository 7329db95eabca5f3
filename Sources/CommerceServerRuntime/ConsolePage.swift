import FrameRPCConnect

/// The shop console: one static page (`Console/console.html`: HTML, CSS and a small script, no
/// build chain) that an operator opens at `GET /console` on the HTTP port. It reads products, top
/// sellers, the last orders and the campaigns through the JSON API with the credential pasted into
/// it, and call rates and latencies from `/metrics`, every 2 s.
public enum ConsolePage {
    public static let response = StaticResponse(
        contentType: "text/html; charset=utf-8",
        body: PackageResources.console_html
    )

    /// The routes the HTTP port serves besides the API: the console, and `/metrics` from `emit`.
    public static func routes(
        metrics emit: @escaping @Sendable () -> [UInt8]
    ) -> [String: @Sendable () async -> StaticResponse] {
        [
            "/console": { Self.response },
            "/metrics": { StaticResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: emit()) },
        ]
    }
}
