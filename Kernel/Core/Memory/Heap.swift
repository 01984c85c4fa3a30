/// The kernel's general-purpose allocator, over one contiguous region.
///
/// Small requests (chunks up to 4 KiB) come from segregated size classes:
/// each class keeps a free list of equally sized chunks, refilled a run at a
/// time from the large pool. Freed small chunks go back to their class and
/// are reused by the next request of that class; runs are not returned to
/// the large pool.
///
/// Large requests are first-fit over an address-ordered free list. Freeing a
/// large chunk coalesces it with free neighbours, so the pool does not
/// fragment into unusable slivers.
///
/// Every chunk starts with a 16-byte header (size, tag). The tag records
/// whether the chunk is small or large and whether it is in use, which is
/// what lets `deallocate` reject double frees and foreign pointers instead of
/// corrupting the heap.
///
/// The heap keeps all of its bookkeeping inside the region it manages, so
/// the value itself is a few words and never allocates.
public struct Heap {
    /// What the allocator has handed out, in bytes of chunks (headers and
    /// rounding included, since that memory is not available either).
    public struct Statistics: Equatable, Sendable {
        public var capacity: UInt = 0
        public var inUse: UInt = 0
        public var peak: UInt = 0
        public var allocations: UInt64 = 0
        public var frees: UInt64 = 0
        public var failedAllocations: UInt64 = 0

        public var free: UInt { capacity - inUse }
    }

    public static let headerSize: UInt = 16
    public static let granule: UInt = 16
    static let minimumChunk: UInt = 32
    static let classTableSize: UInt = 128
    static let classCount = 15
    /// Small runs are carved out of the large pool this many bytes at a time.
    static let runSize: UInt = 16 * 1024

    static let tagMask: UInt64 = 0xFFFF_FFFF_FFFF_FF00
    static let tagSmallUsed: UInt64 = 0x5CE7_7E55_A110_C500
    static let tagSmallFree: UInt64 = 0x5CE7_7E55_F4EE_5500
    static let tagLargeUsed: UInt64 = 0x5CE7_7E55_A110_CB00
    static let tagLargeFree: UInt64 = 0x5CE7_7E55_F4EE_B900
    static let tagRun: UInt64 = 0x5CE7_7E55_7E57_2500

    /// Chunk size (header included) of each small class.
    static func classSize(_ index: Int) -> UInt {
        switch index {
        case 0: return 32
        case 1: return 48
        case 2: return 64
        case 3: return 96
        case 4: return 128
        case 5: return 192
        case 6: return 256
        case 7: return 384
        case 8: return 512
        case 9: return 768
        case 10: return 1024
        case 11: return 1536
        case 12: return 2048
        case 13: return 3072
        default: return 4096
        }
    }

    static func classIndex(forChunk size: UInt) -> Int? {
        var index = 0
        while index < classCount {
            if classSize(index) >= size { return index }
            index += 1
        }
        return nil
    }

    public private(set) var statistics = Statistics()
    private var regionStart: UInt = 0
    private var chunksStart: UInt = 0
    private var regionEnd: UInt = 0
    private var largeFreeHead: UInt = 0

    /// An empty heap that satisfies no request; `init(region:)` makes a usable one.
    public init() {}

    /// Manages `byteCount` bytes at `start`. The memory must stay valid and
    /// untouched by anyone else for the heap's lifetime.
    public init(start: UnsafeMutableRawPointer, byteCount: Int) {
        let first = Heap.alignUp(UInt(bitPattern: start), Heap.granule)
        let last = Heap.alignDown(UInt(bitPattern: start) + UInt(byteCount), Heap.granule)
        guard last > first + Heap.classTableSize + Heap.minimumChunk else { return }
        regionStart = first
        chunksStart = first + Heap.classTableSize
        regionEnd = last
        for index in 0..<Heap.classCount { setClassHead(index, 0) }
        let size = regionEnd - chunksStart
        writeHeader(chunksStart, size: size, tag: Heap.tagLargeFree)
        setNext(chunksStart, 0)
        largeFreeHead = chunksStart
        statistics.capacity = size
    }

