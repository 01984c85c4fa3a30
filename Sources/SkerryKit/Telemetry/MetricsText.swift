import Foundation

/// Prometheus text exposition, read back: what `skerry stats` shows and
/// what tests assert on. Lines it cannot read are reported with their
/// number, never trapped on.
public struct MetricsText: Sendable {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public struct Family: Sendable, Equatable {
        public var name: String
        public var type: String
        public var help: String
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var line: Int
        public var reason: String
        public var description: String { "metrics line \(line): \(reason)" }
    }

    public private(set) var samples: [Sample] = []
    public private(set) var families: [String: Family] = [:]

    public init(parsing text: String) throws(ParseError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let words = line.split(separator: " ", maxSplits: 3).map(String.init)
                guard words.count >= 3, words[1] == "HELP" || words[1] == "TYPE" else { continue }
                var family = families[words[2]] ?? Family(name: words[2], type: "untyped", help: "")
                if words[1] == "HELP" { family.help = words.count > 3 ? words[3] : "" } else { family.type = words.count > 3 ? words[3] : "" }
                families[words[2]] = family
                continue
            }
            samples.append(try MetricsText.sample(line, number: index + 1))
        }
    }

    /// The first sample of `name` whose labels include `labels`.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }

    public func samples(named name: String) -> [Sample] { samples.filter { $0.name == name } }

    private static func sample(_ line: String, number: Int) throws(ParseError) -> Sample {
        let characters = Array(line)
        var index = 0
        while index < characters.count, characters[index] != "{", characters[index] != " " { index += 1 }
        let name = String(characters[0..<index])
        guard !name.isEmpty else { throw ParseError(line: number, reason: "no metric name") }
        var labels: [String: String] = [:]
        if index < characters.count, characters[index] == "{" {
            index += 1
            while index < characters.count, characters[index] != "}" {
                var key = ""
                while index < characters.count, characters[index] != "=" {
                    if characters[index] != "," { key.append(characters[index]) }
                    index += 1
                }
                guard index + 1 < characters.count, characters[index + 1] == "\"" else {
                    throw ParseError(line: number, reason: "a label without a quoted value")
                }
                index += 2
                var value = ""
                var closed = false
                while index < characters.count {
                    let character = characters[index]
                    index += 1
                    if character == "\\", index < characters.count {
                        let escaped = characters[index]
                        index += 1
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw ParseError(line: number, reason: "an unterminated label value") }
                labels[key] = value
                if index < characters.count, characters[index] == "," { index += 1 }
            }
            guard index < characters.count else { throw ParseError(line: number, reason: "labels without a closing brace") }
            index += 1
        }
        let rest = String(characters[index...]).trimmingCharacters(in: .whitespaces)
        guard let valueText = rest.split(separator: " ").first, let value = Double(valueText) else {
            throw ParseError(line: number, reason: "no numeric value")
        }
        return Sample(name: name, labels: labels, value: value)
    }
}
