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
            keep(big + Int(opaqueZero() + 1))
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
            var leaked: UnsafeMutableRawPointer?
            while true {
                let block = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
                block.storeBytes(of: UInt(bitPattern: leaked), as: UInt.self)
                leaked = block
                keep(block)
            }
        }
        Panic.halt("panic-test returned without faulting")
    }

    /// Zero the optimiser cannot see through, so the faults are not folded
    /// away: no panic is in progress while a test is being triggered.
    @inline(never)
    static func opaqueZero() -> UInt32 { Machine.state.panicking ? 1 : 0 }

    /// Uses `value` where the optimiser cannot see, so computing it is never dropped.
    @inline(never) @_optimize(none)
    static func keep<Value>(_ value: Value) {}
}
