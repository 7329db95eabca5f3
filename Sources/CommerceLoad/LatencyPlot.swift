import Foundation
import Histogram

/// `--plot FILE.svg`: latency over time (p50, p99, max per time slice), calls and errors per
/// second, and the latency distribution of each method (percentile spectrum, log scales).
/// Plain SVG, no dependencies: opens in any browser.
struct LatencyPlot {
    var title: String
    var result: LoadResult

    private static let width = 960.0
    private static let left = 80.0, right = 30.0
    private static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728",
    ]

    func svg() -> String {
        var svg = SVGCanvas(width: Self.width, height: 900)
        svg.text(
            Self.left,
            28,
            "\(self.title) — \(self.result.samples.count) calls in \(String(format: "%.1f", self.result.seconds)) s",
            size: 16,
            weight: "bold"
        )
        let slices = self.timeSlices()
        self.latencyOverTime(&svg, slices, top: 50, height: 300)
        self.rateOverTime(&svg, slices, top: 400, height: 160)
        self.distribution(&svg, top: 610, height: 250)
        return svg.finish()
    }

    /// Latency percentiles, calls and errors of one slice of the run.
    private struct Slice {
        var startSeconds: Double
        var p50: Double, p99: Double, max: Double
        var calls: Int, errors: Int
    }

    private func timeSlices() -> [Slice] {
        let samples = self.result.samples
        let totalMillis = max(1, Double(samples.last?.startMillis ?? 0) + 1, self.result.seconds * 1000)
        let count = Int(min(200, max(10, totalMillis / 100)))
        let sliceMillis = totalMillis / Double(count)
        // One HdrHistogram per slice, like the run's own statistics; 2 significant digits (1 %) are
        // plenty for a line on a plot and keep 200 slices to a few MiB.
        var buckets = Array(
            repeating: Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two),
            count: count
        )
        var errors = Array(repeating: 0, count: count)
        for sample in samples {
            let index = min(count - 1, Int(Double(sample.startMillis) / sliceMillis))
            buckets[index].record(UInt64(sample.micros))
            if sample.failed { errors[index] += 1 }
        }
        return buckets.enumerated().map { index, latency in
            let calls = Int(latency.totalCount)
            func at(_ percentile: Double) -> Double { calls == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) }
            return Slice(
                startSeconds: Double(index) * sliceMillis / 1000,
                p50: at(50),
                p99: at(99),
                max: calls == 0 ? 0 : Double(latency.max),
                calls: Int((Double(calls) * 1000 / sliceMillis).rounded()),
                errors: Int((Double(errors[index]) * 1000 / sliceMillis).rounded())
            )
        }
    }

    private func latencyOverTime(_ svg: inout SVGCanvas, _ slices: [Slice], top: Double, height: Double) {
        let values = slices.flatMap { [$0.p50, $0.max] }.filter { $0 > 0 }
        let axis = LogAxis(values: values)
        let frame = Frame(x: Self.left, y: top, width: Self.width - Self.left - Self.right, height: height)
        let timeAxis = Self.timeAxis(slices)
        svg.panel(frame, title: "Latency over time (all methods)", xLabel: "seconds into the measured run")
        axis.drawTicks(&svg, frame)
        timeAxis.drawTicks(&svg, frame, horizontal: true)
        for (name, color, value) in [
            ("max", "#bbbbbb", \Slice.max), ("p99", "#ff7f0e", \Slice.p99), ("p50", "#1f77b4", \Slice.p50),
        ] {
            let points = slices.filter { $0[keyPath: value] > 0 }.map {
                (
                    frame.x + $0.startSeconds / timeAxis.maximum * frame.width,
                    axis.position(of: $0[keyPath: value], in: frame)
                )
            }
            svg.polyline(points, color: color, width: name == "max" ? 1 : 2)
        }
        svg.legend(
            [("p50", "#1f77b4"), ("p99", "#ff7f0e"), ("max", "#bbbbbb")],
            x: frame.x + frame.width - 190,
            y: frame.y + 16
        )
    }

    /// The shared x axis of the time panels: its rounded maximum also places the points, so they
    /// line up with the tick labels.
    private static func timeAxis(_ slices: [Slice]) -> LinearAxis {
        LinearAxis(
            maximum: max(
                slices.last.map { $0.startSeconds * Double(slices.count) / Double(max(1, slices.count - 1)) } ?? 1,
                0.001
            )
        )
    }

    private func rateOverTime(_ svg: inout SVGCanvas, _ slices: [Slice], top: Double, height: Double) {
        let frame = Frame(x: Self.left, y: top, width: Self.width - Self.left - Self.right, height: height)
        let timeAxis = Self.timeAxis(slices)
        let axis = LinearAxis(maximum: Double(max(1, slices.map(\.calls).max() ?? 1)))
        svg.panel(frame, title: "Calls per second (errors in red)", xLabel: "seconds into the measured run")
        axis.drawTicks(&svg, frame, horizontal: false)
        timeAxis.drawTicks(&svg, frame, horizontal: true)
        for (color, value) in [("#2ca02c", \Slice.calls), ("#d62728", \Slice.errors)] {
            let points = slices.map {
                (
                    frame.x + $0.startSeconds / timeAxis.maximum * frame.width,
                    axis.position(of: Double($0[keyPath: value]), in: frame)
                )
            }
            svg.polyline(points, color: color, width: 2)
        }
    }

    /// Percentile spectrum: x is log10(1 / (1 − p)), so 90 %, 99 %, 99.9 % … are evenly spaced.
    private func distribution(_ svg: inout SVGCanvas, top: Double, height: Double) {
        let frame = Frame(x: Self.left, y: top, width: Self.width - Self.left - Self.right, height: height)
        let methods = self.result.methods.sorted { $0.key < $1.key }.filter { $0.value.count > 0 }
        let maxNines = min(5, max(1, log10(Double(max(10, methods.map(\.value.count).max() ?? 10)))))
        let axis = LogAxis(
            values: methods.flatMap { [Double($0.value.latency.valueAtPercentile(0)), Double($0.value.latency.max)] }
                .filter { $0 > 0 }
        )
        svg.panel(frame, title: "Latency distribution by method", xLabel: "percentile")
        axis.drawTicks(&svg, frame)
        for nines in 0...Int(maxNines) {
            let x = frame.x + Double(nines) / maxNines * frame.width
            let label =
                nines == 0
                ? "0%" : String(100 - pow(10, 2 - Double(nines))).replacingOccurrences(of: ".0", with: "") + "%"
            svg.line(x, frame.y, x, frame.y + frame.height, color: "#eeeeee")
            svg.text(x, frame.y + frame.height + 16, label, size: 11, anchor: "middle")
        }
        var legend: [(String, String)] = []
        for (index, (method, stats)) in methods.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = stride(from: 0.0, through: maxNines, by: maxNines / 200).map { nines -> (Double, Double) in
                let percentile = 100 * (1 - pow(10, -nines))
                let value = Double(stats.latency.valueAtPercentile(percentile))
                return (frame.x + nines / maxNines * frame.width, axis.position(of: max(value, 1), in: frame))
            }
            svg.polyline(points, color: color, width: 2)
            legend.append(("\(method) (\(stats.count))", color))
        }
        svg.legend(legend, x: frame.x + 12, y: frame.y + 16)
    }
}