    /// Memory for `byteCount` bytes aligned to `alignment` (a power of two),
    /// or nil when the heap cannot satisfy the request.
    public mutating func allocate(byteCount: Int, alignment: Int = 16) -> UnsafeMutableRawPointer? {
        guard byteCount >= 0, alignment > 0, alignment & (alignment - 1) == 0,
            UInt(byteCount) < regionEnd &- chunksStart
        else {
            statistics.failedAllocations += 1
            return nil
        }
        let need = Swift.max(Heap.alignUp(UInt(byteCount), Heap.granule) + Heap.headerSize, Heap.minimumChunk)
        let address: UInt
        if alignment <= Int(Heap.granule), let index = Heap.classIndex(forChunk: need) {
            guard let found = allocateSmall(classIndex: index) else {
                statistics.failedAllocations += 1
                return nil
            }
            address = found
        } else {
            guard let chunk = allocateLarge(chunkSize: need, alignment: Swift.max(UInt(alignment), Heap.granule), tag: Heap.tagLargeUsed)
            else {
                statistics.failedAllocations += 1
                return nil
            }
            address = chunk
            account(allocated: size(of: chunk))
        }
        statistics.allocations += 1
        return UnsafeMutableRawPointer(bitPattern: address + Heap.headerSize)
    }

    /// Returns memory from `allocate`. Foreign pointers and double frees are
    /// reported rather than followed.
    public mutating func deallocate(_ pointer: UnsafeMutableRawPointer) throws(HeapError) {
        let payload = UInt(bitPattern: pointer)
        guard payload & (Heap.granule - 1) == 0, payload >= chunksStart + Heap.headerSize, payload < regionEnd else {
            throw .foreignPointer(address: payload)
        }
        let chunk = payload - Heap.headerSize
        let tag = tagOf(chunk)
        switch tag & Heap.tagMask {
        case Heap.tagSmallUsed:
            let index = Int(tag & 0xFF)
            guard index < Heap.classCount, size(of: chunk) == Heap.classSize(index) else {
                throw .corruptHeader(address: payload)
            }
            writeHeader(chunk, size: Heap.classSize(index), tag: Heap.tagSmallFree | UInt64(index))
            setNext(chunk, classHead(index))
            setClassHead(index, chunk)
            statistics.inUse -= Heap.classSize(index)
        case Heap.tagLargeUsed:
            let chunkSize = size(of: chunk)
            guard chunkSize >= Heap.minimumChunk, chunk + chunkSize <= regionEnd else {
                throw .corruptHeader(address: payload)
            }
            statistics.inUse -= chunkSize
            releaseLarge(chunk, size: chunkSize)
        case Heap.tagSmallFree, Heap.tagLargeFree:
            throw .doubleFree(address: payload)
        default:
            throw .foreignPointer(address: payload)
        }
        statistics.frees += 1
    }

    /// The bytes usable at `pointer`, which is at least what was asked for.
    public func usableSize(of pointer: UnsafeMutableRawPointer) -> Int {
        Int(size(of: UInt(bitPattern: pointer) - Heap.headerSize) - Heap.headerSize)
    }

    /// The largest request the large pool could satisfy right now.
    public var largestFreeChunk: UInt {
        var largest: UInt = 0
        var chunk = largeFreeHead
        while chunk != 0 {
            largest = Swift.max(largest, size(of: chunk))
            chunk = next(of: chunk)
        }
        return largest > Heap.headerSize ? largest - Heap.headerSize : 0
    }

    /// The figures an out-of-memory report gives for a request this heap
    /// could not satisfy.
    public func exhaustion(requested byteCount: Int, alignment: Int) -> Exhaustion {
        Exhaustion(
            requested: UInt(truncatingIfNeeded: byteCount), alignment: UInt(truncatingIfNeeded: alignment),
            inUse: statistics.inUse, capacity: statistics.capacity, largestFree: largestFreeChunk)
    }

    /// A request the heap could not satisfy, and the heap's state when it failed.
    public struct Exhaustion: Equatable, Sendable {
        public var requested: UInt
        public var alignment: UInt
        public var inUse: UInt
        public var capacity: UInt
        /// The largest request the large pool could have satisfied.
        public var largestFree: UInt

        /// `out of memory: 16384 bytes requested, heap 63.9 MiB in use of
        /// 64.0 MiB, largest free block 12.0 KiB`, with the alignment when it
        /// is more than the heap's own.
        public func write<Sink: TextSink>(to sink: inout Sink) {
            sink.write("out of memory: ")
            sink.write(decimal: UInt64(requested))
            sink.write(" bytes requested")
            if alignment > Heap.granule {
                sink.write(" aligned to ")
                sink.write(decimal: UInt64(alignment))
            }
            sink.write(", heap ")
            sink.write(byteCount: UInt64(inUse))
            sink.write(" in use of ")
            sink.write(byteCount: UInt64(capacity))
            sink.write(", largest free block ")
            sink.write(byteCount: UInt64(largestFree))
        }
    }

