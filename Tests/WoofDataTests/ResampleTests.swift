import XCTest
import WoofTestSupport
@testable import WoofData

/// Pillow-exactness of the resampler. Every expected value below was computed once with real
/// Pillow (`Image.resize(..., Image.BICUBIC)`, `crop`, `transpose(FLIP_LEFT_RIGHT)`) on the
/// same synthetic pattern (see `syntheticImage`) and pasted here as literals / FNV-1a hashes:
/// Pillow 12.3.0 for the default horizontal-first order, Pillow 13.0.0 for `.pillow13`
/// (13.0 changed the pass order for strong vertical reductions).
final class ResampleTests: XCTestCase {
    /// (width, height, outWidth, outHeight, Pillow's HWC bytes)
    static let smallCases: [(Int, Int, Int, Int, [UInt8])] = [
        (13, 9, 5, 7, [
            54, 28, 124, 132, 56, 214, 129, 85, 93, 82, 114, 82, 133, 142, 169, 158, 47, 142, 109, 75, 147, 119, 104, 126,
            145, 133, 114, 104, 161, 164, 101, 67, 164, 155, 95, 62, 140, 124, 168, 114, 153, 158, 148, 181, 87, 142, 86, 177,
            140, 114, 60, 146, 143, 160, 140, 172, 205, 132, 200, 96, 95, 105, 148, 131, 133, 111, 139, 162, 158, 109, 191, 162,
            146, 219, 153, 122, 125, 81, 111, 153, 216, 153, 182, 124, 143, 211, 147, 132, 245, 191, 140, 144, 98, 152, 172, 188,
            92, 201, 159, 115, 232, 114, 126, 108, 195]),
        (10, 10, 23, 4, [
            74, 28, 123, 82, 30, 123, 105, 35, 123, 123, 40, 127, 114, 45, 142, 103, 50, 159, 119, 55, 164, 148, 59, 164,
            147, 64, 167, 110, 69, 175, 88, 74, 181, 102, 79, 190, 125, 83, 186, 149, 88, 148, 171, 93, 94, 153, 98, 71,
            96, 102, 76, 69, 107, 83, 86, 112, 92, 114, 117, 99, 133, 122, 102, 147, 127, 103, 153, 129, 103, 100, 64, 204,
            106, 66, 205, 120, 71, 213, 134, 76, 202, 140, 81, 146, 143, 86, 83, 136, 91, 65, 124, 95, 72, 131, 100, 72,
            162, 105, 66, 175, 110, 62, 145, 115, 52, 115, 119, 58, 133, 124, 112, 169, 129, 188, 164, 134, 221, 125, 138, 218,
            106, 143, 208, 125, 148, 191, 142, 153, 176, 129, 158, 172, 108, 163, 173, 100, 165, 173, 118, 103, 113, 115, 105, 113,
            108, 110, 111, 105, 115, 113, 119, 120, 129, 132, 125, 146, 119, 130, 151, 93, 134, 150, 97, 139, 150, 138, 144, 152,
            160, 149, 153, 135, 154, 154, 110, 158, 153, 132, 163, 150, 172, 168, 145, 178, 173, 138, 155, 177, 128, 130, 182, 132,
            98, 187, 163, 82, 192, 188, 110, 197, 174, 149, 202, 151, 164, 204, 138, 133, 139, 71, 132, 141, 69, 127, 146, 61,
            127, 151, 68, 141, 156, 116, 157, 161, 170, 162, 166, 184, 161, 170, 175, 158, 175, 178, 154, 180, 193, 144, 185, 204,
            122, 190, 207, 99, 194, 201, 85, 199, 180, 79, 204, 147, 101, 209, 132, 151, 213, 125, 174, 218, 115, 152, 223, 98,
            125, 228, 91, 115, 233, 110, 111, 238, 136, 109, 240, 143]),
        (7, 5, 7, 11, [
            0, 16, 97, 28, 27, 132, 64, 38, 155, 101, 49, 190, 161, 60, 213, 197, 71, 248, 233, 82, 15, 10, 19, 103,
            48, 30, 124, 89, 41, 163, 127, 52, 184, 129, 63, 223, 167, 74, 243, 205, 85, 20, 52, 26, 117, 93, 37, 104,
            152, 48, 183, 193, 59, 170, 52, 70, 251, 93, 81, 238, 134, 92, 25, 100, 33, 132, 145, 44, 104, 174, 55, 183,
            219, 66, 155, 12, 77, 233, 58, 88, 205, 102, 99, 58, 158, 40, 145, 206, 51, 149, 94, 62, 138, 142, 73, 142,
            61, 84, 118, 127, 95, 122, 174, 106, 141, 182, 47, 158, 233, 58, 187, 28, 69, 100, 79, 80, 129, 130, 91, 18,
            181, 102, 47, 232, 113, 216, 110, 54, 171, 164, 65, 175, 58, 76, 113, 127, 87, 117, 199, 98, 13, 125, 109, 16,
            179, 120, 245, 23, 61, 184, 81, 72, 157, 122, 83, 131, 189, 94, 104, 248, 105, 43, 54, 116, 15, 112, 127, 247,
            38, 68, 199, 99, 79, 187, 178, 90, 91, 147, 101, 79, 208, 112, 68, 87, 123, 56, 148, 134, 216, 94, 75, 213,
            159, 86, 234, 226, 97, 32, 67, 108, 53, 131, 119, 94, 159, 130, 115, 224, 141, 169, 116, 78, 219, 182, 89, 253,
            248, 100, 8, 34, 111, 42, 99, 122, 105, 189, 133, 139, 254, 144, 150]),
        (17, 3, 6, 3, [
            36, 28, 130, 148, 58, 203, 108, 89, 73, 85, 121, 112, 169, 152, 206, 56, 182, 105, 146, 43, 133, 104, 73, 202,
            125, 104, 73, 129, 136, 116, 116, 167, 171, 163, 197, 136, 150, 58, 155, 121, 88, 71, 126, 119, 184, 144, 151, 129,
            103, 182, 139, 172, 212, 165]),
    ]

