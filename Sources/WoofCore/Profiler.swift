import Foundation

/// Wall time per op kind, forward and backward separately (`woof-dist bench --profile`).
public final class OpProfiler {
    public private(set) var forward: [String: Double] = [:]
    public private(set) var backward: [String: Double] = [:]
    public init() {}

    func add(_ name: String, _ seconds: Double, backward isBackward: Bool) {
        if isBackward { backward[name, default: 0] += seconds } else { forward[name, default: 0] += seconds }
    }

    public func reset() { forward = [:]; backward = [:] }

    /// A table of op kinds by time, with each one's share of the total.
    public func table() -> String {
        let rows = forward.map { ("\($0.key) fwd", $0.value) } + backward.map { ("\($0.key) bwd", $0.value) }
        let total = rows.reduce(0) { $0 + $1.1 }
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        var out = pad("op", 20) + "    seconds   share\n"
        for (name, t) in rows.sorted(by: { $0.1 > $1.1 }) {
            out += pad(name, 20) + String(format: " %10.3f %6.1f%%\n", t, 100 * t / max(total, 1e-12))
        }
        return out + pad("total", 20) + String(format: " %10.3f\n", total)
    }
}

/// Times one op when the tape has a profiler; costs a nil check otherwise.
struct ProfileScope {
    let profiler: OpProfiler?
    let name: String
    let start: UInt64
    let isBackward: Bool
    @inline(__always) init(_ tape: Tape, _ name: String, backward: Bool = false) {
        profiler = tape.profiler
        self.name = name
        isBackward = backward
        start = profiler == nil ? 0 : DispatchTime.now().uptimeNanoseconds
    }
    @inline(__always) func end() {
        guard let profiler else { return }
        profiler.add(name, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, backward: isBackward)
    }
}

extension TapeOp {
    var name: String {
        switch self {
        case .linear: return "linear"
        case .loraLinear: return "loraLinear"
        case .layerNorm: return "layerNorm"
        case .gelu: return "gelu"
        case .add: return "add"
        case .softmax: return "softmax"
        case .attention: return "attention"
        case .patchEmbed: return "patchEmbed"
        case .embedTokens: return "embedTokens"
        case .selectToken: return "selectToken"
        case .crossEntropy: return "crossEntropy"
        }
    }
}

extension TapeOp {
    /// The op's input tensors (those a gradient can flow to).
    var inputs: [Tensor] {
        switch self {
        case let .linear(x, w, b, fusion, _): return [x, w] + (b.map { [$0] } ?? []) + (fusion.residual.map { [$0] } ?? [])
        case let .loraLinear(x, w, b, a, bUp, _, _, _, fusion, _):
            return [x, w, a, bUp] + (b.map { [$0] } ?? []) + (fusion.residual.map { [$0] } ?? [])
        case let .layerNorm(x, g, b, _, _, _): return [x, g, b]
        case let .gelu(x, _): return [x]
        case let .add(a, b, _): return [a, b]
        case let .softmax(x, _): return [x]
        case let .attention(qkv, _, _, _): return [qkv]
        case let .patchEmbed(images, w, b, _, _, _): return [images, w, b]
        case let .embedTokens(patches, cls, pos, _): return [patches, cls, pos]
        case let .selectToken(x, _, _): return [x]
        case let .crossEntropy(logits, _, _, _, _): return [logits]
        }
    }

    /// The op's output: its gradient is dead once the op's rule has run.
    var output: Tensor {
        switch self {
        case let .linear(_, _, _, _, y): return y
        case let .loraLinear(_, _, _, _, _, _, _, _, _, y): return y
        case let .layerNorm(_, _, _, _, _, y): return y
        case let .gelu(_, y): return y
        case let .add(_, _, y): return y
        case let .softmax(_, y): return y
        case let .attention(_, _, _, y): return y
        case let .patchEmbed(_, _, _, _, _, y): return y
        case let .embedTokens(_, _, _, y): return y
        case let .selectToken(_, _, y): return y
        case let .crossEntropy(_, _, _, _, y): return y
        }
    }
}
