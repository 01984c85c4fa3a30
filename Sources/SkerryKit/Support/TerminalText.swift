/// Text from files and the network made safe to print on a terminal: control
/// characters, which a terminal would act on (an ESC sequence can retitle the
/// window, move the cursor or rewrite the screen), are shown as escapes.
public enum TerminalText {
    /// `text` with ESC as `\e`, BEL as `\a`, other C0 and C1 controls and DEL
    /// as `\xHH` or `\u{HHHH}`, and the bidirectional overrides as `\u{HHHH}`.
    /// Tab stays, so columns keep their meaning.
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if let escape = escape(scalar) {
                result += escape
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The escape for one scalar, or nil when it prints as itself.
    public static func escape(_ scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0x09: return nil
        case 0x07: return "\\a"
        case 0x08: return "\\b"
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x1B: return "\\e"
        case 0x00...0x1F, 0x7F: return "\\x" + hex(scalar.value, digits: 2)
        case 0x80...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return "\\u{" + hex(scalar.value, digits: 4) + "}"
        default: return nil
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// Blanks as wide as the first `characters` characters of `text` once
    /// escaped, tabs kept: what puts a caret under a column of the escaped line.
    public static func caretPadding(_ text: String, characters: Int) -> String {
        var padding = ""
        for character in text.prefix(max(0, characters)) {
            if character == "\t" {
                padding += "\t"
            } else {
                padding += String(repeating: " ", count: escaped(String(character)).count)
            }
        }
        return padding
    }
}