    func testSmallResizesMatchPillowExactly() {
        for (w, h, ow, oh, expected) in Self.smallCases {
            let out = resizeBicubic(syntheticImage(width: w, height: h), width: ow, height: oh)
            XCTAssertEqual(out.width, ow)
            XCTAssertEqual(out.height, oh)
            XCTAssertEqual(out.pixels, expected, "\(w)x\(h) -> \(ow)x\(oh)")
        }
    }

    func testLargerResizesMatchPillowHashes() {
        let cases: [(Int, Int, Int, Int, UInt64)] = [
            (333, 250, 330, 248, 0xf770_8ac0_33b5_49b8),
            (256, 384, 248, 372, 0x578d_890f_5134_54f0),
            (500, 375, 224, 224, 0x7b12_39a6_bff1_5bad),
            (64, 48, 224, 224, 0xebff_7fce_d52a_a7c3),
        ]
        for (w, h, ow, oh, hash) in cases {
            let out = resizeBicubic(syntheticImage(width: w, height: h), width: ow, height: oh)
            XCTAssertEqual(fnv1a(out.pixels), hash, "\(w)x\(h) -> \(ow)x\(oh)")
        }
    }

    func testPassOrderOfPillow12AndPillow13() {
        // (w, h, outW, outH, Pillow 12.3 hash, Pillow 13.0 hash); 13.0 runs these vertical-first.
        let cases: [(Int, Int, Int, Int, UInt64, UInt64)] = [
            (10, 10, 23, 4, 0x4fd1_1b69_f606_aabe, 0x26c6_5a8d_fa62_4a2a),
            (120, 300, 224, 224, 0xc9d2_b478_7db2_ce80, 0xd5c5_74cd_fc44_1e8c),
            (40, 500, 37, 97, 0x05b0_8cf5_4e94_cd5c, 0x3f97_3bd2_6ba1_2e50),
        ]
        for (w, h, ow, oh, h12, h13) in cases {
            let im = syntheticImage(width: w, height: h)
            XCTAssertEqual(fnv1a(resizeBicubic(im, width: ow, height: oh, order: .horizontalFirst).pixels), h12, "\(w)x\(h) -> \(ow)x\(oh) (12.3)")
            XCTAssertEqual(fnv1a(resizeBicubic(im, width: ow, height: oh, order: .pillow13).pixels), h13, "\(w)x\(h) -> \(ow)x\(oh) (13.0)")
        }
        // Where 13.0 keeps horizontal-first, both orders agree (hashes from both versions).
        XCTAssertEqual(fnv1a(resizeBicubic(syntheticImage(width: 500, height: 375), width: 224, height: 224, order: .pillow13).pixels),
                       0x7b12_39a6_bff1_5bad)
        // The train case above under 13.0 (vertical-first: 341 - 224 > 2 * (256 - 224)).
        let ws = TransformWorkspace()
        ws.resampleOrder = .pillow13
        let out = UnsafeMutablePointer<Float>.allocate(capacity: ImageTransform.floatsPerImage)
        defer { out.deallocate() }
        let im = syntheticImage(width: 256, height: 341)
        im.pixels.withUnsafeBufferPointer { p in
            ws.trainTransform(src: p.baseAddress!, width: 256, height: 341,
                              augmentation: TrainAugmentation(crop: CropBox(top: 0, left: 0, height: 341, width: 256), flip: false), into: out)
        }
        XCTAssertEqual(fnv1a(denormalizeCHW(out)), 0xe534_5090_806f_39f1)
    }

