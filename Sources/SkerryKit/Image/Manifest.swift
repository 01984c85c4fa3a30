import Foundation

/// An OVF package's manifest (`NAME.mf`): one `SHA256(FILE)= HEX` line per
/// file of the package except itself, in the form vSphere and ovftool
/// write and check (no space before the parenthesis, one after `=`).
public struct OVFManifest: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var file: String
        /// The SHA-256 digest in lowercase hex.
        public var sha256: String

        public init(file: String, sha256: String) {
            self.file = file
            self.sha256 = sha256.lowercased()
        }
    }

    /// The largest manifest read; a line per file is a few hundred bytes.
    public static let maximumBytes = 64 << 10

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public var text: String { entries.map { "SHA256(\($0.file))= \($0.sha256)\n" }.joined() }

    /// The digest listed for `file`, if any.
    public func sha256(of file: String) -> String? { entries.first { $0.file == file }?.sha256 }

    /// Reads a manifest. Accepts `\r\n` line ends, blank lines, spaces
    /// around `=` and uppercase hex; refuses other algorithms (SHA1, SHA512),
    /// malformed lines and files listed twice, naming the line.
    public init(parsing bytes: [UInt8], file: String) throws(OVAError) {
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw .badManifest(file: file, line: 0, "it is not UTF-8 text") }
        var entries: [Entry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine).ovfTrimmed()
            if line.isEmpty { continue }
            let number = index + 1
            guard let open = line.firstIndex(of: "("), let close = line.range(of: ")", options: .backwards),
                  open < close.lowerBound else {
                throw .badManifest(file: file, line: number, "expected ALGORITHM(FILE)= DIGEST")
            }
            let algorithm = String(line[..<open]).ovfTrimmed()
            guard algorithm == "SHA256" else {
                throw .badManifest(file: file, line: number, "the algorithm is \(algorithm); Skerry checks SHA256 manifests")
            }
            let name = String(line[line.index(after: open)..<close.lowerBound])
            var rest = Substring(line[close.upperBound...])
            while rest.first == " " { rest.removeFirst() }
            guard rest.first == "=" else { throw .badManifest(file: file, line: number, "expected = after (\(name))") }
            let digest = String(rest.dropFirst()).ovfTrimmed()
            guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else {
                throw .badManifest(file: file, line: number, "the digest of \(name) is not 64 hex digits")
            }
            guard !entries.contains(where: { $0.file == name }) else {
                throw .badManifest(file: file, line: number, "\(name) is listed twice")
            }
            entries.append(Entry(file: name, sha256: digest))
        }
        self.entries = entries
    }
}
