/// A position in a source file, 1-based.
public struct ConfigLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem in a configuration file, reported as
/// `file:line:col: error: message` (or `warning:`) with the line and a caret
/// under the column.
public struct ConfigDiagnostic: Error, Sendable, CustomStringConvertible {
    /// Errors stop the build; warnings are reported and the build goes on.
    public enum Severity: String, Sendable { case error, warning }

    public var location: ConfigLocation
    public var message: String
    public var sourceLine: String
    public var severity: Severity = .error

    /// The file's text (the line, and words of it quoted in the message) has
    /// its control characters escaped. A problem with no line to show (the
    /// file cannot be read, or the line is empty) is the heading alone. A
    /// line longer than `shownLineWidth` characters is shown as the part
    /// around the column, and a message longer than `shownMessageLength` as
    /// its start and end, each cut marked with `…`.
    public var description: String {
        let heading = "\(TerminalText.escaped(location.description)): \(severity.rawValue): "
            + TerminalText.escaped(Self.shortened(message))
        guard !sourceLine.isEmpty else { return heading }
        let (shown, column) = Self.window(sourceLine, column: location.column)
        let caret = TerminalText.caretPadding(shown, characters: column - 1) + "^"
        return heading + "\n    \(TerminalText.escaped(shown))\n    \(caret)"
    }

    /// The most characters of a source line shown under a heading.
    public static let shownLineWidth = 120
    /// The most characters of a message shown.
    public static let shownMessageLength = 300

    /// Up to `shownLineWidth` characters of `line` around `column`, and the column within them.
    static func window(_ line: String, column: Int) -> (text: String, column: Int) {
        guard line.utf8.count > shownLineWidth else { return (line, column) }
        // Found by walking to the column, never by counting the whole line: a line can be megabytes long.
        var first = max(0, column - 1 - shownLineWidth / 2)
        var start = line.index(line.startIndex, offsetBy: first, limitedBy: line.endIndex) ?? line.endIndex
        var shown = line[start...].prefix(shownLineWidth + 1)
        let short = shownLineWidth - min(shown.count, shownLineWidth)
        if short > 0, first > 0 {
            let back = min(short, first)
            first -= back
            start = line.index(start, offsetBy: -back)
            shown = line[start...].prefix(shownLineWidth + 1)
        }
        let cutAtEnd = shown.count > shownLineWidth
        guard first > 0 || cutAtEnd else { return (line, column) }
        let text = (first > 0 ? "…" : "") + shown.prefix(shownLineWidth) + (cutAtEnd ? "…" : "")
        return (text, column - first + (first > 0 ? 1 : 0))
    }

    /// `message`, or its start and end around `…` when it is longer than `shownMessageLength`.
    static func shortened(_ message: String) -> String {
        guard message.utf8.count > shownMessageLength, message.count > shownMessageLength else { return message }
        let tail = shownMessageLength / 4
        return message.prefix(shownMessageLength - tail - 1) + "…" + message.suffix(tail)
    }
}

extension ConfigDiagnostic {
    /// The most errors reported for one file; the rest are summed up in one
    /// `too many errors` diagnostic, and the parsers stop reading there.
    public static let errorLimit = 50
    /// What stands for the errors past `errorLimit`.
    public static let tooManyErrors = "too many errors (more than \(errorLimit)); stopping"

    /// `diagnostics` with, per file, everything after its `errorLimit`-th
    /// error replaced by one error saying the reading stopped there.
    public static func limited(_ diagnostics: [ConfigDiagnostic]) -> [ConfigDiagnostic] {
        var errors: [String: Int] = [:]
        var result: [ConfigDiagnostic] = []
        for diagnostic in diagnostics {
            let file = diagnostic.location.file
            let count = errors[file, default: 0]
            guard count <= errorLimit else { continue }
            if diagnostic.severity == .error {
                errors[file] = count + 1
                if count == errorLimit {
                    result.append(ConfigDiagnostic(location: diagnostic.location, message: tooManyErrors, sourceLine: ""))
                    continue
                }
            }
            result.append(diagnostic)
        }
        return result
    }