struct Frame {
    var x, y, width, height: Double
}

/// Powers of ten from the smallest to the largest value, in µs.
struct LogAxis {
    var low: Double, high: Double

    init(values: [Double]) {
        self.low = floor(log10(max(1, values.min() ?? 1)))
        self.high = max(self.low + 1, ceil(log10(max(1, values.max() ?? 10))))
    }

    func position(of micros: Double, in frame: Frame) -> Double {
        let fraction = (log10(max(micros, 1)) - self.low) / (self.high - self.low)
        return frame.y + frame.height * (1 - min(1, max(0, fraction)))
    }

    func drawTicks(_ svg: inout SVGCanvas, _ frame: Frame) {
        for power in Int(self.low)...Int(self.high) {
            let micros = pow(10, Double(power))
            let y = self.position(of: micros, in: frame)
            svg.line(frame.x, y, frame.x + frame.width, y, color: "#eeeeee")
            svg.text(frame.x - 8, y + 4, Self.label(micros), size: 11, anchor: "end")
        }
    }

    static func label(_ micros: Double) -> String {
        switch micros {
        case ..<1_000: "\(Int(micros)) µs"
        case ..<1_000_000: "\(Int(micros / 1_000)) ms"
        default: "\(Int(micros / 1_000_000)) s"
        }
    }
}

