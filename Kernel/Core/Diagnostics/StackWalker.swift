/// Follows the frame-pointer chain: each frame holds the caller's frame
/// pointer at [rbp] and the return address at [rbp + 8].
///
/// Memory is read through `read`, and only inside `stack`, so a corrupted
/// chain ends the walk instead of faulting inside the panic handler.
public enum StackWalker {
    public static func walk(
        framePointer: UInt64,
        stack: Range<UInt64>,
        maximumFrames: Int = 24,
        read: (UInt64) -> UInt64,
        visit: (UInt64) -> Void
    ) {
        var frame = framePointer
        var frames = 0
        while frames < maximumFrames, frame & 7 == 0, frame >= stack.lowerBound,
            frame <= stack.upperBound &- 16
        {
            let returnAddress = read(frame + 8)
            if returnAddress == 0 { return }
            visit(returnAddress)
            frames += 1
            let caller = read(frame)
            // The chain must move towards the stack's base; anything else is a loop or garbage.
            if caller <= frame { return }
            frame = caller
        }
    }
}
