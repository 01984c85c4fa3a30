/// A fixed-capacity byte ring: the send and receive buffers of one TCP
/// connection. `count` bytes are readable from the head; out-of-order data
/// may also be written past them (see `write(at:)`).
public struct ByteRing {
    public let capacity: Int
    private let storage: UnsafeMutableRawPointer
    private var head = 0
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    /// Frees the storage; the ring must not be used afterwards.
    public func release() { storage.deallocate() }

    public var free: Int { capacity - count }
    public var isEmpty: Bool { count == 0 }

    /// Appends as much of `bytes` as fits; returns how much.
    @discardableResult
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let taken = Swift.min(bytes.count, free)
        guard taken > 0, let base = bytes.baseAddress else { return 0 }
        copyIn(base, count: taken, at: count)
        count += taken
        return taken
    }

    /// Writes `bytes` at `offset` past the readable end without making them
    /// readable (out-of-order arrivals); the part beyond capacity is dropped.
    /// Returns the bytes stored.
    @discardableResult
    public mutating func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        let start = count + offset
        let taken = Swift.min(bytes.count, capacity - start)
        guard taken > 0, let base = bytes.baseAddress else { return 0 }
        copyIn(base, count: taken, at: start)
        return taken
    }

    /// Makes `length` bytes written with `write(at:)` readable.
    public mutating func commit(_ length: Int) {
        count = Swift.min(capacity, count + length)
    }

    /// Copies up to `destination.count` bytes from `offset` without consuming them.
    public func peek(from offset: Int, into destination: UnsafeMutableRawBufferPointer) -> Int {
        let taken = Swift.min(destination.count, count - offset)
        guard taken > 0, let base = destination.baseAddress else { return 0 }
        var done = 0
        while done < taken {
            let position = (head + offset + done) % capacity
            let chunk = Swift.min(taken - done, capacity - position)
            base.advanced(by: done).copyMemory(from: storage.advanced(by: position), byteCount: chunk)
            done += chunk
        }
        return taken
    }

    /// Reads and consumes up to `destination.count` bytes.
    public mutating func read(into destination: UnsafeMutableRawBufferPointer) -> Int {
        let taken = peek(from: 0, into: destination)
        discard(taken)
        return taken
    }

    /// Drops `length` bytes from the head.
    public mutating func discard(_ length: Int) {
        let dropped = Swift.min(length, count)
        head = (head + dropped) % capacity
        count -= dropped
    }

    private func copyIn(_ source: UnsafeRawPointer, count length: Int, at offset: Int) {
        var done = 0
        while done < length {
            let position = (head + offset + done) % capacity
            let chunk = Swift.min(length - done, capacity - position)
            storage.advanced(by: position).copyMemory(from: source.advanced(by: done), byteCount: chunk)
            done += chunk
        }
    }
}
