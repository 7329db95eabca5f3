import CommerceDomain
import CommerceService
import Foundation
import FrameRPC
import Testing

/// The tables of reasons in docs/protocol.md §4 are the code's: the shop's is generated from
/// `CommerceError.Reason.all` (each reason's status is the one the edge sends), and the protocol
/// layer's lists every `WireReason` with every status the sources pair it with.
@Suite("The reason tables in docs/protocol.md")
struct ReasonTableTests {
    static let protocolDoc = packageRoot.appendingPathComponent("docs/protocol.md")

    static func block(_ name: String, in text: String) throws -> (range: Range<String.Index>, body: String) {
        let begin = try #require(text.range(of: "<!-- \(name):begin -->\n"))
        let end = try #require(text.range(of: "<!-- \(name):end -->"))
        return (begin.upperBound..<end.lowerBound, String(text[begin.upperBound..<end.lowerBound]))
    }

    static func sources() throws -> [(path: String, text: String)] {
        let root = packageRoot.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        return try files.compactMap { $0 as? URL }.filter {
            $0.pathExtension == "swift" && !$0.path.contains("/Generated/")
        }
        .map { ($0.path, try String(contentsOf: $0, encoding: .utf8)) }
    }

    @Test("every shop reason is in Reason.all once, and the table of them is the one generated from it")
    func commerceReasons() throws {
        let declared = try String(
            contentsOf: packageRoot.appendingPathComponent("Sources/CommerceDomain/CommerceError.swift"),
            encoding: .utf8
        )
        let literals = declared.matches(of: /Reason\(\s*"([A-Z_0-9]+)"/).map { String($0.1) }
        let all = CommerceError.Reason.all.map(\.rawValue)
        #expect(
            Set(literals) == Set(all) && all.count == Set(all).count && !all.isEmpty,
            "Reason.all and the declared reasons differ"
        )

        var table = "| reason | status | when |\n| --- | --- | --- |\n"
        for reason in CommerceError.Reason.all {
            let status = CommerceError(reason, "").rpcError.code.name
            table += "| `\(reason.rawValue)` | \(status) | \(reason.meaning) |\n"
        }
        var text = try String(contentsOf: Self.protocolDoc, encoding: .utf8)
        let block = try Self.block("commerce-reasons", in: text)
        if block.body != table, ProcessInfo.processInfo.environment["UPDATE_DOCS"] == "1" {
            text.replaceSubrange(block.range, with: table)
            try text.write(to: Self.protocolDoc, atomically: true, encoding: .utf8)
            return
        }
        #expect(
            block.body == table,
            "docs/protocol.md is out of date: run UPDATE_DOCS=1 swift test --filter ReasonTableTests"
        )
    }

    @Test("every WireReason has a row, and every status the sources send a wire reason with is in its row")
    func wireReasons() throws {
        let text = try String(contentsOf: Self.protocolDoc, encoding: .utf8)
        var rows: [String: String] = [:]
        for line in try Self.block("wire-reasons", in: text).body.split(separator: "\n") {
            if let match = line.firstMatch(of: /^\| `([A-Z_0-9]+)` \| ([^|]+) \|/) {
                rows[String(match.1)] = String(match.2)
            }
        }
        let sources = try Self.sources()
        let declarations = try #require(sources.first { $0.path.hasSuffix("FrameRPC/WireReason.swift") }).text
        var constants: [String: String] = [:]
        for match in declarations.matches(of: /static let (\w+) = "([A-Z_0-9]+)"/) {
            constants[String(match.1)] = String(match.2)
        }
        #expect(constants.count >= 19)
        #expect(Set(rows.keys) == Set(constants.values), "rows and WireReason differ")

        var pairs = 0
        for (path, source) in sources {
            for match in source.matches(of: /code:\s*\.(\w+),\s*reason:\s*WireReason\.(\w+)/) {
                let status = try #require(
                    (UInt32(0)...16).map(StatusCode.init(rawValue:)).first {
                        $0.name.lowercased() == Self.snake(String(match.1))
                    }
                )
                let reason = try #require(constants[String(match.2)], "\(path): WireReason.\(match.2)")
                #expect(
                    rows[reason]?.contains(status.name) == true,
                    "\(path): \(reason) is sent as \(status.name), not in its row"
                )
                pairs += 1
            }
        }
        #expect(pairs >= 20, "the scan found the pairs it should")
    }

    /// `resourceExhausted` → `resource_exhausted`.
    static func snake(_ name: String) -> String {
        name.reduce(into: "") { out, character in
            if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
        }
    }
}
