/// The kernel is built with `-assert-config Release`: the standard
/// library's internal checks (bounds, overflow, unwrapping) trap at once,
/// without a message, and the panic report names the trapping function in
/// its backtrace. Carrying a message at each of those hundreds of sites
/// cost a fifth of the image. The kernel's own `precondition` and
/// `fatalError` shadow the standard library's here to keep their messages:
/// they are few, and say what the kernel expected.
@inline(never)
func precondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> StaticString = StaticString(),
                  file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    report("Precondition failed", message(), file, line)
}

@inline(never)
func fatalError(_ message: @autoclosure () -> StaticString = StaticString(), file: StaticString = #fileID,
                line: UInt = #line) -> Never {
    report("Fatal error", message(), file, line)
}

/// Prints `file:line: kind: message` as the runtime prints its own
/// reports, so the panic handler quotes it, then traps.
@inline(never)
private func report(_ kind: StaticString, _ message: StaticString, _ file: StaticString, _ line: UInt) -> Never {
    var text = RuntimeReport()
    text.write(file)
    text.write(":")
    text.write(decimal: UInt64(line))
    text.write(": ")
    text.write(kind)
    text.write(": ")
    text.write(message)
    text.newline()
    while true { trap() }  // ud2: the panic handler takes over
}

/// Writes through `putchar`, where the runtime writes its reports; nothing is allocated.
struct RuntimeReport: TextSink {
    mutating func write(byte: UInt8) { _ = putchar(Int32(byte)) }
}
