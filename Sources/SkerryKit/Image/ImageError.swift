/// Why `skerry image` made nothing. `isUsage` errors are the command line's
/// fault (exit 64); the rest are failures of the build itself.
public enum ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A boot argument GRUB would not pass to the kernel unchanged.
    case unquotableArgument(word: String, character: Unicode.Scalar)
    /// An option the chosen format takes no part of.
    case optionNotUsed(option: String, format: ImageFormat)
    case invalidOption(String)
    case missingTool(DebianTool.Missing)
    /// A tool ran and failed; its output says why.
    case toolFailed(step: String, command: [String], output: String)
    case io(String)
    /// The format is not part of this build of skerry.
    case notBuilt(ImageFormat)
    /// A signal (SIGINT, SIGTERM, SIGHUP) stopped the build between steps.
    case interrupted

    public var isUsage: Bool {
        switch self {
        case .unquotableArgument, .optionNotUsed, .invalidOption, .notBuilt: return true
        case .missingTool, .toolFailed, .io, .interrupted: return false
        }
    }

    public var description: String {
        switch self {
        case .unquotableArgument(let word, let character):
            let shown = character.value < 0x20 || character.value == 0x7F
                ? String(format: "control byte 0x%02X", character.value) : "\(character)"
            return "--append: the word \(String(reflecting: word)) holds \(shown); GRUB cannot pass quotes, backslashes or control bytes to the kernel unchanged"
        case .optionNotUsed(let option, let format):
            let users = ImageOption.allCases.first { $0.flag == option }?.formats.map(\.rawValue).joined(separator: ", ") ?? ""
            return "\(option) does not apply to --format \(format.rawValue) (it is used by: \(users))"
        case .invalidOption(let text): return text
        case .missingTool(let missing): return missing.description
        case .toolFailed(let step, let command, let output):
            return "\(step) failed\n  command: \(command.joined(separator: " "))\n\(output.trimmingTrailingNewlines)"
        case .io(let text): return text
        case .notBuilt(let format): return "\(format.rawValue): not built in this branch"
        case .interrupted: return "interrupted; nothing was written"
        }
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
