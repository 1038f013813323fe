/// A float32 tensor over contiguous row-major storage.
///
/// Tensors do not own memory: activations live in a `Tape`'s arena (valid until the tape is
/// reset), parameters are views into a `ParameterStore`'s flat buffers, and standalone
/// tensors hold a `TensorStorage`. `grad` is non-nil only for tensors that require a gradient;
/// for intermediates it is taken during `backward()` from the tape's pool of gradient buffers
/// (the arena when the pool has none of that length) and returned to the pool once the op
/// that produced the tensor has run its rule.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    public internal(set) var grad: UnsafeMutablePointer<Float>?
    /// True when a gradient with respect to this tensor is wanted (trainable parameters and
    /// everything computed from them).
    public let requiresGrad: Bool
    /// True for tensors no op produced (parameters, inputs); their gradient is final once
    /// every op that used them has run its backward.
    public var isLeaf: Bool { !(owner is Arena) }
    /// Keeps the memory alive: a `TensorStorage`, or the `Arena` of the tape that made it.
    let owner: AnyObject?

    init(shape: [Int], data: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>?,
         requiresGrad: Bool, owner: AnyObject? = nil) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = data
        self.grad = grad
        self.requiresGrad = requiresGrad
        self.owner = owner
    }

    /// A standalone tensor that owns its (zeroed) memory, with its own gradient buffer when
    /// `requiresGrad`.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        let n = shape.reduce(1, *)
        let storage = TensorStorage(count: n, withGrad: requiresGrad)
        self.init(shape: shape, data: storage.data, grad: storage.grad, requiresGrad: requiresGrad, owner: storage)
    }

    /// A standalone tensor holding a copy of `values`.
    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.init(zeros: shape, requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A view of existing memory (for example a slot of a `ParameterStore`).
    public static func view(shape: [Int], data: UnsafeMutablePointer<Float>,
                            grad: UnsafeMutablePointer<Float>?) -> Tensor {
        Tensor(shape: shape, data: data, grad: grad, requiresGrad: grad != nil)
    }

    /// Number of rows when the last dimension is the feature dimension.
    @inlinable public var rows: Int { count / (shape.last ?? 1) }
    @inlinable public var lastDim: Int { shape.last ?? 1 }

    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    public var gradArray: [Float]? { grad.map { Array(UnsafeBufferPointer(start: $0, count: count)) } }
}

/// Heap memory for a standalone tensor (and its gradient), freed with the tensor.
final class TensorStorage {
    let data: UnsafeMutablePointer<Float>
    let grad: UnsafeMutablePointer<Float>?
    init(count: Int, withGrad: Bool) {
        data = .allocate(capacity: max(count, 1)); data.initialize(repeating: 0, count: max(count, 1))
        if withGrad {
            let g = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            g.initialize(repeating: 0, count: max(count, 1)); grad = g
        } else { grad = nil }
    }
    deinit { data.deallocate(); grad?.deallocate() }
}
