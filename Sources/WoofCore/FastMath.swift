// Branch-free float32 exp and erf that the compiler can vectorise (libm calls cannot be).
// Softmax and GELU call them tens of millions of times per step.

/// e^x for float32, relative error ≈ 2 ulp on [-87, 88]; underflows to 0 below.
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    let xc = min(max(x, -87.3), 88.3)
    // x = n·ln2 + r, |r| ≤ ln2/2 (Cody–Waite split of ln2).
    let n = (xc * 1.44269504088896341).rounded(.toNearestOrEven)
    var r = xc - n * 0.693359375
    r = r - n * -2.12194440e-4
    // exp(r) by the Cephes minimax polynomial.
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let er = p * r * r + r + 1
    let scale = Float(bitPattern: UInt32(bitPattern: Int32(n) + 127) << 23)
    return x < -87.3 ? 0 : er * scale
}

/// erf(x) for float32 by the rational approximation used by Eigen and XLA
/// (absolute error below 2e-7 on all of ℝ).
@inline(__always)
public func fastErf(_ x: Float) -> Float {
    let xc = min(max(x, -4), 4)
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
