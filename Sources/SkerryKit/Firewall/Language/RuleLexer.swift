/// A token of the firewall language, with where it starts.
struct RuleToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// Keywords, names, numbers, addresses, ranges, rates: a run of
        /// letters, digits, `.`, `-`, `_` and `/`.
        case word
        /// `$name`; `text` is the name without the `$` (empty, and reported, for a lone `$`).
        case reference
        case not, open, close, comma, colon
        case newline
        /// After the last line.
        case end
    }

    var kind: Kind
    var text: String
    var line: Int
    var column: Int

    /// How a message quotes the token.
    var shown: String {
        switch kind {
        case .word: return "'\(text)'"
        case .reference: return "'$\(text)'"
        case .not: return "'!'"
        case .open: return "'{'"
        case .close: return "'}'"
        case .comma: return "','"
        case .colon: return "':'"
        case .newline: return "the end of the line"
        case .end: return "the end of the file"
        }
    }

    func isWord(_ word: String) -> Bool { kind == .word && text == word }
}

/// Splits a firewall file into tokens. `#` starts a comment; blanks separate
/// words; `{ } , : !` stand alone; every line ends with a newline token and
/// the file with an end token.
struct RuleLexer {
    let file: String
    let lines: [String]

    init(file: String, text: String) {
        self.file = file
        lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map(String.init)
    }

    /// The tokens, and a diagnostic for each character the language has no
    /// use for, up to just past `ConfigDiagnostic.errorLimit` of them.
    func tokens() -> (tokens: [RuleToken], problems: [ConfigDiagnostic]) {
        var tokens: [RuleToken] = []
        var problems: [ConfigDiagnostic] = []
        // Past the error limit the parser stops, so the rest of the file is not split either.
        for (lineIndex, line) in lines.enumerated() where problems.count <= ConfigDiagnostic.errorLimit {
            let number = lineIndex + 1
            let characters = Array(line)
            var index = 0
            while index < characters.count, problems.count <= ConfigDiagnostic.errorLimit {
                let character = characters[index]
                let column = index + 1
                index += 1
                if character == "#" { break }
                if character == " " || character == "\t" || character == "\r" { continue }
                if let kind = Self.punctuation[character] {
                    tokens.append(RuleToken(kind: kind, text: String(character), line: number, column: column))
                    continue
                }
                let isReference = character == "$"
                guard isReference || Self.isWordCharacter(character) else {
                    problems.append(diagnostic(line: number, column: column, "unexpected character '\(character)'"))
                    continue
                }
                var word = isReference ? "" : String(character)
                while index < characters.count, Self.isWordCharacter(characters[index]) {
                    word.append(characters[index])
                    index += 1
                }
                if isReference && word.isEmpty {
                    problems.append(diagnostic(line: number, column: column, "expected a set name after '$'"))
                }
                tokens.append(RuleToken(kind: isReference ? .reference : .word, text: word, line: number, column: column))
            }
            tokens.append(RuleToken(kind: .newline, text: "", line: number, column: characters.count + 1))
        }
        let last = tokens.last
        tokens.append(RuleToken(kind: .end, text: "", line: last?.line ?? 1, column: last?.column ?? 1))
        return (tokens, problems)
    }

    func diagnostic(
        line: Int, column: Int, _ message: String, severity: ConfigDiagnostic.Severity = .error
    ) -> ConfigDiagnostic {
        ConfigDiagnostic(
            location: ConfigLocation(file: file, line: line, column: column), message: message,
            sourceLine: line >= 1 && line <= lines.count ? lines[line - 1] : "", severity: severity)
    }

    private static let punctuation: [Character: RuleToken.Kind] = [
        "{": .open, "}": .close, ",": .comma, ":": .colon, "!": .not,
    ]

    private static func isWordCharacter(_ character: Character) -> Bool {
        guard character.isASCII, let ascii = character.asciiValue else { return false }
        switch ascii {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return ascii == UInt8(ascii: ".") || ascii == UInt8(ascii: "-") || ascii == UInt8(ascii: "_")
                || ascii == UInt8(ascii: "/")
        }
    }
}
