/// A bump allocator for one step's activations, gradients and scratch buffers.
///
/// `reset()` makes all memory reusable without freeing it; after the first step the arena
/// is one block of the step's peak size, so steady-state training allocates nothing.
public final class Arena {
    private var blocks: [(ptr: UnsafeMutableRawPointer, size: Int)] = []
    private var current = 0       // index of the block being filled
    private var offset = 0        // bytes used in the current block
    private var usedInEarlier = 0 // bytes used in blocks before `current`
    public private(set) var peakBytes = 0
    static let alignment = 64
    static let minBlock = 64 << 20

    public init() {}

    /// `count` floats, 64-byte aligned, uninitialised.
    public func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = (max(count, 1) * 4 + Arena.alignment - 1) & ~(Arena.alignment - 1)
        if blocks.isEmpty || offset + bytes > blocks[current].size {
            if !blocks.isEmpty { usedInEarlier += offset; current += 1 }
            offset = 0
            if current >= blocks.count || blocks[current].size < bytes {
                let size = max(bytes, Arena.minBlock)
                let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Arena.alignment)
                blocks.insert((p, size), at: current)
            }
        }
        let p = blocks[current].ptr + offset
        offset += bytes
        peakBytes = max(peakBytes, usedInEarlier + offset)
        return p.bindMemory(to: Float.self, capacity: count)
    }

    /// `count` floats set to zero.
    public func zeros(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = floats(count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// Forgets every allocation. If the last step spilled over several blocks they are
    /// replaced by one block large enough for the whole step.
    public func reset() {
        if blocks.count > 1 {
            let total = blocks.reduce(0) { $0 + $1.size }
            for b in blocks { b.ptr.deallocate() }
            blocks = [(UnsafeMutableRawPointer.allocate(byteCount: total, alignment: Arena.alignment), total)]
        }
        current = 0; offset = 0; usedInEarlier = 0
    }

    /// A point in the arena to return to (`rewind(to:)`).
    public struct Mark { fileprivate let current: Int, offset: Int, usedInEarlier: Int }

    public func mark() -> Mark { Mark(current: current, offset: offset, usedInEarlier: usedInEarlier) }

    /// Forgets every allocation made since `m`, keeping the blocks for the next ones: an
    /// inference pass reuses one block's activations for the next block.
    public func rewind(to m: Mark) {
        precondition(m.current < current || (m.current == current && m.offset <= offset), "rewind to a mark ahead of the arena")
        current = m.current; offset = m.offset; usedInEarlier = m.usedInEarlier
    }

    public var capacityBytes: Int { blocks.reduce(0) { $0 + $1.size } }

    deinit { for b in blocks { b.ptr.deallocate() } }
}
