/// All parameters of a model in one contiguous buffer, and the gradients of the trainable
/// ones in a second, addressed by timm's names (as llm.c keeps them): the optimizer and the
/// allreduce work on flat ranges, never on per-tensor lists.
///
/// Layout: trainable tensors with weight decay, then trainable without decay (1-D tensors:
/// biases, norms, cls_token, pos_embed), then frozen ones. `grads` covers exactly the
/// trainable prefix, so a parameter's gradient sits at the same offset as its value.
public final class ParameterStore {
    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public let count: Int
        public let trainable: Bool
        public let decay: Bool
    }

    /// A parameter to be placed in a store.
    public struct Spec {
        public let name: String
        public let shape: [Int]
        public let trainable: Bool
        public init(_ name: String, _ shape: [Int], trainable: Bool) {
            self.name = name; self.shape = shape; self.trainable = trainable
        }
        /// Decay goes to matrices only (≥ 2-D with more than one row of weights).
        var decay: Bool { shape.count >= 2 && !(name == "cls_token" || name == "pos_embed" || name.hasSuffix("dist_token")) }
    }

    public let entries: [Entry]
    private let index: [String: Int]
    private let views: [Tensor]
    public let values: UnsafeMutablePointer<Float>
    public let grads: UnsafeMutablePointer<Float>
    public let count: Int
    public let trainableCount: Int
    /// Trainable elements with weight decay occupy `0..<decayCount`.
    public let decayCount: Int

    public init(_ specs: [Spec]) {
        var seen = Set<String>()
        for s in specs { precondition(seen.insert(s.name).inserted, "duplicate parameter \(s.name)") }
        let ordered = specs.filter { $0.trainable && $0.decay } + specs.filter { $0.trainable && !$0.decay }
            + specs.filter { !$0.trainable }
        var entries: [Entry] = []
        var offset = 0, trainable = 0, decay = 0
        for s in ordered {
            let n = s.shape.reduce(1, *)
            entries.append(Entry(name: s.name, shape: s.shape, offset: offset, count: n, trainable: s.trainable, decay: s.trainable && s.decay))
            offset += n
            if s.trainable { trainable += n; if s.decay { decay += n } }
        }
        self.entries = entries
        count = offset; trainableCount = trainable; decayCount = decay
        values = .allocate(capacity: max(count, 1)); values.initialize(repeating: 0, count: max(count, 1))
        grads = .allocate(capacity: max(trainable, 1)); grads.initialize(repeating: 0, count: max(trainable, 1))
        var idx: [String: Int] = [:]
        for (i, e) in entries.enumerated() { idx[e.name] = i }
        index = idx
        let (v, g) = (values, grads)
        views = entries.map { Tensor.view(shape: $0.shape, data: v + $0.offset, grad: $0.trainable ? g + $0.offset : nil) }
    }

    deinit { values.deallocate(); grads.deallocate() }

    /// The tensor view of parameter `name` (a programming error if absent).
    public subscript(name: String) -> Tensor {
        guard let i = index[name] else { preconditionFailure("no parameter named \(name)") }
        return views[i]
    }
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }
    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func zeroGrads() { grads.update(repeating: 0, count: trainableCount) }

    /// Copies `values` into parameter `name`.
    public func set(_ name: String, _ data: [Float]) {
        let t = self[name]
        precondition(data.count == t.count, "\(name): \(data.count) values for shape \(t.shape)")
        data.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
    }

    public var trainableNames: [String] { entries.filter(\.trainable).map(\.name) }

    /// FNV-1a over the bytes of every parameter (used to check that ranks agree).
    public func checksum() -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let raw = UnsafeRawBufferPointer(start: values, count: count * 4)
        for byte in raw { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }
}
