import Prometheus

/// The Prometheus backend `commerce-server serve` bootstraps swift-metrics with: histogram buckets
/// fitted to what each series measures (calls and commits take microseconds to milliseconds, far
/// below the library's default first bucket of 5 ms; batches hold 1 to a few hundred writes).
public enum CommerceMetricsFactory {
    /// 50 µs to 10 s, for call durations, commit and checkpoint times and read-lane waits.
    static let fast: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]

    public static func make(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        for label in [
            "rpc_server_call_duration_seconds", "commerce_store_commit_seconds", "commerce_sqlite_checkpoint_seconds",
            "commerce_store_read_wait_seconds",
        ] {
            factory.durationHistogramBuckets[label] = Self.fast
        }
        factory.valueHistogramBuckets["commerce_store_commit_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        return factory
    }
}
