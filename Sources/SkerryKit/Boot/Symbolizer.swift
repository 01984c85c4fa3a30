import Foundation
import KernelCore

/// Names the functions behind the return addresses of a panic backtrace,
/// using the image's ELF64 symbols (llvm-symbolizer) and Swift demangling.
public struct Symbolizer {
    public var elf: URL
    var symbolizer: String
    var demangler: String?

    /// Nil when the toolchain has no llvm-symbolizer.
    public init?(elf: URL) {
        let toolDirectories = [findExecutable("swiftc")].compactMap { $0 }.map {
            URL(fileURLWithPath: $0).resolvingSymlinksInPath().deletingLastPathComponent().path
        }
        guard FileManager.default.fileExists(atPath: elf.path),
            let symbolizer = findExecutable("llvm-symbolizer", extraDirectories: toolDirectories)
        else { return nil }
        self.elf = elf
        self.symbolizer = symbolizer
        demangler = findExecutable("swift-demangle", extraDirectories: toolDirectories)
    }

    /// The addresses of `  #N 0x…` lines in a panic report.
    public static func backtraceAddresses(in lines: [String]) -> [String] {
        guard let start = lines.lastIndex(of: "backtrace:") else { return [] }
        return lines[(start + 1)...].compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, parts[0].hasPrefix("#"), parts[1].hasPrefix("0x") else { return nil }
            return String(parts[1])
        }
    }

    /// Whether a panic report's first backtrace address is a faulting
    /// instruction (a CPU exception) rather than a return address.
    public static func startsAtFault(_ lines: [String]) -> Bool {
        let headline = "PANIC: " + PanicReport.exceptionHeadline.description
        return lines.contains { $0.hasPrefix(headline) }
    }

    /// One description per address: `function (file:line)`, or `?`. Return
    /// addresses are looked up one byte earlier so that a call at the very
    /// end of a function (a call that never returns, such as a panic's) is
    /// not blamed on the function after it; a faulting instruction, the
    /// first address when `firstIsFault`, is looked up as it is.
    public func describe(_ addresses: [String], firstIsFault: Bool) -> [String] {
        let lookups = addresses.enumerated().map { index, text -> String in
            guard index > 0 || !firstIsFault, let value = UInt64(text.dropFirst(2), radix: 16), value > 0 else { return text }
            return "0x" + String(value - 1, radix: 16)
        }
        guard !lookups.isEmpty,
            let run = try? CapturedRun.run(symbolizer, ["--obj=\(elf.path)", "--no-inlines"] + lookups), run.succeeded
        else { return [] }
        // llvm-symbolizer answers each address with a function line, a location line and a blank line.
        let blocks = run.output.components(separatedBy: "\n\n").map { $0.split(separator: "\n").map(String.init) }
            .filter { !$0.isEmpty }
        var names = blocks.map { $0.first ?? "??" }
        if let demangler, let demangled = try? CapturedRun.run(demangler, ["--simplified", "--compact"] + names),
            demangled.succeeded
        {
            let lines = demangled.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.count >= names.count { names = Array(lines.prefix(names.count)) }
        }
        return zip(names, blocks).map { name, block in
            let location = block.count > 1 && !block[1].hasPrefix("??") ? " (\(block[1]))" : ""
            return name == "??" ? "?" : name + location
        }
    }
}