    /// Sorted by file (in the order the files first appear), then line and
    /// column; diagnostics at one position keep their order.
    public static func inFileOrder(_ diagnostics: [ConfigDiagnostic]) -> [ConfigDiagnostic] {
        var files: [String: Int] = [:]
        for diagnostic in diagnostics where files[diagnostic.location.file] == nil {
            files[diagnostic.location.file] = files.count
        }
        return diagnostics.enumerated().sorted {
            let a = $0.element.location, b = $1.element.location
            return (files[a.file]!, a.line, a.column, $0.offset) < (files[b.file]!, b.line, b.column, $1.offset)
        }.map(\.element)
    }

    /// The text of the file at `path`, or one diagnostic saying why it cannot be read.
    public static func readSource(_ path: String) throws(ConfigErrors) -> String {
        do throws(SourceFile.Problem) {
            return try SourceFile.read(path)
        } catch {
            throw ConfigErrors(diagnostics: [ConfigDiagnostic(
                location: ConfigLocation(file: path, line: 1, column: 1), message: "cannot read the file: \(error)", sourceLine: "")])
        }
    }
}

/// All the problems found, in file order: the errors, and the warnings found
/// beside them, at most `ConfigDiagnostic.errorLimit` errors per file.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = ConfigDiagnostic.limited(diagnostics)
    }

    /// The diagnostics that are errors, not warnings.
    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A word, quoted string, or brace of the appliance language, with where it starts.
struct ConfigToken: Sendable {
    enum Kind: Sendable, Equatable { case word, string, open, close, newline }
    var kind: Kind
    var text: String
    var line: Int
    var column: Int
}

/// Splits an appliance file into tokens: words separated by blanks,
/// "quoted strings", `{`, `}` and line ends; `#` starts a comment.
struct ConfigLexer {
    let file: String
    let lines: [String]

    init(file: String, text: String) {
        self.file = file
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    func tokens() throws(ConfigErrors) -> [ConfigToken] {
        var tokens: [ConfigToken] = []
        var problems: [ConfigDiagnostic] = []
        // Past the error limit nothing more is reported, so the rest is not split.
        for (lineIndex, line) in lines.enumerated() where problems.count <= ConfigDiagnostic.errorLimit {
            let characters = Array(line)
            var index = 0
            while index < characters.count {
                let character = characters[index]
                if character == "#" { break }
                if character == " " || character == "\t" || character == "\r" {
                    index += 1
                    continue
                }
                let column = index + 1
                if character == "{" || character == "}" {
                    tokens.append(ConfigToken(kind: character == "{" ? .open : .close, text: String(character), line: lineIndex + 1, column: column))
                    index += 1
                    continue
                }
                if character == "\"" {
                    var value = ""
                    index += 1
                    var closed = false
                    while index < characters.count {
                        if characters[index] == "\"" {
                            closed = true
                            index += 1
                            break
                        }
                        value.append(characters[index])
                        index += 1
                    }
                    if !closed {
                        problems.append(diagnostic(line: lineIndex + 1, column: column, "unterminated string"))
                    }
                    tokens.append(ConfigToken(kind: .string, text: value, line: lineIndex + 1, column: column))
                    continue
                }
                var word = ""
                while index < characters.count, !" \t\r{}#\"".contains(characters[index]) {
                    word.append(characters[index])
                    index += 1
                }
                tokens.append(ConfigToken(kind: .word, text: word, line: lineIndex + 1, column: column))
            }
            tokens.append(ConfigToken(kind: .newline, text: "", line: lineIndex + 1, column: characters.count + 1))
        }
        if !problems.isEmpty { throw ConfigErrors(diagnostics: problems) }
        return tokens
    }

    func diagnostic(line: Int, column: Int, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(
            location: ConfigLocation(file: file, line: line, column: column), message: message,
            sourceLine: line >= 1 && line <= lines.count ? lines[line - 1] : "")
    }
}
