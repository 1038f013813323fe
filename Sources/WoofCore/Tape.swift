/// One recorded operation: its inputs, output and whatever the forward saved for the
/// backward. The gradient rule for each case is in `Gradients.swift`.
enum TapeOp {
    case linear(x: Tensor, w: Tensor, b: Tensor?, fusion: LinearFusion, y: Tensor)
    case loraLinear(x: Tensor, w: Tensor, b: Tensor?, a: Tensor, bUp: Tensor, scale: Float,
                    u: UnsafeMutablePointer<Float>, wEff: UnsafeMutablePointer<Float>, fusion: LinearFusion, y: Tensor)
    case layerNorm(x: Tensor, g: Tensor, b: Tensor, mean: UnsafeMutablePointer<Float>,
                   rstd: UnsafeMutablePointer<Float>, y: Tensor)
    case gelu(x: Tensor, y: Tensor)
    case add(a: Tensor, b: Tensor, y: Tensor)
    case softmax(x: Tensor, y: Tensor)
    case attention(qkv: Tensor, heads: Int, probs: Tensor?, y: Tensor)
    case patchEmbed(images: Tensor, w: Tensor, b: Tensor, cols: UnsafeMutablePointer<Float>,
                    patch: Int, y: Tensor)
    case embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, y: Tensor)
    case selectToken(x: Tensor, index: Int, y: Tensor)
    case crossEntropy(logits: Tensor, labels: [Int32], probs: UnsafeMutablePointer<Float>,
                      smoothing: Float, y: Tensor)
}

/// A reverse-mode autograd tape with an arena for one step's memory.
///
/// Ops (`Ops.swift`) compute their output in the arena and, when any input requires a
/// gradient and recording is on, append a `TapeOp`. `backward(_:)` seeds the loss gradient
/// and applies each op's gradient rule in reverse order. `reset()` clears the tape and
/// recycles the arena: tensors made by the tape are invalid afterwards.
public final class Tape {
    var ops: [TapeOp] = []
    public let arena = Arena()
    /// When false, ops record nothing (inference).
    public var isRecording = true
    /// When true, `backward` keeps each attention op's ∂/∂probabilities in its `probs`
    /// tensor's `grad` (Chefer et al.'s gradient-weighted attention needs them; training does not).
    public var keepsAttentionGradients = false
    /// Called by each attention op with its probabilities [B, heads, T, T] after the softmax
    /// and before they weight the values; it may change them (finite-difference checks of
    /// the attention gradients). Off (nil) in training and inference.
    public var attentionProbe: ((Tensor) -> Void)?
    /// When set, every op's forward and backward time is accumulated here.
    public var profiler: OpProfiler?
    /// Called during `backward` for each leaf tensor that requires a gradient (a trainable
    /// parameter) as soon as its gradient is final — the data-parallel trainer starts that
    /// gradient's allreduce then, overlapping communication with the rest of the backward.
    public var onLeafGradientReady: ((Tensor) -> Void)?
    /// Uses of each leaf still to be back-propagated (filled while recording).
    private var pendingLeafUses: [ObjectIdentifier: (tensor: Tensor, uses: Int)] = [:]
    /// Gradient buffers of intermediate tensors whose op has been back-propagated, by
    /// length: the next gradient of that length reuses one instead of growing the arena,
    /// so the backward pass holds a few live gradients rather than one per activation.
    private var gradPool: [Int: [UnsafeMutablePointer<Float>]] = [:]

    public init() { _ = Parallel.blasSingleThreaded }

    /// A new arena tensor; its gradient is allocated on first use in `backward`.
    public func tensor(_ shape: [Int], requiresGrad: Bool, zeroed: Bool = false) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, data: zeroed ? arena.zeros(n) : arena.floats(n), grad: nil,
                      requiresGrad: requiresGrad && isRecording, owner: arena)
    }

    /// Copies `values` into a new arena tensor (an input batch). `requiresGrad` makes the ops
    /// record even when no parameter is trainable, so activations get gradients (explaining a
    /// frozen model).
    public func input(_ values: UnsafePointer<Float>, shape: [Int], requiresGrad: Bool = false) -> Tensor {
        let t = tensor(shape, requiresGrad: requiresGrad)
        t.data.update(from: values, count: t.count)
        return t
    }

    @inline(__always) func record(_ op: TapeOp) {
        guard isRecording else { return }
        ops.append(op)
        if onLeafGradientReady != nil {
            for t in op.inputs where t.isLeaf && t.requiresGrad {
                pendingLeafUses[ObjectIdentifier(t), default: (t, 0)].uses += 1
            }
        }
    }

    /// The gradient buffer of `t`, zero-filled on first use (for rules that add into parts of it).
    @inline(__always) func gradOf(_ t: Tensor) -> UnsafeMutablePointer<Float> {
        let (g, fresh) = gradSlot(t)
        if fresh { g.initialize(repeating: 0, count: t.count) }
        return g
    }

    /// The gradient buffer of `t` for a rule that writes all of it. `fresh` means it holds
    /// garbage and the rule must store (`=`, gemm β 0) instead of accumulate: that saves
    /// zero-filling and re-reading every activation gradient once per step.
    @inline(__always) func gradSlot(_ t: Tensor) -> (grad: UnsafeMutablePointer<Float>, fresh: Bool) {
        if let g = t.grad { return (g, false) }
        let g = gradPool[t.count]?.popLast() ?? arena.floats(t.count)
        t.grad = g
        return (g, true)
    }

    /// Returns an intermediate tensor's gradient to the pool once nothing will read it.
    @inline(__always) func releaseGrad(_ t: Tensor) {
        guard !t.isLeaf, let g = t.grad else { return }
        t.grad = nil
        gradPool[t.count, default: []].append(g)
    }

    /// Backpropagates from a scalar `loss` (seed 1).
    public func backward(_ loss: Tensor) {
        precondition(loss.count == 1, "backward() needs a scalar loss, got shape \(loss.shape)")
        backward(from: loss, seed: [1])
    }

    /// Backpropagates from `output` with upstream gradient `seed` (used by gradient checks).
    public func backward(from output: Tensor, seed: [Float]) {
        precondition(seed.count == output.count)
        guard output.requiresGrad else { return }
        let g = gradOf(output)
        for i in 0..<seed.count { g[i] += seed[i] }
        for op in ops.reversed() {
            applyGradient(op)
            // Every consumer of the op's output ran earlier in this reversed order.
            releaseGrad(op.output)
            if let hook = onLeafGradientReady {
                for t in op.inputs where t.isLeaf && t.requiresGrad {
                    let id = ObjectIdentifier(t)
                    guard var entry = pendingLeafUses[id] else { continue }
                    entry.uses -= 1
                    if entry.uses == 0 { pendingLeafUses[id] = nil; hook(t) } else { pendingLeafUses[id] = entry }
                }
            }
        }
        ops.removeAll(keepingCapacity: true)
        pendingLeafUses.removeAll(keepingCapacity: true)
    }

    /// Drops the recorded ops and recycles all arena memory.
    public func reset() {
        ops.removeAll(keepingCapacity: true)
        pendingLeafUses.removeAll(keepingCapacity: true)
        gradPool.removeAll(keepingCapacity: true)
        arena.reset()
    }

    public var recordedOpCount: Int { ops.count }
}
