import XCTest
import WoofTestSupport
@testable import WoofCore

/// The OpenBLAS kernel family chosen from /proc/cpuinfo's flags when OpenBLAS itself falls back.
final class BLASKernelsTests: XCTestCase {
    func testKernelFamilyFollowsTheCPUFlags() {
        let sapphire = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16\nbugs\t: x\n"
        XCTAssertEqual(BLASKernels.coreType(cpuFlags: BLASKernels.cpuFlags(cpuinfo: sapphire)), "SkylakeX")
        XCTAssertEqual(BLASKernels.coreType(cpuFlags: ["avx", "avx2", "fma", "avx512f"]), "Haswell")  // AVX-512 without BW/VL
        XCTAssertEqual(BLASKernels.coreType(cpuFlags: ["sse2", "avx"]), "SandyBridge")
        XCTAssertNil(BLASKernels.coreType(cpuFlags: ["sse2", "sse3"]))
        XCTAssertEqual(BLASKernels.cpuFlags(cpuinfo: "no flags here\n"), [])
    }

    /// Under the test runner (no restart), OpenBLAS reports some kernel family.
    func testOpenBLASReportsItsKernels() {
        XCTAssertFalse(BLASKernels.coreName.isEmpty)
    }
}
