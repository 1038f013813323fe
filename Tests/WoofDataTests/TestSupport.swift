import Foundation
import XCTest
import WoofTestSupport
@testable import WoofData

/// 64-bit FNV-1a, used to compare images with hashes computed by Pillow.
func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
    return h
}

/// The synthetic RGB test pattern also generated (identically) in the Pillow reference script:
/// R = (37x + 91y + 7xy) mod 256, G = (11x + 15y + 17) mod 256, B = (29 (x xor y) + 100) mod 256.
func syntheticImage(width: Int, height: Int) -> RGBImage {
    var p = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let o = (y * width + x) * 3
            p[o] = UInt8((x * 37 + y * 91 + x * y * 7) % 256)
            p[o + 1] = UInt8((x * 11 + y * 15 + 17) % 256)
            p[o + 2] = UInt8(((x ^ y) * 29 + 100) % 256)
        }
    }
    return RGBImage(width: width, height: height, pixels: p)
}

/// Converts normalised CHW floats back to HWC bytes (exact for values the transform writes).
func denormalizeCHW(_ f: UnsafePointer<Float>, side: Int = 224) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: side * side * 3)
    for c in 0..<3 {
        for i in 0..<(side * side) {
            let v = (Double(f[c * side * side + i]) * 0.5 + 0.5) * 255
            out[i * 3 + c] = UInt8(max(0, min(255, v.rounded())))
        }
    }
    return out
}

/// A small valid RGB JPEG of the synthetic pattern.
func smallJPEG(width: Int = 40, height: Int = 30) -> Data {
    try! encodeJPEG(pixels: syntheticImage(width: width, height: height).pixels, width: width, height: height, components: 3)
}
