import Foundation
import Testing

/// Files written to hurt the tool that reads them: `skerry rules check`, `skerry build` and
/// `skerry smoke` answer each quickly, briefly and without letting the file drive the terminal.
@Suite struct HostileFileDiagnosticTests {
    /// A fresh directory; removed by the caller.
    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("skerry-hostile-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func write(_ bytes: [UInt8], _ name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// `arguments` run through the CLI, with its wall-clock time.
    func timed(_ arguments: [String]) -> (run: SkerryCLI.Run, seconds: Double) {
        let start = Date()
        let run = SkerryCLI.run(arguments, timeout: 120)
        return (run, Date().timeIntervalSince(start))
    }

    /// Pseudo-random bytes from a fixed seed (xorshift), so a failure repeats.
    func garbage(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// No byte a terminal acts on except the line ends and tabs the renderer writes itself.
    func isInert(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy {
            $0 == "\n" || $0 == "\t"
                || ($0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value)
                    && !(0x202A...0x202E).contains($0.value) && !(0x2066...0x2069).contains($0.value))
        }
    }

    @Test func aHugeUnknownSetNameIsReportedAtOnce() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let defined = String(repeating: "a", count: 20_000), used = String(repeating: "b", count: 20_000)
        let file = try write(Array("set \(defined) { 10.0.0.1 }\nrule r: accept in from $\(used)\n".utf8), "fw.rules", in: folder)
        let (run, seconds) = timed(["rules", "check", file])
        #expect(seconds < 5, "took \(seconds) s")
        #expect(run.code == 1, "\(run.code)")
        #expect(run.stderr.contains("\(file):2:24: error: unknown set '$bbbbbbbbbb"), "\(run.stderr.prefix(500))")
        // The line and the message are shown shortened, and no "did you mean" is made up.
        #expect(run.stderr.utf8.count < 2_000 && !run.stderr.contains("did you mean"), "\(run.stderr.utf8.count) bytes")
    }

