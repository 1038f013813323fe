import XCTest
import WoofTestSupport
@testable import WoofCore
import WoofIO

final class AdamWTests: XCTestCase {
    /// Two steps against torch.optim.AdamW (../shared/golden/adamw.safetensors).
    func testMatchesTorchAdamW() throws {
        let f = try SafeTensorsFile(path: sharedPath("golden/adamw.safetensors"))
        let lr = Float(f.metadata["lr"]!)!, wd = Float(f.metadata["weight_decay"]!)!
        let b1 = Float(f.metadata["beta1"]!)!, b2 = Float(f.metadata["beta2"]!)!, eps = Float(f.metadata["eps"]!)!
        var p = try f.tensor("p0").data
        let n = p.count
        let opt = AdamW(count: n, beta1: b1, beta2: b2, eps: eps, weightDecay: wd)
        for (g, want) in [("g1", "p1"), ("g2", "p2")] {
            let grad = try f.tensor(g).data
            p.withUnsafeMutableBufferPointer { pp in
                grad.withUnsafeBufferPointer { gp in opt.update(params: pp.baseAddress!, grads: gp.baseAddress!, decayCount: n, lr: lr) }
            }
            let ref = try f.tensor(want).data
            let maxErr = zip(p, ref).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(maxErr, 1e-6, "\(want): max abs error \(maxErr)")
        }
    }

    func testNoDecayRangeIsNotDecayed() {
        var p: [Float] = [1, 1]; let g: [Float] = [0, 0]
        let opt = AdamW(count: 2, weightDecay: 0.5)
        p.withUnsafeMutableBufferPointer { opt.update(params: $0.baseAddress!, grads: g, decayCount: 1, lr: 0.1) }
        XCTAssertEqual(p[0], 0.95, accuracy: 1e-7)
        XCTAssertEqual(p[1], 1)
    }
}