    /// Walks every chunk of the region and every free list, checking that
    /// headers are intact, chunks tile the region exactly, free lists hold
    /// only free chunks, and the large free list is address-ordered and
    /// fully coalesced. Returns the first problem found.
    public func verify() -> HeapError? {
        var chunk = chunksStart
        var largeFreeSeen = 0
        var previousWasLargeFree = false
        while chunk < regionEnd {
            let chunkSize = size(of: chunk)
            guard chunkSize >= Heap.minimumChunk, chunkSize % Heap.granule == 0, chunk + chunkSize <= regionEnd else {
                return .corruptHeader(address: chunk + Heap.headerSize)
            }
            let kind = tagOf(chunk) & Heap.tagMask
            switch kind {
            case Heap.tagLargeFree:
                if previousWasLargeFree { return .uncoalesced(address: chunk + Heap.headerSize) }
                largeFreeSeen += 1
                previousWasLargeFree = true
            case Heap.tagLargeUsed:
                previousWasLargeFree = false
            case Heap.tagRun:
                previousWasLargeFree = false
                if let problem = verifyRun(chunk, size: chunkSize) { return problem }
            default:
                return .corruptHeader(address: chunk + Heap.headerSize)
            }
            chunk += chunkSize
        }
        var listed = 0
        var previous: UInt = 0
        var free = largeFreeHead
        while free != 0 {
            guard free > previous, tagOf(free) & Heap.tagMask == Heap.tagLargeFree else {
                return .corruptHeader(address: free + Heap.headerSize)
            }
            listed += 1
            previous = free
            free = next(of: free)
        }
        if listed != largeFreeSeen { return .corruptHeader(address: largeFreeHead + Heap.headerSize) }
        for index in 0..<Heap.classCount {
            var small = classHead(index)
            while small != 0 {
                guard tagOf(small) == Heap.tagSmallFree | UInt64(index) else {
                    return .corruptHeader(address: small + Heap.headerSize)
                }
                small = next(of: small)
            }
        }
        return nil
    }

    // MARK: Small classes

    private mutating func allocateSmall(classIndex index: Int) -> UInt? {
        if classHead(index) == 0 && !refill(classIndex: index) { return nil }
        let chunk = classHead(index)
        setClassHead(index, next(of: chunk))
        writeHeader(chunk, size: Heap.classSize(index), tag: Heap.tagSmallUsed | UInt64(index))
        account(allocated: Heap.classSize(index))
        return chunk
    }

    /// Carves a run from the large pool into chunks of one class.
    private mutating func refill(classIndex index: Int) -> Bool {
        let chunkSize = Heap.classSize(index)
        let runChunk = Swift.max(Heap.runSize, chunkSize * 4) + Heap.headerSize
        guard let run = allocateLarge(chunkSize: runChunk, alignment: Heap.granule, tag: Heap.tagRun) else {
            return false
        }
        let first = run + Heap.headerSize
        var remaining = (run + size(of: run) - first) / chunkSize
        var head = classHead(index)
        // Pushed in reverse so that the list hands out ascending addresses.
        while remaining > 0 {
            remaining -= 1
            let chunk = first + remaining * chunkSize
            writeHeader(chunk, size: chunkSize, tag: Heap.tagSmallFree | UInt64(index))
            setNext(chunk, head)
            head = chunk
        }
        setClassHead(index, head)
        return true
    }

    private func verifyRun(_ run: UInt, size runSize: UInt) -> HeapError? {
        var chunk = run + Heap.headerSize
        let end = run + runSize
        guard chunk < end else { return .corruptHeader(address: run + Heap.headerSize) }
        let tag = tagOf(chunk)
        let index = Int(tag & 0xFF)
        guard index < Heap.classCount else { return .corruptHeader(address: chunk + Heap.headerSize) }
        let chunkSize = Heap.classSize(index)
        while chunk + chunkSize <= end {
            let kind = tagOf(chunk)
            guard kind == Heap.tagSmallFree | UInt64(index) || kind == Heap.tagSmallUsed | UInt64(index),
                size(of: chunk) == chunkSize
            else { return .corruptHeader(address: chunk + Heap.headerSize) }
            chunk += chunkSize
        }
        return nil
    }

    // MARK: Large pool