    @Test func aNearSetNameIsStillSuggested() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try write(Array("set operators { 10.0.0.1 }\nrule r: accept in from $operater\n".utf8), "fw.rules", in: folder)
        let run = SkerryCLI.run(["rules", "check", file])
        #expect(run.stderr.contains("error: unknown set '$operater'; did you mean '$operators'?"), "\(run.stderr)")
    }

    @Test(arguments: [["rules", "check"], ["build"], ["smoke"]])
    func aBinaryFileIsNotATextFile(command: [String]) throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let name = command == ["build"] ? "appliance.conf" : command == ["smoke"] ? "suite.yaml" : "fw.rules"
        let file = try write(garbage(3_000_000), name, in: folder)
        let (run, seconds) = timed(command + [command == ["build"] ? folder.path : file])
        #expect(seconds < 5, "took \(seconds) s")
        #expect(run.code != 0)
        #expect(run.stderr.contains("\(file):1:1: error: cannot read the file: not a text file\n"), "\(run.stderr.prefix(2_000))")
        #expect(run.stderr.components(separatedBy: "error:").count == 2, "\(run.stderr.prefix(2_000))")
        #expect(run.stderr.utf8.count < 500, "\(run.stderr.utf8.count) bytes")
    }

    @Test func aNULByteMakesABinaryFileAndATruncatedCharacterDoesNot() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // 1023 bytes of comment, then "é" (2 bytes) across the 1 KiB mark: still text.
        let text = Array(("#" + String(repeating: "x", count: 1021) + " é\nrule r: accept in proto tcp to port 80\n").utf8)
        let textFile = try write(text, "text.rules", in: folder)
        let accepted = SkerryCLI.run(["rules", "check", textFile])
        #expect(accepted.code == 0 && accepted.stdout.contains("no errors; 1 rule"), "\(accepted.stderr)")
        let binaryFile = try write(Array("rule r: accept\n".utf8) + [0] + Array("\n".utf8), "nul.rules", in: folder)
        let refused = SkerryCLI.run(["rules", "check", binaryFile])
        #expect(refused.stderr == "Error: invalid rule file:\n\(binaryFile):1:1: error: cannot read the file: not a text file\n"
                    || refused.stderr.hasSuffix("\(binaryFile):1:1: error: cannot read the file: not a text file\n"), "\(refused.stderr)")
    }

    @Test func aFileOverTheSizeCapIsNotRead() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("big.rules").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 16 << 20 + 1)
        try handle.close()
        let (run, seconds) = timed(["rules", "check", path])
        #expect(seconds < 5, "took \(seconds) s")
        #expect(run.stderr.hasSuffix("\(path):1:1: error: cannot read the file: larger than 16 MiB\n"), "\(run.stderr)")
    }

    @Test func manyErrorsStopAtFifty() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = (1...1_000).map { "rul r\($0): accept" }.joined(separator: "\n")
        let file = try write(Array(lines.utf8), "fw.rules", in: folder)
        let run = SkerryCLI.run(["rules", "check", file])
        let errors = run.stderr.components(separatedBy: "\n").filter { $0.contains(": error: ") }
        #expect(errors.count == 51, "\(errors.count)")
        #expect(errors.first?.hasPrefix("\(file):1:1: error: ") == true)
        #expect(errors.last == "\(file):51:1: error: too many errors (more than 50); stopping", "\(errors.last ?? "")")
    }

    /// A 2 MB line of characters the language has no use for: fifty errors, each line shown in part.
    @Test func oneLongLineOfGarbageIsShownInPart() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try write([UInt8](repeating: UInt8(ascii: "@"), count: 2_000_000), "fw.rules", in: folder)
        let (run, seconds) = timed(["rules", "check", file])
        #expect(seconds < 5, "took \(seconds) s")
        #expect(run.stderr.components(separatedBy: ": error: ").count == 52, "\(run.stderr.prefix(1_000))")
        #expect(run.stderr.utf8.count < 30_000, "\(run.stderr.utf8.count) bytes")
        #expect(run.stderr.contains("\(file):1:3: error: unexpected character '@'\n    @@@"), "\(run.stderr.prefix(1_000))")
    }

    /// Escape sequences, C1 controls and a right-to-left override in a rule file reach the terminal
    /// as visible escapes, and the caret stays under the token it marks.
    @Test func controlCharactersCannotDriveTheTerminal() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let line = "rule r: accept \u{1b}]0;owned\u{07} in \u{9b}2J from $x\u{202e}yz # \u{1b}[2J\u{7f}"
        let file = try write(Array((line + "\n").utf8), "fw.rules", in: folder)
        let run = SkerryCLI.run(["rules", "check", file])
        #expect(run.code == 1)
        #expect(isInert(run.stderr), "\(run.stderr.debugDescription)")
        let shown = "    rule r: accept \\e]0;owned\\a in \\u{009b}2J from $x\\u{202e}yz # \\e[2J\\x7f"
        let rendered = run.stderr.components(separatedBy: "\n")
        #expect(rendered.contains(shown), "\(run.stderr)")
        // Each caret sits under the escaped form of the character its column names.
        var checked = 0
        for (index, heading) in rendered.enumerated() where heading.contains(": error: ") && index + 2 < rendered.count {
            let column = Int(heading.dropFirst(file.count + 1).split(separator: ":")[1])!
            let caret = rendered[index + 2].count - 1
            let expected = "    " + String(line.prefix(column - 1)).unicodeScalars.map { scalar in
                scalar == "\t" ? "\t" : String(repeating: " ", count: escapedWidth(scalar))
            }.joined()
            #expect(rendered[index + 2] == expected + "^", "\(heading)")
            #expect(rendered[index + 1].count > caret, "\(heading)")
            checked += 1
        }
        #expect(checked >= 3, "\(run.stderr)")
    }

    /// How wide a scalar of `controlCharactersCannotDriveTheTerminal`'s line is once escaped.
    func escapedWidth(_ scalar: Unicode.Scalar) -> Int {
        switch scalar.value {
        case 0x1B, 0x07: return 2
        case 0x7F: return 4
        case 0x9B, 0x202E: return 8
        default: return 1
        }
    }

    @Test func aSmokeScriptWithAHugeUnknownKeyIsAnsweredAtOnce() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // YAML takes keys of up to 1024 characters.
        let keys = (1...200).map { "\(String(repeating: "k", count: 1_000))\($0): 1" }.joined(separator: "\n")
        let file = try write(Array(keys.utf8), "suite.yaml", in: folder)
        let (run, seconds) = timed(["smoke", file])
        #expect(seconds < 5, "took \(seconds) s")
        let errors = run.stderr.components(separatedBy: "\n").filter { $0.contains(": error: ") }
        #expect(errors.count == 51 && errors.last?.hasSuffix("error: too many errors (more than 50); stopping") == true,
                "\(errors.count): \(errors.last ?? "")")
        #expect(run.stderr.utf8.count < 60_000, "\(run.stderr.utf8.count) bytes")
    }
}