/// Zero to a round maximum, five ticks.
struct LinearAxis {
    var maximum: Double

    init(maximum: Double) {
        let magnitude = pow(10, floor(log10(max(maximum, 1e-9))))
        let steps = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }
        self.maximum = steps.first { $0 >= maximum } ?? maximum
    }

    func position(of value: Double, in frame: Frame) -> Double {
        frame.y + frame.height * (1 - min(1, max(0, value / self.maximum)))
    }

    func drawTicks(_ svg: inout SVGCanvas, _ frame: Frame, horizontal: Bool) {
        for tick in 0...5 {
            let value = self.maximum * Double(tick) / 5
            let label =
                value >= 1_000
                ? String(format: "%.0fk", value / 1_000) : String(format: value < 10 ? "%.1f" : "%.0f", value)
            if horizontal {
                let x = frame.x + frame.width * Double(tick) / 5
                svg.text(x, frame.y + frame.height + 16, label, size: 11, anchor: "middle")
            } else {
                let y = self.position(of: value, in: frame)
                svg.line(frame.x, y, frame.x + frame.width, y, color: "#eeeeee")
                svg.text(frame.x - 8, y + 4, label, size: 11, anchor: "end")
            }
        }
    }
}

/// The few SVG elements the plot needs.
struct SVGCanvas {
    private var body: [String] = []
    let width: Double, height: Double

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
        self.body.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
    }

    mutating func text(
        _ x: Double,
        _ y: Double,
        _ text: String,
        size: Int = 12,
        anchor: String = "start",
        weight: String = "normal"
    ) {
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        self.body.append(
            String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\"", x, y, size)
                + " text-anchor=\"\(anchor)\" font-weight=\"\(weight)\">\(escaped)</text>"
        )
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String, width: Double = 1) {
        self.body.append(
            String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"%.1f\"",
                x1,
                y1,
                x2,
                y2,
                width
            )
                + " stroke=\"\(color)\"/>"
        )
    }

    mutating func polyline(_ points: [(Double, Double)], color: String, width: Double) {
        guard !points.isEmpty else { return }
        let list = points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
        self.body.append(
            "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\" stroke-linejoin=\"round\" points=\"\(list)\"/>"
        )
    }

    mutating func panel(_ frame: Frame, title: String, xLabel: String) {
        self.text(frame.x, frame.y - 8, title, size: 13, weight: "bold")
        self.body.append(
            String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888888\"/>",
                frame.x,
                frame.y,
                frame.width,
                frame.height
            )
        )
        self.text(frame.x + frame.width / 2, frame.y + frame.height + 32, xLabel, size: 11, anchor: "middle")
    }

    mutating func legend(_ entries: [(String, String)], x: Double, y: Double) {
        for (index, (label, color)) in entries.enumerated() {
            let rowY = y + Double(index) * 16
            self.line(x, rowY - 4, x + 18, rowY - 4, color: color, width: 3)
            self.text(x + 24, rowY, label, size: 11)
        }
    }

    func finish() -> String {
        let header = String(
            format:
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">",
            self.width,
            self.height,
            self.width,
            self.height
        )
        return ([header] + self.body + ["</svg>"]).joined(separator: "\n")
    }
}
