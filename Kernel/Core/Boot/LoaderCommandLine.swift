/// The command line a Multiboot loader hands the kernel.
///
/// QEMU's `-kernel` passes "PATH ARGS" (PATH is the host path of the image,
/// which may hold any character, `=` included); GRUB 2's `multiboot` passes
/// only ARGS. The first word is the image path when it starts with `/`, when
/// its key part (before any `=`) holds a `/` (no key does), or when it has no
/// `=` and is not a key the kernel knows (`BootOptionKey`). Anything else is
/// the first argument. A relative path with `=` before its first `/`
/// (`a=b/skerry.elf32`) reads as an argument, which the banner then warns
/// about; skerry always passes absolute paths.
public enum LoaderCommandLine {
    /// Where the kernel's arguments start in `line`: after the image path and
    /// the blanks that follow it, or at 0 when the line starts with an argument.
    public static func argumentsStart<Line: RandomAccessCollection>(in line: Line) -> Int
    where Line.Element == UInt8, Line.Index == Int {
        var index = line.startIndex
        while index < line.endIndex && isBlank(line[index]) { index += 1 }
        let wordStart = index
        var equals: Int?
        var slashInKey = false
        while index < line.endIndex && !isBlank(line[index]) && line[index] != 0 {
            if line[index] == 0x3D && equals == nil { equals = index }
            if line[index] == 0x2F && equals == nil { slashInKey = true }
            index += 1
        }
        guard index > wordStart else { return line.startIndex }
        let isPath: Bool
        if line[wordStart] == 0x2F || slashInKey {
            isPath = true
        } else if equals != nil {
            isPath = false
        } else {
            var word: [UInt8] = []
            word.reserveCapacity(index - wordStart)
            for position in wordStart..<index { word.append(line[position]) }
            isPath = BootOptionKey(name: word) == nil
        }
        guard isPath else { return line.startIndex }
        while index < line.endIndex && isBlank(line[index]) { index += 1 }
        return index
    }

    /// The blanks `KernelArguments` splits words on.
    static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A }
}