    func testSameSizeIsIdentity() {
        let im = syntheticImage(width: 9, height: 7)
        XCTAssertEqual(resizeBicubic(im, width: 9, height: 7), im)
    }

    func testEvalGeometry() {
        XCTAssertTrue(ImageTransform.evalResizeSize(width: 300, height: 257) == (289, 248))
        XCTAssertTrue(ImageTransform.evalResizeSize(width: 256, height: 341) == (248, 330))
        XCTAssertTrue(ImageTransform.evalResizeSize(width: 411, height: 256) == (398, 248))
        XCTAssertTrue(ImageTransform.evalResizeSize(width: 256, height: 256) == (248, 248))
        // Python's round half to even: (289 - 224) / 2 = 32.5 -> 32; 33.5 -> 34.
        XCTAssertEqual(ImageTransform.centerCropOffset(size: 289, crop: 224), 32)
        XCTAssertEqual(ImageTransform.centerCropOffset(size: 291, crop: 224), 34)
        XCTAssertEqual(ImageTransform.centerCropOffset(size: 330, crop: 224), 53)
    }

    func testEvalTransformMatchesPillowResizeThenCenterCrop() {
        let cases: [(Int, Int, UInt64)] = [
            (300, 257, 0x2a08_1e15_93a3_7927),
            (256, 341, 0x6065_3317_55ff_bd74),
            (411, 256, 0xffa6_0c5e_b7ea_19c5),
        ]
        let out = UnsafeMutablePointer<Float>.allocate(capacity: ImageTransform.floatsPerImage)
        defer { out.deallocate() }
        for (w, h, hash) in cases {
            evalTransform(syntheticImage(width: w, height: h), into: out)
            XCTAssertEqual(fnv1a(denormalizeCHW(out)), hash, "eval transform of \(w)x\(h)")
        }
        // Normalisation: (x / 255 - 0.5) / 0.5 exactly at the ends.
        XCTAssertEqual(ImageTransform.normalizeTable[0], -1)
        XCTAssertEqual(ImageTransform.normalizeTable[255], 1)
    }

    func testTrainTransformCropResizeFlipMatchesPillow() {
        let cases: [(Int, Int, CropBox, Bool, UInt64)] = [
            (300, 257, CropBox(top: 13, left: 7, height: 150, width: 120), true, 0xfe26_ccfe_23c7_12d0),
            (256, 341, CropBox(top: 0, left: 0, height: 341, width: 256), false, 0xc071_bf9e_f2ba_b815),
            (411, 256, CropBox(top: 100, left: 200, height: 30, width: 40), true, 0x7eeb_ad4f_36d4_0cda),
        ]
        let out = UnsafeMutablePointer<Float>.allocate(capacity: ImageTransform.floatsPerImage)
        defer { out.deallocate() }
        for (w, h, box, flip, hash) in cases {
            trainTransform(syntheticImage(width: w, height: h), augmentation: TrainAugmentation(crop: box, flip: flip), into: out)
            XCTAssertEqual(fnv1a(denormalizeCHW(out)), hash, "train transform of \(w)x\(h) box \(box) flip \(flip)")
        }
    }

    func testCropMatchesSlicing() {
        let im = syntheticImage(width: 10, height: 8)
        let c = crop(im, left: 3, top: 2, width: 4, height: 5)
        for y in 0..<5 { for x in 0..<4 { XCTAssertTrue(c[x, y] == im[x + 3, y + 2]) } }
    }
}
