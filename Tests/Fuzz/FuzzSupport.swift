// Shared by every fuzz target: copies libFuzzer's input into a mutable
// buffer (parsers take mutable views, as the stack's packet buffers are).

func withMutableCopy(_ data: UnsafePointer<UInt8>, _ size: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    defer { copy.deallocate() }
    if size > 0 { copy.copyMemory(from: UnsafeRawBufferPointer(start: data, count: size)) }
    body(copy)
}

/// Fails the run (libFuzzer reports it as a crash) when an invariant breaks.
func require(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("\(message)") }
}

/// True when `inner` lies within `outer`.
func within(_ inner: UnsafeMutableRawBufferPointer, _ outer: UnsafeMutableRawBufferPointer) -> Bool {
    guard inner.count > 0 else { return true }
    guard let innerStart = inner.baseAddress, let outerStart = outer.baseAddress else { return false }
    return innerStart >= outerStart && innerStart + inner.count <= outerStart + outer.count
}
