/// The grub.cfg a Skerry image boots with: GRUB on the serial port only,
/// no menu, straight into the kernel with the appliance's boot arguments.
public struct GrubConfiguration: Sendable, Equatable {
    /// Where the kernel sits in the image, as GRUB names it.
    public static let kernelPath = "/boot/skerry.elf"
    /// Where the configuration sits, relative to the image's root.
    public static let path = "boot/grub/grub.cfg"

    /// The kernel command line's words, as the kernel is to receive them.
    public private(set) var arguments: [String]

    /// Splits `append` at spaces (the kernel's own separator) into words.
    /// Refuses what GRUB would not pass through unchanged: its `multiboot`
    /// command re-escapes quotes and backslashes when it builds the command
    /// line, and a control byte (newline, tab) would end or break the line.
    public init(append: String) throws(ImageError) {
        let words = append.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        for word in words {
            if let refused = word.unicodeScalars.first(where: GrubConfiguration.isRefused) {
                throw .unquotableArgument(word: word, character: refused)
            }
        }
        arguments = words
    }

    static func isRefused(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || scalar == "'" || scalar == "\"" || scalar == "\\"
    }

    /// `word` in single quotes: inside them GRUB's parser takes `$`, `;`,
    /// `#`, `{` and spaces literally, so they reach the kernel unchanged.
    public static func quoted(_ word: String) -> String { "'" + word + "'" }

    /// The file's text.
    public var text: String {
        let multiboot = (["multiboot", GrubConfiguration.kernelPath] + arguments.map(GrubConfiguration.quoted))
            .joined(separator: " ")
        return """
            serial --unit=0 --speed=115200
            terminal_input serial console
            terminal_output serial console
            set timeout=0
            \(multiboot)
            boot

            """
    }
}
