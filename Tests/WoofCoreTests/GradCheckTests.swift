import XCTest
import WoofTestSupport
@testable import WoofCore

/// Every op's gradient rule against central finite differences.
///
/// The loss is L = Σ y ⊙ R for a fixed random R, summed in Float64. Forward passes are
/// float32, so differences use a step of 1e-2 and the tolerance is 1e-2 relative on the
/// whole gradient vector; a wrong rule (missing term, transposed gemm, wrong scale) is off
/// by O(1) and cannot pass.
final class GradCheckTests: XCTestCase {
    var rng = SplitMix64(seed: 42)

    func randn(_ shape: [Int], std: Float = 1, requiresGrad: Bool = true) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor((0..<n).map { _ in rng.normal() * std }, shape: shape, requiresGrad: requiresGrad)
    }

    /// Checks d(Σ y⊙R)/d(input) for every input that requires a gradient.
    func check(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 1e-2, maxProbes: Int = 60,
               file: StaticString = #filePath, line: UInt = #line, _ f: (Tape, [Tensor]) -> Tensor) {
        let tape = Tape()
        let y = f(tape, inputs)
        var r = SplitMix64(seed: 7)
        let seed = (0..<y.count).map { _ in r.normal() }
        tape.backward(from: y, seed: seed)
        func objective() -> Double {
            let t = Tape(); t.isRecording = false
            let out = f(t, inputs)
            var s = 0.0
            for i in 0..<out.count { s += Double(out.data[i]) * Double(seed[i]) }
            return s
        }
        for (which, x) in inputs.enumerated() where x.requiresGrad {
            guard let g = x.grad else { XCTFail("input \(which) got no gradient", file: file, line: line); continue }
            let probes = x.count <= maxProbes ? Array(0..<x.count) : (0..<maxProbes).map { _ in Int(r.next() % UInt64(x.count)) }
            var num = 0.0, diff = 0.0
            for i in probes {
                let old = x.data[i]
                x.data[i] = old + eps; let fp = objective()
                x.data[i] = old - eps; let fm = objective()
                x.data[i] = old
                let numeric = (fp - fm) / (2 * Double(eps))
                num += numeric * numeric
                diff += (numeric - Double(g[i])) * (numeric - Double(g[i]))
            }
            let rel = diff.squareRoot() / max(num.squareRoot(), 1e-12)
            XCTAssertLessThan(rel, tol, "input \(which) shape \(x.shape): relative gradient error \(rel)", file: file, line: line)
            XCTAssertGreaterThan(num, 0, "input \(which): zero numerical gradient, the check is vacuous", file: file, line: line)
        }
    }

    func testLinear() {
        check([randn([2, 3, 5]), randn([4, 5]), randn([4])]) { t, v in t.linear(v[0], v[1], v[2]) }
        check([randn([3, 5]), randn([4, 5])]) { t, v in t.linear(v[0], v[1], nil) }
    }

    func testLoRALinear() {
        check([randn([2, 3, 6]), randn([5, 6]), randn([5]), randn([2, 6]), randn([5, 2])]) { t, v in
            t.loraLinear(v[0], v[1], v[2], a: v[3], bUp: v[4], scale: 2.5)
        }
    }

    /// 600 rows: the fused LoRA kernels split them into row blocks. The adapters' input is an
    /// intermediate feeding two of them, so its gradient is first stored (fresh), then added.
    func testLoRALinearAcrossRowBlocks() {
        check([randn([2, 300, 6]), randn([5, 6]), randn([5]), randn([2, 6]), randn([5, 2]), randn([3, 6]), randn([5, 3])],
              maxProbes: 120) { t, v in
            let h = t.gelu(v[0])
            return t.add(t.loraLinear(h, v[1], v[2], a: v[3], bUp: v[4], scale: 2.5),
                         t.loraLinear(h, v[1], nil, a: v[5], bUp: v[6], scale: 0.5))
        }
    }

    /// Rules store into fresh gradient buffers instead of zero-filling them, and buffers are
    /// recycled: every rule must overwrite all of a fresh buffer. With the arena poisoned by
    /// NaN first, any element a rule leaves unwritten shows up in the leaves' gradients.
    func testGradientsDoNotDependOnRecycledMemory() {
        let x = randn([2, 300, 6]), g = randn([6]), b = randn([6]), wq = randn([12, 6]), bq = randn([12])
        let w0 = randn([4, 6]), a = randn([2, 6]), bu = randn([4, 2]), w2 = randn([4, 4])
        let leaves = [x, g, b, wq, bq, w0, a, bu, w2]
        func run(_ t: Tape) -> [[Float]] {
            for l in leaves { l.grad!.initialize(repeating: 0, count: l.count) }
            let h = t.gelu(t.layerNorm(x, g, b))
            let att = t.attention(t.linear(h, wq, bq), heads: 2, keepProbabilities: false).out
            let r = t.add(att, t.loraLinear(h, w0, nil, a: a, bUp: bu, scale: 2))
            let r2 = t.loraLinear(h, w0, nil, a: a, bUp: bu, scale: 1, fusion: LinearFusion(geluInput: true, residual: r))
            let s = t.softmax(t.linear(r2, w2, nil, fusion: LinearFusion(geluInput: true, residual: r)))
            t.backward(t.crossEntropy(t.selectToken(s, index: 0), labels: [1, 3]))
            return leaves.map { $0.gradArray! }
        }
        let clean = run(Tape())
        let dirty = Tape(), n = 16 << 20
        dirty.arena.floats(n).initialize(repeating: .nan, count: n)
        dirty.reset()
        XCTAssertEqual(run(dirty), clean)
        dirty.reset()
        XCTAssertEqual(run(dirty), clean, "second step on the recycled arena")
    }

    func testFrozenWeightGetsNoGradientWork() {
        let x = randn([3, 6]), w = randn([5, 6], requiresGrad: false), b = randn([5], requiresGrad: false)
        let a = randn([2, 6]), bu = randn([5, 2])
        let tape = Tape()
        let y = tape.loraLinear(x, w, b, a: a, bUp: bu, scale: 1)
        tape.backward(from: y, seed: [Float](repeating: 1, count: y.count))
        XCTAssertNil(w.grad); XCTAssertNil(b.grad)
        XCTAssertNotNil(a.grad); XCTAssertNotNil(bu.grad)
    }

    func testLayerNorm() {
        check([randn([4, 7]), randn([7]), randn([7])]) { t, v in t.layerNorm(v[0], v[1], v[2], eps: 1e-6) }
    }

    func testGELU() { check([randn([3, 11], std: 2)]) { t, v in t.gelu(v[0]) } }

    func testAdd() { check([randn([3, 4]), randn([3, 4])]) { t, v in t.add(v[0], v[1]) } }

    func testSoftmax() { check([randn([3, 9])]) { t, v in t.softmax(v[0]) } }

    func testAttention() {
        // B 2, T 5, 2 heads of 4: qkv width 3·8.
        check([randn([2, 5, 24])], maxProbes: 240) { t, v in t.attention(v[0], heads: 2).out }
    }

    /// Without kept probabilities the backward recomputes them: same gradient, no [B, h, T, T] tensor.
    func testAttentionRecomputingProbabilities() {
        check([randn([2, 5, 24])], maxProbes: 240) { t, v in
            let (out, probs) = t.attention(v[0], heads: 2, keepProbabilities: false)
            XCTAssertNil(probs)
            return out
        }
        let qkv = randn([2, 7, 24]), seed = (0..<2 * 7 * 8).map { Float($0 % 5) - 2 }
        func gradient(keep: Bool) -> [Float] {
            qkv.grad!.initialize(repeating: 0, count: qkv.count)
            let t = Tape()
            t.backward(from: t.attention(qkv, heads: 2, keepProbabilities: keep).out, seed: seed)
            return qkv.gradArray!
        }
        _ = gradient(keep: true)
        XCTAssertEqual(gradient(keep: false), gradient(keep: true), "recomputed probabilities are the forward's, bit for bit")
    }

    /// fc2's fusion: GELU of the pre-activation read per row block, the residual added in the
    /// gemm. 600 rows span several row blocks; the pre-activation also feeds a second layer,
    /// so its gradient is stored first, then added to.
    func testLinearFusedWithGELUAndResidual() {
        check([randn([2, 300, 6], std: 2), randn([5, 6]), randn([5]), randn([2, 300, 5]), randn([5, 6])], maxProbes: 120) { t, v in
            let y = t.linear(v[0], v[1], v[2], fusion: LinearFusion(geluInput: true, residual: v[3]))
            return t.add(y, t.linear(v[0], v[4], nil))
        }
        check([randn([3, 6]), randn([6, 6]), randn([3, 6])]) { t, v in
            t.linear(v[0], v[1], nil, fusion: LinearFusion(residual: v[2]))
        }
    }

    func testLoRALinearFusedWithGELUAndResidual() {
        check([randn([2, 300, 6], std: 2), randn([5, 6]), randn([5]), randn([2, 6]), randn([5, 2]), randn([2, 300, 5]), randn([5, 6])],
              maxProbes: 120) { t, v in
            let y = t.loraLinear(v[0], v[1], v[2], a: v[3], bUp: v[4], scale: 2.5, fusion: LinearFusion(geluInput: true, residual: v[5]))
            return t.add(y, t.linear(v[0], v[6], nil))
        }
    }

    /// The fused layers compute what the separate ops do (to float rounding).
    func testFusedLinearMatchesSeparateOps() {
        let x = randn([2, 300, 6], std: 2), w = randn([5, 6]), b = randn([5]), res = randn([2, 300, 5])
        let a = randn([2, 6]), bu = randn([5, 2])
        let t = Tape()
        let fused = t.linear(x, w, b, fusion: LinearFusion(geluInput: true, residual: res))
        let separate = t.add(res, t.linear(t.gelu(x), w, b))
        let fusedLoRA = t.loraLinear(x, w, b, a: a, bUp: bu, scale: 2, fusion: LinearFusion(geluInput: true, residual: res))
        let separateLoRA = t.add(res, t.loraLinear(t.gelu(x), w, b, a: a, bUp: bu, scale: 2))
        for i in 0..<fused.count {
            XCTAssertEqual(fused.data[i], separate.data[i], accuracy: 1e-5 * (1 + abs(separate.data[i])))
            XCTAssertEqual(fusedLoRA.data[i], separateLoRA.data[i], accuracy: 1e-5 * (1 + abs(separateLoRA.data[i])))
        }
    }

    func testAttentionProbabilitiesAreSoftmax() {
        let qkv = randn([1, 4, 6], requiresGrad: false)
        let p = Tape().attention(qkv, heads: 1).probs!
        for r in 0..<4 {
            var s: Float = 0; for c in 0..<4 { s += p.data[r * 4 + c] }
            XCTAssertEqual(s, 1, accuracy: 1e-5)
        }
    }

    func testPatchEmbed() {
        check([randn([2, 2, 8, 8]), randn([3, 2, 4, 4]), randn([3])], maxProbes: 80) { t, v in
            t.patchEmbed(v[0], v[1], v[2], patch: 4)
        }
    }

    func testEmbedTokens() {
        check([randn([2, 4, 3]), randn([1, 1, 3]), randn([1, 5, 3])]) { t, v in t.embedTokens(v[0], cls: v[1], pos: v[2]) }
    }

    func testSelectToken() { check([randn([2, 4, 3])]) { t, v in t.selectToken(v[0], index: 0) } }

    func testCrossEntropy() {
        check([randn([4, 6])]) { t, v in t.crossEntropy(v[0], labels: [0, 5, 2, 2]) }
        check([randn([4, 6])]) { t, v in t.crossEntropy(v[0], labels: [1, 3, 2, 0], smoothing: 0.1) }
    }

    /// A chain of ops: gradients flow through several rules and accumulate at a fan-out.
    func testComposedBlock() {
        check([randn([2, 3, 6]), randn([18, 6], std: 0.3), randn([18]), randn([6]), randn([6]), randn([6, 6], std: 0.3)], maxProbes: 40) { t, v in
            let h = t.layerNorm(v[0], v[3], v[4])
            let (a, _) = t.attention(t.linear(h, v[1], v[2]), heads: 2)
            return t.add(v[0], t.gelu(t.linear(a, v[5], nil)))
        }
    }
}

final class FastMathTests: XCTestCase {
    func testFastExpAndErfAgreeWithLibm() {
        var worstExp: Float = 0, worstErf: Float = 0
        var x: Float = -90
        while x < 88 {
            let e = exp(Double(x))
            if e > 1e-37 { worstExp = max(worstExp, Float(abs(Double(fastExp(x)) - e) / e)) }
            if abs(x) < 10 { worstErf = max(worstErf, abs(fastErf(x) - Float(erf(Double(x))))) }
            x += 0.001953125
        }
        XCTAssertLessThan(worstExp, 5e-7, "fastExp worst relative error")
        XCTAssertLessThan(worstErf, 5e-7, "fastErf worst absolute error")
        XCTAssertEqual(fastExp(-200), 0)
        XCTAssertEqual(fastExp(0), 1)
    }
}
