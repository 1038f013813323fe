// Branch-free float32 exp and erf that the compiler can vectorise (libm calls cannot be).
// Softmax and GELU call them tens of millions of times per step.

/// e^x for float32, relative error ≈ 2 ulp on [-87, 88]; underflows to 0 below.
/// Clamps and rounding are selects and adds, so loops over it vectorise.
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    let xc = x < -87.3 ? -87.3 : (x > 88.3 ? 88.3 : x)
    // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick (no libm call).
    let magic: Float = 12582912
    let t = xc * 1.44269504088896341 + magic
    let n = t - magic
    var r = xc - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let er = p * r * r + r + 1
    let scale = Float(bitPattern: (t.bitPattern &- magic.bitPattern &+ 127) << 23)
    let v = er * scale
    return x < -87.3 ? 0 : v
}
/// erf(x) for float32 by the rational approximation used by Eigen and XLA
/// (absolute error below 2e-7 on all of ℝ).
@inline(__always)
public func fastErf(_ x: Float) -> Float {
    let xc = x < -4 ? -4 : (x > 4 ? 4 : x)
    let x2 = xc * xc
    var p: Float = -2.72614225801306e-10
    p = p * x2 + 2.77068142495902e-08
    p = p * x2 + -2.10102402082508e-06
    p = p * x2 + -5.69250639462346e-05
    p = p * x2 + -7.34990630326855e-04
    p = p * x2 + -2.95459980854025e-03
    p = p * x2 + -1.60960333262415e-02
    p = p * xc
    var q: Float = -1.45660718464996e-05
    q = q * x2 + -2.13374055278905e-04
    q = q * x2 + -1.68282697438203e-03
    q = q * x2 + -7.37332916720468e-03
    q = q * x2 + -1.42647390514189e-02
    return p / q
}

// Reductions over a row. Swift keeps float additions in order, so a plain loop is one long
// dependency chain; these keep 32 partial sums in SIMD registers instead.

@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Σ p[i] for i in 0..<n.
@inline(__always)
public func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
    var i = 0
    while i + 32 <= n { a0 += load16(p + i); a1 += load16(p + i + 16); i += 32 }
    if i + 16 <= n { a0 += load16(p + i); i += 16 }
    var s = (a0 + a1).sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// Σ p[i]·q[i] for i in 0..<n.
@inline(__always)
public func rowDot(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
    var i = 0
    while i + 32 <= n { a0 += load16(p + i) * load16(q + i); a1 += load16(p + i + 16) * load16(q + i + 16); i += 32 }
    if i + 16 <= n { a0 += load16(p + i) * load16(q + i); i += 16 }
    var s = (a0 + a1).sum()
    while i < n { s += p[i] * q[i]; i += 1 }
    return s
}

/// max p[i] for i in 0..<n (n ≥ 1). (`pointwiseMax` on SIMD types is not specialised
/// and runs ~50× slower than this masked replace.)
@inline(__always)
public func rowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = SIMD16<Float>(repeating: -.infinity)
    var i = 0
    while i + 16 <= n { let v = load16(p + i); m.replace(with: v, where: v .> m); i += 16 }
    var s = -Float.infinity
    for j in 0..<16 { s = m[j] > s ? m[j] : s }
    while i < n { s = p[i] > s ? p[i] : s; i += 1 }
    return s
}

/// Σ p[i]·q[i]·r[i] for i in 0..<n.
@inline(__always)
public func rowDot3(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ r: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD16<Float>()
    var i = 0
    while i + 16 <= n { a0 += load16(p + i) * load16(q + i) * load16(r + i); i += 16 }
    var s = a0.sum()
    while i < n { s += p[i] * q[i] * r[i]; i += 1 }
    return s
}
