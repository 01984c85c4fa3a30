#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Tests that measure the whole process's live heap. Tests running in
/// parallel would show in the figure, so `scripts/test` runs these alone
/// (`--filter HeapBaseline`), one at a time, after the rest.
@Suite(.serialized) enum HeapBaseline {}

/// Live heap bytes of the whole process: glibc's `mallinfo2().uordblks`.
///
/// The Glibc module does not import <malloc.h>, so the function is found
/// with `dlsym`. It returns `struct mallinfo2` (ten `size_t`s) in memory:
/// under the x86-64 System V ABI the caller passes the result's address as
/// a hidden first argument, which is what this signature does.
func liveHeapBytes() -> Int {
    #if arch(x86_64) && canImport(Glibc)
    typealias MallInfo2 = @convention(c) (UnsafeMutablePointer<Int>) -> UnsafeMutableRawPointer?
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallinfo2") else {
        fatalError("glibc without mallinfo2")
    }
    var fields = [Int](repeating: 0, count: 10)
    _ = fields.withUnsafeMutableBufferPointer { unsafeBitCast(symbol, to: MallInfo2.self)($0.baseAddress!) }
    return fields[7]  // uordblks: bytes in use by allocations
    #else
    fatalError("liveHeapBytes needs glibc on x86-64")
    #endif
}

/// Runs `round` once to warm up (tables and queues reach their working
/// capacity), then measures the live heap around a second call. Other
/// suites allocate concurrently, so a measurement over `allowance` is
/// retried: a real leak exceeds it every time, noise does not.
func heapGrowth(allowance: Int, attempts: Int = 4, _ round: () -> Void) -> Int {
    round()
    var smallest = Int.max
    for _ in 0..<attempts {
        let before = liveHeapBytes()
        round()
        smallest = Swift.min(smallest, liveHeapBytes() - before)
        if smallest <= allowance { break }
    }
    return smallest
}
