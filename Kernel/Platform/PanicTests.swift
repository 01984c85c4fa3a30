/// Deliberate faults, selected with `panic-test=<kind>`, that prove each
/// route into the panic handler works on the real machine.
enum PanicTests {
    static func trigger(_ test: PanicTest) {
        console.write("panic-test: triggering ")
        console.line(test.name)
        switch test {
        case .pageFault:
            // Above the 4 GiB identity map: not present.
            let unmapped = UnsafeMutablePointer<UInt64>(bitPattern: 0x1_0000_0000 + 0xDEAD_0000).unsafelyUnwrapped
            unmapped.pointee = 0x5EED
        case .divideError:
            _ = raiseDivideError(opaqueZero())
        case .generalProtection:
            raiseGeneralProtection()
        case .breakpoint:
            raiseBreakpoint()
        case .overflow:
            let big = Int.max - Int(opaqueZero())
            sink = big + Int(opaqueZero() + 1)
        case .fatalError:
            fatalError("panic-test fatal error")
        case .precondition:
            precondition(opaqueZero() == 1, "panic-test precondition")
        case .doubleFree:
            let memory = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
            memory.deallocate()
            memory.deallocate()
        case .outOfMemory:
            // Megabyte blocks kept forever, as a leak would, until the heap runs out.
            while true {
                let block = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
                block.storeBytes(of: UInt(bitPattern: leaked), as: UInt.self)
                leaked = block
            }
        }
        Panic.halt("panic-test returned without faulting")
    }

    /// Zero the optimiser cannot see through, so the faults are not folded away.
    @inline(never)
    static func opaqueZero() -> UInt32 { UInt32(truncatingIfNeeded: Clock.now().nanoseconds & 0) | volatileZero }

    nonisolated(unsafe) static var volatileZero: UInt32 = 0
    nonisolated(unsafe) static var sink = 0
    /// The newest block of the out-of-memory test; each holds the address of the one before.
    nonisolated(unsafe) static var leaked: UnsafeMutableRawPointer?
}
