import Testing
@testable import KernelCore

/// A heap over a private buffer, released when the test ends.
final class HeapFixture {
    let memory: UnsafeMutableRawPointer
    let size: Int
    var heap: Heap

    init(size: Int = 1 << 20, offset: Int = 0) {
        self.size = size
        memory = UnsafeMutableRawPointer.allocate(byteCount: size + 64, alignment: 4096)
        heap = Heap(start: memory + offset, byteCount: size)
    }

    deinit { memory.deallocate() }

    /// Non-mutating from the caller's side, so it can sit inside `#expect`.
    func allocate(_ size: Int, alignment: Int = 16) -> UnsafeMutableRawPointer? {
        heap.allocate(byteCount: size, alignment: alignment)
    }
}

/// Deterministic pseudo-random numbers for property tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct HeapTests {
    @Test func allocationsAreUsableAlignedAndDisjoint() throws {
        let fixture = HeapFixture()
        var blocks: [(UnsafeMutableRawPointer, Int, UInt8)] = []
        for (index, size) in [1, 16, 17, 100, 2000, 4000, 5000, 70_000].enumerated() {
            let block = try #require(fixture.allocate(size))
            #expect(UInt(bitPattern: block) % 16 == 0)
            #expect(fixture.heap.usableSize(of: block) >= size)
            block.initializeMemory(as: UInt8.self, repeating: UInt8(index + 1), count: size)
            blocks.append((block, size, UInt8(index + 1)))
        }
        for (block, size, fill) in blocks {
            let bytes = UnsafeRawBufferPointer(start: block, count: size)
            #expect(bytes.allSatisfy { $0 == fill }, "a later allocation overwrote an earlier one")
        }
        #expect(fixture.heap.verify() == nil)
    }

    @Test(arguments: [32, 64, 256, 4096, 65536])
    func honoursLargeAlignments(alignment: Int) throws {
        let fixture = HeapFixture(offset: 16)
        var blocks: [UnsafeMutableRawPointer] = []
        for size in [8, 300, 5000] {
            let block = try #require(fixture.allocate(size, alignment: alignment))
            #expect(UInt(bitPattern: block) % UInt(alignment) == 0)
            blocks.append(block)
        }
        #expect(fixture.heap.verify() == nil)
        for block in blocks { try fixture.heap.deallocate(block) }
        #expect(fixture.heap.verify() == nil)
        #expect(fixture.heap.statistics.inUse == 0)
    }

    @Test func freedMemoryIsReused() throws {
        let fixture = HeapFixture()
        let small = try #require(fixture.allocate(40))
        try fixture.heap.deallocate(small)
        #expect(fixture.allocate(40) == small)
        let large = try #require(fixture.allocate(100_000))
        try fixture.heap.deallocate(large)
        #expect(fixture.allocate(100_000) == large)
    }

    @Test func largeFreesCoalesceBackToOneChunk() throws {
        let fixture = HeapFixture()
        let before = fixture.heap.largestFreeChunk
        let blocks = (0..<20).map { _ in fixture.allocate(20_000)! }
        #expect(fixture.heap.largestFreeChunk < before)
        // Free in an order that needs merging on both sides.
        for index in stride(from: 0, to: 20, by: 2) { try fixture.heap.deallocate(blocks[index]) }
        for index in stride(from: 1, to: 20, by: 2) { try fixture.heap.deallocate(blocks[index]) }
        #expect(fixture.heap.largestFreeChunk == before)
        #expect(fixture.heap.verify() == nil)
    }

    @Test func rejectsDoubleFreeAndForeignPointers() throws {
        let fixture = HeapFixture()
        let small = try #require(fixture.allocate(24))
        let large = try #require(fixture.allocate(50_000))
        try fixture.heap.deallocate(small)
        try fixture.heap.deallocate(large)
        #expect(throws: HeapError.doubleFree(address: UInt(bitPattern: small))) { try fixture.heap.deallocate(small) }
        #expect(throws: HeapError.doubleFree(address: UInt(bitPattern: large))) { try fixture.heap.deallocate(large) }
        var local = 0
        withUnsafeMutablePointer(to: &local) { pointer in
            #expect(throws: HeapError.self) { try fixture.heap.deallocate(UnsafeMutableRawPointer(pointer)) }
        }
        let inside = try #require(fixture.allocate(512))
        #expect(throws: HeapError.self) { try fixture.heap.deallocate(inside + 16) }
        #expect(fixture.heap.verify() == nil, "rejected frees must leave the heap intact")
    }

    @Test func detectsAnOverwrittenHeader() throws {
        let fixture = HeapFixture()
        let block = try #require(fixture.allocate(5000))
        (block - 8).storeBytes(of: 0x4141_4141_4141_4141 as UInt64, as: UInt64.self)
        #expect(fixture.heap.verify() != nil)
        #expect(throws: HeapError.self) { try fixture.heap.deallocate(block) }
    }

    @Test func exhaustionFailsCleanlyAndIsCounted() throws {
        let fixture = HeapFixture(size: 256 * 1024)
        #expect(fixture.allocate(1 << 20) == nil)
        var blocks: [UnsafeMutableRawPointer] = []
        while let block = fixture.allocate(1000) { blocks.append(block) }
        #expect(fixture.heap.statistics.failedAllocations == 2)
        #expect(blocks.count >= 140, "small-class runs should use most of the region")
        for block in blocks { try fixture.heap.deallocate(block) }
        #expect(fixture.heap.statistics.inUse == 0)
        #expect(fixture.heap.verify() == nil)
    }

    /// What the kernel's out-of-memory panic prints: the request and the
    /// heap's figures at the moment it failed.
    @Test func exhaustionReportsTheRequestAndTheHeapsFigures() throws {
        let fixture = HeapFixture(size: 256 * 1024)
        var blocks: [UnsafeMutableRawPointer] = []
        while let block = fixture.allocate(20_000) { blocks.append(block) }
        let report = fixture.heap.exhaustion(requested: 20_000, alignment: 16)
        // 13 chunks of 20,016 bytes fill 260,208 of the 262,016 managed; 1,808 stay free.
        #expect(blocks.count == 13)
        #expect(report == Heap.Exhaustion(requested: 20_000, alignment: 16, inUse: 260_208, capacity: 262_016, largestFree: 1_792))
        #expect(report.inUse == fixture.heap.statistics.inUse && report.largestFree == fixture.heap.largestFreeChunk)
        var text = ByteText()
        report.write(to: &text)
        #expect(String(decoding: text.bytes, as: UTF8.self)
            == "out of memory: 20000 bytes requested, heap 254.1 KiB in use of 255.8 KiB, largest free block 1.7 KiB")
        var aligned = ByteText()
        fixture.heap.exhaustion(requested: 100, alignment: 4096).write(to: &aligned)
        #expect(String(decoding: aligned.bytes, as: UTF8.self).hasPrefix("out of memory: 100 bytes requested aligned to 4096, heap "))
    }

    @Test func statisticsTrackUseAndPeak() throws {
        let fixture = HeapFixture()
        let capacity = fixture.heap.statistics.capacity
        let a = try #require(fixture.allocate(100))
        let b = try #require(fixture.allocate(10_000))
        let used = fixture.heap.statistics.inUse
        #expect(used >= 10_100)
        #expect(fixture.heap.statistics.free == capacity - used)
        try fixture.heap.deallocate(b)
        try fixture.heap.deallocate(a)
        #expect(fixture.heap.statistics.inUse == 0)
        #expect(fixture.heap.statistics.peak == used)
        #expect(fixture.heap.statistics.allocations == 2)
        #expect(fixture.heap.statistics.frees == 2)
    }

    @Test func anEmptyHeapSatisfiesNothing() {
        var heap = Heap()
        let nothing = heap.allocate(byteCount: 1)
        #expect(nothing == nil)
        let fixture = HeapFixture(size: 64)
        #expect(fixture.allocate(1) == nil)
    }

    /// Random allocate/free sequences against a model: contents survive,
    /// the heap verifies after every step, and freeing everything returns
    /// every byte.
    @Test(arguments: [1, 2, 3, 4, 5])
    func randomWorkloadsKeepTheHeapConsistent(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        let fixture = HeapFixture(size: 4 << 20)
        var live: [(pointer: UnsafeMutableRawPointer, size: Int, fill: UInt8)] = []
        for step in 0..<3000 {
            if live.isEmpty || random.next() % 100 < 55 {
                let size = random.next() % 4 == 0 ? Int(random.next() % 40_000) : Int(random.next() % 600)
                let alignment = 1 << Int(random.next() % 13)
                guard let pointer = fixture.allocate(size, alignment: alignment) else { continue }
                #expect(UInt(bitPattern: pointer) % UInt(max(alignment, 16)) == 0)
                let fill = UInt8(truncatingIfNeeded: step)
                pointer.initializeMemory(as: UInt8.self, repeating: fill, count: size)
                live.append((pointer, size, fill))
            } else {
                let victim = live.remove(at: Int(random.next() % UInt64(live.count)))
                let bytes = UnsafeRawBufferPointer(start: victim.pointer, count: victim.size)
                #expect(bytes.allSatisfy { $0 == victim.fill })
                try fixture.heap.deallocate(victim.pointer)
            }
            if step % 100 == 0 { #expect(fixture.heap.verify() == nil) }
        }
        for block in live { try fixture.heap.deallocate(block.pointer) }
        #expect(fixture.heap.statistics.inUse == 0)
        #expect(fixture.heap.verify() == nil)
    }
}