    /// First fit over the address-ordered free list, splitting off a leading
    /// piece for alignment and a trailing piece when either is big enough to
    /// stand on its own.
    private mutating func allocateLarge(chunkSize need: UInt, alignment: UInt, tag: UInt64) -> UInt? {
        var previous: UInt = 0
        var chunk = largeFreeHead
        while chunk != 0 {
            let chunkSize = size(of: chunk)
            let following = next(of: chunk)
            var payload = Heap.alignUp(chunk + Heap.headerSize, alignment)
            if payload - Heap.headerSize != chunk && payload - Heap.headerSize - chunk < Heap.minimumChunk {
                payload = Heap.alignUp(chunk + Heap.headerSize + Heap.minimumChunk, alignment)
            }
            let start = payload - Heap.headerSize
            if start + need <= chunk + chunkSize {
                let lead = start - chunk
                var allocated = need
                var tail = chunk + chunkSize - (start + need)
                if tail < Heap.minimumChunk {
                    allocated += tail
                    tail = 0
                }
                var successor = following
                if tail > 0 {
                    let tailChunk = start + allocated
                    writeHeader(tailChunk, size: tail, tag: Heap.tagLargeFree)
                    setNext(tailChunk, following)
                    successor = tailChunk
                }
                if lead > 0 {
                    writeHeader(chunk, size: lead, tag: Heap.tagLargeFree)
                    setNext(chunk, successor)
                } else {
                    link(after: previous, to: successor)
                }
                writeHeader(start, size: allocated, tag: tag)
                return start
            }
            previous = chunk
            chunk = following
        }
        return nil
    }

    private mutating func releaseLarge(_ chunk: UInt, size chunkSize: UInt) {
        var previous: UInt = 0
        var following = largeFreeHead
        while following != 0 && following < chunk {
            previous = following
            following = next(of: following)
        }
        var merged = chunkSize
        var successor = following
        if following != 0 && chunk + chunkSize == following {
            merged += size(of: following)
            successor = next(of: following)
        }
        if previous != 0 && previous + size(of: previous) == chunk {
            writeHeader(previous, size: size(of: previous) + merged, tag: Heap.tagLargeFree)
            setNext(previous, successor)
        } else {
            writeHeader(chunk, size: merged, tag: Heap.tagLargeFree)
            setNext(chunk, successor)
            link(after: previous, to: chunk)
        }
    }

    private mutating func link(after previous: UInt, to chunk: UInt) {
        if previous == 0 { largeFreeHead = chunk } else { setNext(previous, chunk) }
    }

    private mutating func account(allocated bytes: UInt) {
        statistics.inUse += bytes
        if statistics.inUse > statistics.peak { statistics.peak = statistics.inUse }
    }

    // MARK: Raw words

    @inline(__always) private static func alignUp(_ value: UInt, _ alignment: UInt) -> UInt {
        (value + alignment - 1) & ~(alignment - 1)
    }

    @inline(__always) private static func alignDown(_ value: UInt, _ alignment: UInt) -> UInt {
        value & ~(alignment - 1)
    }

    @inline(__always) private func word(_ address: UInt) -> UInt {
        UnsafeRawPointer(bitPattern: address).unsafelyUnwrapped.load(as: UInt.self)
    }

    @inline(__always) private func setWord(_ address: UInt, _ value: UInt) {
        UnsafeMutableRawPointer(bitPattern: address).unsafelyUnwrapped.storeBytes(of: value, as: UInt.self)
    }

    @inline(__always) private func size(of chunk: UInt) -> UInt { word(chunk) }
    @inline(__always) private func tagOf(_ chunk: UInt) -> UInt64 { UInt64(word(chunk + 8)) }
    @inline(__always) private func next(of chunk: UInt) -> UInt { word(chunk + Heap.headerSize) }
    @inline(__always) private func setNext(_ chunk: UInt, _ value: UInt) { setWord(chunk + Heap.headerSize, value) }

    @inline(__always) private func writeHeader(_ chunk: UInt, size: UInt, tag: UInt64) {
        setWord(chunk, size)
        setWord(chunk + 8, UInt(tag))
    }

    @inline(__always) private func classHead(_ index: Int) -> UInt { word(regionStart + UInt(index) * 8) }
    @inline(__always) private func setClassHead(_ index: Int, _ chunk: UInt) {
        setWord(regionStart + UInt(index) * 8, chunk)
    }
}

/// Why a pointer could not be returned to the heap.
public enum HeapError: Error, Equatable, Sendable {
    /// Not a pointer this heap handed out.
    case foreignPointer(address: UInt)
    /// Already freed.
    case doubleFree(address: UInt)
    /// The chunk header has been overwritten.
    case corruptHeader(address: UInt)
    /// Two adjacent free chunks that should have been merged.
    case uncoalesced(address: UInt)
}
