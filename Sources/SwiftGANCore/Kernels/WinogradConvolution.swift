import CShim
import Glibc

/// Winograd minimal filtering (Lavin and Gray, 2016) for stride-1 convolutions with 3x3 kernels (CycleGAN's
/// resblocks, StyleGAN's convs), 2x2 kernels (the four phases of DCGAN's 4x4 stride-2 convs, see
/// `PhaseConvolution.swift`) and 4x4 kernels (PatchGAN's stride-1 conv). Each 2x2 output tile is
/// A^T [(G g G^T) * (B^T d B)] A for the input tile d around it, so the channel sums become alpha^2 GEMMs [O, C] x
/// [C, tiles]: 16 multiplies per 4 outputs instead of 36 for F(2x2, 3x3) (2.25x fewer FLOPs than im2col + GEMM), 9
/// instead of 16 for F(2x2, 2x2), 25 instead of 64 for F(2x2, 4x4); F(4x4, .) tiles take 36 (3x3) and 25 (2x2)
/// instead of 144 and 64.
///
/// The three primitives stay exact adjoints of each other: the image gradient is the same forward pass with the
/// kernel flipped and channels swapped, and the weight gradient runs the forward algorithm's adjoint (the output
/// transform's transpose on the gradient, GEMMs against the same input tiles, then G^T dU G).
extension ConvGeometry {
    /// out = conv(image, weight) (no bias), with a StyleGAN2 layer's `modulation` when given, reading the padded
    /// image from an asymmetric `origin` when given (see `WinogradConvolution.origin`), or with `reflected` the image
    /// reflected by the padding instead of zero-padded (only where `winogradReadsReflection`).
    func winogradForward(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        modulation: WinogradModulation? = nil, origin: (top: Int, left: Int)? = nil, reflected: Bool = false,
        readsPhases: Bool = false
    ) throws {
        switch (kernelHeight, algorithm(.forward)) {
        case (4, .winogradF4):
            try WinogradConvolution<WinogradF3x4>(
                self, origin: origin, modulation: modulation, reflected: reflected, readsPhases: readsPhases
            ).forward(image: image, weight: weight, out: out)
        case (4, _):
            try WinogradConvolution<WinogradF2x4>(
                self, origin: origin, modulation: modulation, reflected: reflected, readsPhases: readsPhases
            ).forward(image: image, weight: weight, out: out)
        case (3, .winogradF4):
            try WinogradConvolution<WinogradF4x3>(
                self, origin: origin, modulation: modulation, reflected: reflected, readsPhases: readsPhases
            ).forward(image: image, weight: weight, out: out)
        case (3, _):
            try WinogradConvolution<WinogradF2x3>(
                self, origin: origin, modulation: modulation, reflected: reflected, readsPhases: readsPhases
            ).forward(image: image, weight: weight, out: out)
        case (_, .winogradF4):
            try WinogradConvolution<WinogradF4x2>(
                self, origin: origin, modulation: modulation, reflected: reflected, readsPhases: readsPhases
            ).forward(image: image, weight: weight, out: out)
        default:
            try WinogradConvolution<WinogradF2x2>(
                self, origin: origin, modulation: modulation, reflected: reflected, readsPhases: readsPhases
            ).forward(image: image, weight: weight, out: out)
        }
    }

    /// Whether a Winograd forward pass (and weight gradient) puts eight neighbouring tiles of a row in its vector
    /// lanes (eight or more tiles across), not eight samples (`WinogradConvolution.samplesInLanes`).
    var winogradTilesInRows: Bool {
        let large = algorithm(.forward) == .winogradF4, tile = large ? (kernelHeight == 4 ? 3 : 4) : 2
        return (outWidth + tile - 1) / tile >= (large && kernelHeight == 4 ? WinogradF3x4.fewestRowTiles : 8)
    }

    /// Whether the forward pass runs as Winograd with its tiles' rows in the vector lanes, whose input transform can
    /// read a reflection-padded image without a padded copy (`winogradForward(reflected:)`), for padding smaller than
    /// the image.
    var winogradReadsReflection: Bool {
        [.winograd, .winogradF4].contains(algorithm(.forward)) && winogradTilesInRows && padding < inHeight
            && padding < inWidth
    }

    /// imageGrad = conv^T(outGrad, weight).
    func winogradBackwardData(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        switch (kernelHeight, algorithm(.imageGradient)) {
        case (4, .winogradF4):
            try WinogradConvolution<WinogradF3x4>(self).backwardData(
                outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case (4, _):
            try WinogradConvolution<WinogradF2x4>(self).backwardData(
                outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case (3, .winogradF4):
            try WinogradConvolution<WinogradF4x3>(self).backwardData(
                outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case (3, _):
            try WinogradConvolution<WinogradF2x3>(self).backwardData(
                outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case (_, .winogradF4):
            try WinogradConvolution<WinogradF4x2>(self).backwardData(
                outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        default:
            try WinogradConvolution<WinogradF2x2>(self).backwardData(
                outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        }
    }

    /// weightGrad = the adjoint of the forward algorithm in the weight (with `readsPhases`, of the image whose phase
    /// image this geometry's input is; with `reflected`, of the image reflected by the padding; as in
    /// `winogradForward`).
    func winogradBackwardWeight(
        image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>,
        readsPhases: Bool = false, reflected: Bool = false
    ) throws {
        switch (kernelHeight, algorithm(.weightGradient)) {
        case (4, .winogradF4):
            try WinogradConvolution<WinogradF3x4>(self, reflected: reflected, readsPhases: readsPhases).backwardWeight(
                image: image, outGrad: outGrad, weightGrad: weightGrad)
        case (4, _):
            try WinogradConvolution<WinogradF2x4>(self, reflected: reflected, readsPhases: readsPhases).backwardWeight(
                image: image, outGrad: outGrad, weightGrad: weightGrad)
        case (3, .winogradF4):
            try WinogradConvolution<WinogradF4x3>(self, reflected: reflected, readsPhases: readsPhases).backwardWeight(
                image: image, outGrad: outGrad, weightGrad: weightGrad)
        case (3, _):
            try WinogradConvolution<WinogradF2x3>(self, reflected: reflected, readsPhases: readsPhases).backwardWeight(
                image: image, outGrad: outGrad, weightGrad: weightGrad)
        case (_, .winogradF4):
            try WinogradConvolution<WinogradF4x2>(self, reflected: reflected, readsPhases: readsPhases).backwardWeight(
                image: image, outGrad: outGrad, weightGrad: weightGrad)
        default:
            try WinogradConvolution<WinogradF2x2>(self, reflected: reflected, readsPhases: readsPhases).backwardWeight(
                image: image, outGrad: outGrad, weightGrad: weightGrad)
        }
    }
}

/// One-dimensional F(m, r): y = A^T [(G g) * (B^T d)] for a filter g of r taps, an input d of alpha = m + r - 1
/// values and m outputs. Each transform reads vectors by index and writes vectors by index (a lane is an
/// independent problem); applied along rows and then along columns they give F(mxm, rxr).
protocol WinogradAlgorithm {
    /// The kernel size r.
    static var taps: Int { get }
    /// The output tile side m (2, 3 or 4; input tiles are m + r - 1 wide).
    static var outputs: Int { get }
    /// The fewest tiles across for which a row of tiles takes the vector lanes (fewer put samples there).
    static var fewestRowTiles: Int { get }
    /// Whether reversing a kernel only swaps the first and last entries of G g (see `backwardData`).
    static var reversalSwapsEnds: Bool { get }
    /// B^T d: alpha values to alpha.
    static func input(_ d: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void)
    /// G g: r taps to alpha.
    static func kernel(_ g: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void)
    /// G^T u: alpha to r, the adjoint of `kernel`.
    static func kernelAdjoint(_ u: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void)
    /// A^T m: alpha to the m outputs.
    static func output(_ m: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void)
    /// A y: the m outputs to alpha, the adjoint of `output`.
    static func outputAdjoint(_ y: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void)
}

extension WinogradAlgorithm {
    /// Eight tiles of a row fill the lanes.
    static var fewestRowTiles: Int { 8 }
}

/// F(2, 3) with interpolation points 0, 1, -1 and infinity.
enum WinogradF2x3: WinogradAlgorithm {
    static var taps: Int { 3 }
    static var outputs: Int { 2 }
    static var reversalSwapsEnds: Bool { true }
    @inline(__always) static func input(_ d: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (d0, d1, d2, d3) = (d(0), d(1), d(2), d(3))
        out(0, d0 - d2)
        out(1, d1 + d2)
        out(2, d2 - d1)
        out(3, d1 - d3)
    }
    @inline(__always) static func kernel(_ g: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (g0, g1, g2) = (g(0), g(1), g(2))
        out(0, g0)
        out(1, 0.5 * (g0 + g1 + g2))
        out(2, 0.5 * (g0 - g1 + g2))
        out(3, g2)
    }
    @inline(__always) static func kernelAdjoint(_ u: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (u0, u1, u2, u3) = (u(0), u(1), u(2), u(3))
        out(0, u0 + 0.5 * (u1 + u2))
        out(1, 0.5 * (u1 - u2))
        out(2, 0.5 * (u1 + u2) + u3)
    }
    @inline(__always) static func output(_ m: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (m0, m1, m2, m3) = (m(0), m(1), m(2), m(3))
        out(0, m0 + m1 + m2)
        out(1, m1 - m2 - m3)
    }
    @inline(__always) static func outputAdjoint(_ y: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (y0, y1) = (y(0), y(1))
        out(0, y0)
        out(1, y0 + y1)
        out(2, y0 - y1)
        out(3, -y1)
    }
}

/// F(2, 2) with points 0, 1 and infinity: m = ((d0 - d1) g0, d1 (g0 + g1), (d2 - d1) g1), y = (m0 + m1, m1 + m2).
enum WinogradF2x2: WinogradAlgorithm {
    static var taps: Int { 2 }
    static var outputs: Int { 2 }
    static var reversalSwapsEnds: Bool { true }
    @inline(__always) static func input(_ d: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (d0, d1, d2) = (d(0), d(1), d(2))
        out(0, d0 - d1)
        out(1, d1)
        out(2, d2 - d1)
    }
    @inline(__always) static func kernel(_ g: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (g0, g1) = (g(0), g(1))
        out(0, g0)
        out(1, g0 + g1)
        out(2, g1)
    }
    @inline(__always) static func kernelAdjoint(_ u: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (u0, u1, u2) = (u(0), u(1), u(2))
        out(0, u0 + u1)
        out(1, u1 + u2)
    }
    @inline(__always) static func output(_ m: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (m0, m1, m2) = (m(0), m(1), m(2))
        out(0, m0 + m1)
        out(1, m1 + m2)
    }
    @inline(__always) static func outputAdjoint(_ y: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (y0, y1) = (y(0), y(1))
        out(0, y0)
        out(1, y0 + y1)
        out(2, y1)
    }
}

/// F(2, 4) with points 0, 1, -1, 2 and infinity (F(4, 2)'s, so the same input transform): 25 multiplies per 2x2
/// outputs of a 4x4 kernel instead of 64 (PatchGAN's stride-1 4x4 convolution).
enum WinogradF2x4: WinogradAlgorithm {
    static var taps: Int { 4 }
    static var outputs: Int { 2 }
    static var reversalSwapsEnds: Bool { false }
    @inline(__always) static func input(_ d: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        WinogradF4x2.input(d, out)
    }
    @inline(__always) static func kernel(_ g: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (g0, g1, g2, g3) = (g(0), g(1), g(2), g(3))
        let (even, odd) = (g0 + g2, g1 + g3)
        out(0, 0.5 * g0)
        out(1, -0.5 * (even + odd))
        out(2, (1.0 / 6) * (odd - even))
        out(3, (1.0 / 6) * g0 + (1.0 / 3) * g1 + (2.0 / 3) * g2 + (4.0 / 3) * g3)
        out(4, g3)
    }
    @inline(__always) static func kernelAdjoint(_ u: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (u0, u1, u2, u3, u4) = (u(0), u(1), u(2), u(3), u(4))
        let (half, sixth) = (-0.5 * u1, (1.0 / 6) * u2)
        out(0, 0.5 * u0 + half - sixth + (1.0 / 6) * u3)
        out(1, half + sixth + (1.0 / 3) * u3)
        out(2, half - sixth + (2.0 / 3) * u3)
        out(3, half + sixth + (4.0 / 3) * u3 + u4)
    }
    @inline(__always) static func output(_ m: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (m0, m1, m2, m3, m4) = (m(0), m(1), m(2), m(3), m(4))
        out(0, m0 + m1 + m2 + m3)
        out(1, m1 - m2 + 2 * m3 + m4)
    }
    @inline(__always) static func outputAdjoint(_ y: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (y0, y1) = (y(0), y(1))
        out(0, y0)
        out(1, y0 + y1)
        out(2, y0 - y1)
        out(3, y0 + 2 * y1)
        out(4, y1)
    }
}

/// F(4, 2) with points 0, 1, -1, 2 and infinity: 25 multiplies per 4x4 outputs of a 2x2 kernel instead of F(2x2,
/// 2x2)'s 36 (DCGAN's phase convolutions). Rounds like F(4, 3) (entries up to 8 in A^T).
enum WinogradF4x2: WinogradAlgorithm {
    static var taps: Int { 2 }
    static var outputs: Int { 4 }
    static var reversalSwapsEnds: Bool { false }
    @inline(__always) static func input(_ d: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (d0, d1, d2, d3, d4) = (d(0), d(1), d(2), d(3), d(4))
        let e = d3 - d1
        out(0, 2 * (d0 - d2) + e)
        out(1, e - d1 - d2)
        out(2, e + 3 * (d1 - d2))
        out(3, e)
        out(4, d4 - d2 - 2 * e)
    }
    @inline(__always) static func kernel(_ g: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (g0, g1) = (g(0), g(1))
        out(0, 0.5 * g0)
        out(1, -0.5 * (g0 + g1))
        out(2, (1.0 / 6) * (g1 - g0))
        out(3, (1.0 / 6) * g0 + (1.0 / 3) * g1)
        out(4, g1)
    }
    @inline(__always) static func kernelAdjoint(_ u: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (u0, u1, u2, u3, u4) = (u(0), u(1), u(2), u(3), u(4))
        out(0, 0.5 * (u0 - u1) + (1.0 / 6) * (u3 - u2))
        out(1, -0.5 * u1 + (1.0 / 6) * u2 + (1.0 / 3) * u3 + u4)
    }
    @inline(__always) static func output(_ m: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (m0, m1, m2, m3, m4) = (m(0), m(1), m(2), m(3), m(4))
        let (s, d) = (m1 + m2, m1 - m2)
        out(0, m0 + s + m3)
        out(1, d + 2 * m3)
        out(2, s + 4 * m3)
        out(3, d + 8 * m3 + m4)
    }
    @inline(__always) static func outputAdjoint(_ y: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (y0, y1, y2, y3) = (y(0), y(1), y(2), y(3))
        let (even, odd) = (y0 + y2, y1 + y3)
        out(0, y0)
        out(1, even + odd)
        out(2, even - odd)
        out(3, y0 + 2 * y1 + 4 * y2 + 8 * y3)
        out(4, y3)
    }
}

/// F(3, 4) with F(4, 3)'s points 0, 1, -1, 2, -2 and infinity, so its input transform: 36 multiplies per 3x3 outputs of
/// a 4x4 kernel, against F(2, 4)'s 25 per 2x2 (0.62 of them per output), and tiles that cover PatchGAN's 15-wide
/// output in five, where F(2, 4)'s take eight covering 16. G's rows are the points' powers scaled by 1 / prod(p - q)
/// over the other finite points q, A^T's the powers to the second. Its rows of five or more tiles take the vector
/// lanes: F(2, 4), the alternative, does 1.8x the multiplies on PatchGAN's layer.
enum WinogradF3x4: WinogradAlgorithm {
    static var taps: Int { 4 }
    static var outputs: Int { 3 }
    static var reversalSwapsEnds: Bool { false }
    static var fewestRowTiles: Int { 5 }
    @inline(__always) static func input(_ d: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        WinogradF4x3.input(d, out)
    }
    @inline(__always) static func kernel(_ g: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (g0, g1, g2, g3) = (g(0), g(1), g(2), g(3))
        let (even, odd, even2, odd2) = (g0 + g2, g1 + g3, g0 + 4 * g2, 2 * g1 + 8 * g3)
        out(0, 0.25 * g0)
        out(1, (-1.0 / 6) * (even + odd))
        out(2, (-1.0 / 6) * (even - odd))
        out(3, (1.0 / 24) * (even2 + odd2))
        out(4, (1.0 / 24) * (even2 - odd2))
        out(5, g3)
    }
    @inline(__always) static func kernelAdjoint(_ u: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (u0, u1, u2, u3, u4, u5) = (u(0), u(1), u(2), u(3), u(4), u(5))
        let (s1, d1, s2, d2) = ((-1.0 / 6) * (u1 + u2), (-1.0 / 6) * (u1 - u2), u3 + u4, u3 - u4)
        out(0, 0.25 * u0 + s1 + (1.0 / 24) * s2)
        out(1, d1 + (1.0 / 12) * d2)
        out(2, s1 + (1.0 / 6) * s2)
        out(3, d1 + (1.0 / 3) * d2 + u5)
    }
    @inline(__always) static func output(_ m: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (m0, m1, m2, m3, m4, m5) = (m(0), m(1), m(2), m(3), m(4), m(5))
        let (s1, d1, s2, d2) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4)
        out(0, m0 + s1 + s2)
        out(1, d1 + 2 * d2)
        out(2, s1 + 4 * s2 + m5)
    }
    @inline(__always) static func outputAdjoint(_ y: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (y0, y1, y2) = (y(0), y(1), y(2))
        let (even, even2) = (y0 + y2, y0 + 4 * y2)
        out(0, y0)
        out(1, even + y1)
        out(2, even - y1)
        out(3, even2 + 2 * y1)
        out(4, even2 - 2 * y1)
        out(5, y2)
    }
}

/// F(4, 3) with points 0, 1, -1, 2, -2 and infinity (Lavin and Gray's): 36 multiplies per 4x4 outputs instead of
/// 144. Its transforms have larger entries than F(2, 3)'s, so it rounds a few times more (still ~1e-6 relative).
enum WinogradF4x3: WinogradAlgorithm {
    static var taps: Int { 3 }
    static var outputs: Int { 4 }
    static var reversalSwapsEnds: Bool { false }
    @inline(__always) static func input(_ d: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (d0, d1, d2, d3, d4, d5) = (d(0), d(1), d(2), d(3), d(4), d(5))
        let (a, b) = (d4 - 4 * d2, d3 - 4 * d1)  // the shared parts of rows 1-2 and 3-4
        let (c, e) = (d4 - d2, 2 * (d3 - d1))
        out(0, 4 * d0 - 5 * d2 + d4)
        out(1, a + b)
        out(2, a - b)
        out(3, c + e)
        out(4, c - e)
        out(5, 4 * d1 - 5 * d3 + d5)
    }
    @inline(__always) static func kernel(_ g: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (g0, g1, g2) = (g(0), g(1), g(2))
        let (even, odd) = (g0 + g2, g1)
        out(0, 0.25 * g0)
        out(1, (-1.0 / 6) * (even + odd))
        out(2, (-1.0 / 6) * (even - odd))
        out(3, (1.0 / 24) * g0 + (1.0 / 12) * g1 + (1.0 / 6) * g2)
        out(4, (1.0 / 24) * g0 - (1.0 / 12) * g1 + (1.0 / 6) * g2)
        out(5, g2)
    }
    @inline(__always) static func kernelAdjoint(_ u: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (u0, u1, u2, u3, u4, u5) = (u(0), u(1), u(2), u(3), u(4), u(5))
        out(0, 0.25 * u0 - (1.0 / 6) * (u1 + u2) + (1.0 / 24) * (u3 + u4))
        out(1, (-1.0 / 6) * (u1 - u2) + (1.0 / 12) * (u3 - u4))
        out(2, (-1.0 / 6) * (u1 + u2) + (1.0 / 6) * (u3 + u4) + u5)
    }
    @inline(__always) static func output(_ m: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (m0, m1, m2, m3, m4, m5) = (m(0), m(1), m(2), m(3), m(4), m(5))
        let (s1, d1, s2, d2) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4)
        out(0, m0 + s1 + s2)
        out(1, d1 + 2 * d2)
        out(2, s1 + 4 * s2)
        out(3, d1 + 8 * d2 + m5)
    }
    @inline(__always) static func outputAdjoint(_ y: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
        let (y0, y1, y2, y3) = (y(0), y(1), y(2), y(3))
        out(0, y0)
        out(1, y0 + y1 + y2 + y3)
        out(2, y0 - y1 + y2 - y3)
        out(3, y0 + 2 * y1 + 4 * y2 + 8 * y3)
        out(4, y0 - 2 * y1 + 4 * y2 - 8 * y3)
        out(5, y3)
    }
}

/// F(mxm, rxr) over one stride-1 geometry. Work runs in chunks whose transformed matrices ([alpha^2, channels, ld])
/// stay in cache between the transforms and the GEMMs. The vector lanes of the transforms take one of two layouts:
/// - rows (planes of 16 or more outputs across): eight neighbouring tiles of a tile row; GEMM columns are tiles
///   numbered row by row over all samples, and a chunk is a run of whole tile rows;
/// - samples (smaller planes, whose tile rows would leave lanes empty: DCGAN's 8x8 and 4x4 layers): the same tile of
///   eight samples; GEMM column 8 t + lane is tile t of sample 8 b + lane, tiles numbered by (sample block b, tile row,
///   tile column), and a chunk is a run of whole sample blocks.
struct WinogradConvolution<Algorithm: WinogradAlgorithm> {
    let geometry: ConvGeometry
    /// Zero rows above and columns left of the input in the padded input that the tiles read: the geometry's padding,
    /// unless given (an asymmetric padding; the geometry's output size then stands as given).
    let origin: (top: Int, left: Int)
    /// A StyleGAN2 layer's style scale of the input and epilogue of the output, applied by the transforms (forward
    /// only; see `ModulatedConvolution.swift`).
    let modulation: WinogradModulation?
    /// Whether the padding reflects the image (rows and columns -i and n - 1 + i read i and n - 1 - i) instead of
    /// being zero: reflection padding without a padded copy (forward and weight gradient, rows in the lanes only).
    let reflected: Bool
    /// Whether the input given is not the geometry's input but the image whose phase image it is
    /// (`ConvGeometry.phaseGeometry`): the sample lanes' gather reads the phases from the image, with no phase image.
    let readsPhases: Bool
    init(
        _ geometry: ConvGeometry, origin: (top: Int, left: Int)? = nil, modulation: WinogradModulation? = nil,
        reflected: Bool = false, readsPhases: Bool = false
    ) {
        self.geometry = geometry
        self.origin = origin ?? (geometry.padding, geometry.padding)
        self.modulation = modulation
        self.reflected = reflected
        self.readsPhases = readsPhases
    }

    private var r: Int { Algorithm.taps }
    private var m: Int { Algorithm.outputs }
    private var alpha: Int { Algorithm.outputs + Algorithm.taps - 1 }
    /// Number of GEMMs (entries of a transformed tile).
    private var products: Int { alpha * alpha }
    /// Output tiles per sample along each axis.
    private var tileRows: Int { (geometry.outHeight + m - 1) / m }
    private var tileCols: Int { (geometry.outWidth + m - 1) / m }
    /// Whether the lanes hold samples (see the type's description).
    private var samplesInLanes: Bool { tileCols < Algorithm.fewestRowTiles }

    /// The units chunks are made of: tile rows, or blocks of eight samples.
    private var units: Int { samplesInLanes ? (geometry.batch + 7) / 8 : geometry.batch * tileRows }
    /// GEMM columns of `count` units.
    private func columns(_ count: Int) -> Int { samplesInLanes ? count * 8 * tileRows * tileCols : count * tileCols }

    /// Units per chunk: a chunk's transformed matrices take at most an eighth of the column budget (8 MB), in chunks
    /// of balanced sizes (a short last chunk makes 16 or 36 narrow GEMMs: CycleGAN's 64x64 residual convs ran 14 and
    /// 2 tile rows, 7% slower than 8 and 8).
    private var unitsPerChunk: Int {
        let tiles = ConvGeometry.columnBudget / 8 / (products * Swift.max(geometry.inChannels, geometry.outChannels))
        let most = Swift.max(1, Swift.min(units, tiles / columns(1)))
        let chunks = (units + most - 1) / most
        return (units + chunks - 1) / chunks
    }

    /// The leading dimension of a chunk's transformed matrices: its columns plus one vector, so the transforms of the
    /// row layout always move whole vectors (lanes past a row's last tile land where the next row, or the padding,
    /// goes).
    private func chunkStride(_ count: Int) -> Int { columns(count) + 8 }

    /// Runs body(first unit, units) over the chunks.
    private func forEachChunk(_ body: (Int, Int) throws -> Void) rethrows {
        let chunk = unitsPerChunk
        for u0 in Swift.stride(from: 0, to: units, by: chunk) { try body(u0, Swift.min(chunk, units - u0)) }
    }

    /// (sample, tile row within the sample) of global tile row t.
    @inline(__always) private func tileRow(_ t: Int) -> (Int, Int) { (t / tileRows, t % tileRows) }

    /// G g G^T for a vector of eight kernels: tap(k) gives tap k = i * r + j of the eight, out(xi, v) takes entry
    /// xi = a * alpha + b of their transforms; `staged` holds the alpha * r vectors of G g in between.
    @inline(__always) private func transformKernels(
        _ tap: (Int) -> SIMD8<Float>, staged: UnsafeMutablePointer<Float>, _ out: (Int, SIMD8<Float>) -> Void
    ) {
        for j in 0..<r {
            Algorithm.kernel({ i in tap(i * r + j) }, { a, v in store8(v, staged + (a * r + j) * 8) })
        }
        for a in 0..<alpha {
            Algorithm.kernel({ j in load8(staged + (a * r + j) * 8) }, { b, v in out(a * alpha + b, v) })
        }
    }

    /// G^T u G, the adjoint of `transformKernels`: entry(xi) gives entry xi = a * alpha + b of eight transformed
    /// kernels, out(k, v) takes tap k = i * r + j; `staged` holds the r * alpha vectors in between.
    @inline(__always) private func transformKernelsAdjoint(
        _ entry: (Int) -> SIMD8<Float>, staged: UnsafeMutablePointer<Float>, _ out: (Int, SIMD8<Float>) -> Void
    ) {
        for b in 0..<alpha {
            Algorithm.kernelAdjoint({ a in entry(a * alpha + b) }, { k, v in store8(v, staged + (k * alpha + b) * 8) })
        }
        for k in 0..<r {
            Algorithm.kernelAdjoint({ b in load8(staged + (k * alpha + b) * 8) }, { l, v in out(k * r + l, v) })
        }
    }

    /// U[xi, o, c] = (G g G^T)[xi] for every kernel g = weight[o, c] ([O, C, r, r]), vectorized over c; U_xi
    /// (O x C) lies `step` floats after U_(xi-1).
    private func transformWeights(_ weight: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>, step: Int) {
        nonisolated(unsafe) let (w, u) = (weight, u)
        let (o, c) = (geometry.outChannels, geometry.inChannels), taps = r * r
        parallelFor(o, costPerItem: c * 8 * products, scratch: taps * c + alpha * r * 8) { oi, buffer in
            // The taps of this output channel's kernels, each contiguous over c; then G g per vector of kernels.
            let kernels = w + oi * c * taps, rows = buffer + taps * c
            transposeTaps(kernels, channels: c, taps: taps, into: buffer)
            forEachVector(c) { ci in
                let n = Swift.min(8, c - ci)
                transformKernels({ load8(buffer + $0 * c + ci, n) }, staged: rows) { xi, v in
                    store8(v, u + xi * step + oi * c + ci, n)
                }
            }
        }
    }

    /// The products' weights as `PackedGEMM` row panels of each U_xi (or, `flipped`, of the transposed geometry's, U
    /// of the flipped product transposed), a panel of 12 rows at a time, each transformed vector of rows (8 and then 4
    /// of the panel's 12) stored as one run of its panel: nothing but the panels reaches memory (U itself, written
    /// whole and packed afterwards, went through it twice more). Rows of U_xi are output channels, read as vectors
    /// from the weight transposed to [C, taps, O]; flipped, they are input channels, read from each output channel's
    /// kernels with their taps transposed. With `reversed`, the weight given is the transposed geometry's: its kernels
    /// reversed and channels swapped are this geometry's, read transposed in one pass (`reversedTapsMajor`).
    private func transformWeightsIntoPanels(
        _ weight: UnsafePointer<Float>, flipped: Bool, reversed: Bool, into panels: UnsafeMutablePointer<Float>,
        step: Int
    ) throws {
        let (o, c) = (geometry.outChannels, geometry.inChannels), taps = r * r, height = PackedGEMM.rows
        let (rows, depth) = flipped ? (c, o) : (o, c)
        /// The panels, from the weight transposed to [C, taps, O] (nil where flipped).
        func fill(_ transposed: UnsafePointer<Float>?) {
            nonisolated(unsafe) let (w, t, p) = (weight, transposed, panels)
            parallelFor(
                (rows + height - 1) / height, costPerItem: height * depth * 8 * products,
                scratch: taps * height + alpha * r * 8
            ) { panel, buffer in
                let row0 = panel * height, valid = Swift.min(height, rows - row0), base = p + panel * height * depth
                let staged = buffer + taps * height
                /// G g G^T for each 8 (then 4) of the panel's rows, whose taps lie `stride` floats apart from
                /// source, stored at run + xi's panel.
                func transformRows(
                    _ source: UnsafePointer<Float>, stride: Int, into run: UnsafeMutablePointer<Float>
                ) {
                    for half in Swift.stride(from: 0, to: height, by: 8) {
                        let n = Swift.max(0, Swift.min(8, valid - half)), width = Swift.min(8, height - half)
                        transformKernels({ load8(source + $0 * stride + half, n) }, staged: staged) { xi, v in
                            store8(v, run + (flipped ? Self.flippedProduct(xi) : xi) * step + half, width)
                        }
                    }
                }
                guard flipped else {
                    for ci in 0..<c { transformRows(t! + ci * taps * o + row0, stride: o, into: base + ci * height) }
                    return
                }
                for oi in 0..<o {
                    transposeTaps(w + (oi * c + row0) * taps, channels: valid, taps: taps, into: buffer)
                    transformRows(buffer, stride: valid, into: base + oi * height)
                }
            }
        }
        guard !flipped else { return fill(nil) }
        guard !reversed else {
            return try Scratch.with(o * c * taps) { t in
                reversedTapsMajor(weight, outChannels: o, inChannels: c, taps: taps, into: t)
                fill(t)
            }
        }
        try withTapsMajor(weight, outChannels: o, inChannels: c, taps: taps) { fill($0) }
    }

    /// dW[o, c] = G^T dU[., o, c] G: the adjoint of `transformWeights`.
    private func transformWeightsAdjoint(_ du: UnsafePointer<Float>, into weightGrad: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (du, gw) = (du, weightGrad)
        let (o, c) = (geometry.outChannels, geometry.inChannels), taps = r * r, plane = productStep(o * c)
        parallelFor(o, costPerItem: c * 8 * products, scratch: taps * c + alpha * r * 8) { oi, buffer in
            let src = du + oi * c, rows = buffer + taps * c
            forEachVector(c) { ci in
                let n = Swift.min(8, c - ci)
                transformKernelsAdjoint({ load8(src + $0 * plane + ci, n) }, staged: rows) { tap, v in
                    store8(v, buffer + tap * c + ci, n)
                }
            }
            transposeTaps(buffer, channels: c, taps: taps, into: gw + oi * c * taps, toTaps: false)
        }
    }

    /// V[xi, c, t] = (B^T d B)[xi] for the input tile d (zero outside the image) of every tile t of tile rows
    /// r0..<r0+rows. Each input row is split into its m phases of columns, so that the column transform of all tiles
    /// in a row is a few contiguous vector loops: column j of tile t is phase (j mod m) at t + j / m.
    private func transformInput(
        _ image: UnsafePointer<Float>, _ r0: Int, _ rows: Int, into v: UnsafeMutablePointer<Float>,
        _ layout: InputLayout
    ) {
        if samplesInLanes { return transformInputSamples(image, r0, rows, into: v, layout) }
        assert(!readsPhases, "only the sample lanes' gather reads phases (`ConvGeometry.winogradTilesInRows`)")
        nonisolated(unsafe) let (x, v) = (image, v)
        let g = geometry, c = g.inChannels, tc = tileCols, reflected = reflected
        let span = tc + (r + m - 2) / m  // columns of one phase that a row of tiles reads
        let stride = ((m * span + 7) & ~7) + 8  // a buffer row, with room for whole vectors
        // Items of a few channels, one channel's tile rows after the other's: each plane is read top to bottom (a
        // stream the hardware prefetcher follows; tile row by tile row across the channels, the image reads stalled),
        // and a packed layout's panels get a channel's 32 columns from four consecutive tile rows.
        let group = 4, groups = (c + group - 1) / group
        parallelFor(groups, costPerItem: group * rows * tc * 12 * products, scratch: 2 * alpha * stride) {
            item, buffer in
            // d[i] = input row i of the tile row as [phase 0 | phase 1 | ...]; q[a] = row a of B^T d.
            let d = buffer, q = buffer + alpha * stride
            for ci in (item * group)..<Swift.min(c, (item + 1) * group) {
                for row in 0..<rows {
                    let (n, ty) = tileRow(r0 + row)
                    let src = x + (n * c + ci) * g.inPlane
                    d.update(repeating: 0, count: alpha * stride)
                    for i in 0..<alpha {
                        var y = m * ty - origin.top + i
                        if reflected && y >= -g.padding && y < g.inHeight + g.padding {
                            y = reflectedIndex(y, g.inHeight)
                        }
                        guard y >= 0 && y < g.inHeight else { continue }
                        let line = src + y * g.inWidth, phases = d + i * stride
                        deinterleave(line, g.inWidth, shift: origin.left, phases: m, into: phases, stride: span)
                        guard reflected else { continue }
                        for k in Swift.stride(from: 1, through: g.padding, by: 1) {  // columns -k and inWidth - 1 + k
                            let (left, right) = (origin.left - k, origin.left + g.inWidth - 1 + k)
                            phases[left % m * span + left / m] = line[k]
                            phases[right % m * span + right / m] = line[g.inWidth - 1 - k]
                        }
                    }
                    let scale = SIMD8<Float>(repeating: modulation.map { $0.inputScale[n * c + ci] } ?? 1)
                    forEachVector(m * span) { k in
                        Algorithm.input(
                            { i in load8(d + i * stride + k) * scale },
                            { a, value in store8(value, q + a * stride + k) })
                    }
                    for a in 0..<alpha {
                        let phases = q + a * stride
                        forEachVector(tc) { t in
                            let (column, count) = (row * tc + t, Swift.min(8, tc - t))
                            let offset = layout.vectorOffset(channel: ci, column: column, count: count)
                            Algorithm.input(
                                { j in load8(phases + (j % m) * span + t + j / m) },
                                { b, value in
                                    layout.store(
                                        value, v + (a * alpha + b) * layout.plane, offset: offset, channel: ci,
                                        column: column, count: count)
                                })
                        }
                    }
                }
            }
        }
    }

    /// The output tiles of tile rows r0..<r0+rows: A^T M A for the products M[., o, t], keeping the part inside the
    /// output.
    private func transformOutput(
        _ product: UnsafePointer<Float>, _ r0: Int, _ rows: Int, into out: UnsafeMutablePointer<Float>
    ) {
        if samplesInLanes { return transformOutputSamples(product, r0, rows, into: out) }
        nonisolated(unsafe) let (matrices, y) = (product, out)
        let g = geometry, o = g.outChannels, tc = tileCols, ld = chunkStride(rows)
        let plane = outputPlane(ld)
        let stride = (tc + 7) & ~7  // a buffer row, in whole vectors
        parallelFor(o, costPerItem: rows * tc * 10 * products, scratch: (m * alpha + m) * stride) { oi, buffer in
            // p[s * alpha + j] = entry j of row s of A^T M; e = output row s as its m phases of columns.
            let p = buffer, e = buffer + m * alpha * stride
            for row in 0..<rows {
                let (n, ty) = tileRow(r0 + row)
                let src = matrices + oi * ld + row * tc
                for j in 0..<alpha {
                    forEachVector(tc) { t in
                        Algorithm.output(
                            { i in load8(src + (i * alpha + j) * plane + t) },
                            { s, value in store8(value, p + (s * alpha + j) * stride + t) })
                    }
                }
                for s in 0..<m where m * ty + s < g.outHeight {
                    forEachVector(tc) { t in
                        Algorithm.output(
                            { j in load8(p + (s * alpha + j) * stride + t) },
                            { b, value in store8(value, e + b * stride + t) })
                    }
                    let dst = y + (n * o + oi) * g.outPlane + (m * ty + s) * g.outWidth
                    interleave(phases: e, m: m, stride: stride, g.outWidth, into: dst)
                    modulation?.epilogue.apply(dst, sample: n, channel: oi, y: m * ty + s, count: g.outWidth)
                }
            }
        }
    }

    /// dM[xi, o, t] = (A y A^T)[xi] for the mxm output-gradient tile y (zero outside the output) of every tile of
    /// tile rows r0..<r0+rows: the adjoint of `transformOutput`.
    private func transformOutputAdjoint(
        _ outGrad: UnsafePointer<Float>, _ r0: Int, _ rows: Int, into dm: UnsafeMutablePointer<Float>
    ) {
        if samplesInLanes { return transformOutputAdjointSamples(outGrad, r0, rows, into: dm) }
        nonisolated(unsafe) let (gy, dm) = (outGrad, dm)
        let g = geometry, o = g.outChannels, tc = tileCols, ld = chunkStride(rows)
        let plane = outputPlane(ld)
        let stride = (tc + 7) & ~7  // a buffer row, in whole vectors
        parallelFor(o, costPerItem: rows * tc * 10 * products, scratch: m * m * stride + m * alpha * 8) { oi, buffer in
            // The tile row's m gradient rows, each as its m phases of columns (zero outside the output); A y per
            // vector.
            let e = buffer, columns = buffer + m * m * stride
            for row in 0..<rows {
                let (n, ty) = tileRow(r0 + row)
                e.update(repeating: 0, count: m * m * stride)
                for s in 0..<m where m * ty + s < g.outHeight {
                    deinterleave(
                        gy + (n * o + oi) * g.outPlane + (m * ty + s) * g.outWidth, g.outWidth, shift: 0, phases: m,
                        into: e + m * s * stride, stride: stride)
                }
                let dst = dm + oi * ld + row * tc
                forEachVector(tc) { t in
                    for s in 0..<m {
                        Algorithm.outputAdjoint(
                            { l in load8(e + (m * s + l) * stride + t) },
                            { j, value in store8(value, columns + (s * alpha + j) * 8) })
                    }
                    for j in 0..<alpha {
                        Algorithm.outputAdjoint(
                            { s in load8(columns + (s * alpha + j) * 8) },
                            { i, value in store8(value, dst + (i * alpha + j) * plane + t) })
                    }
                }
            }
        }
    }

    // The sample layout. Each (sample block, channel) pair is one parallel work item: its eight planes are gathered
    // into a [rows][columns][8] buffer (zero outside the plane), every tile is transformed with whole vectors from
    // there, and output planes are scattered back from such a buffer.

    /// V as `transformInput` describes, for sample blocks b0..<b0+blocks.
    private func transformInputSamples(
        _ image: UnsafePointer<Float>, _ b0: Int, _ blocks: Int, into v: UnsafeMutablePointer<Float>,
        _ layout: InputLayout
    ) {
        nonisolated(unsafe) let (x, v) = (image, v)
        assert(!reflected, "the sample lanes' transform reads zero padding only")
        let g = geometry, c = g.inChannels, (tr, tc) = (tileRows, tileCols)
        let (rows, cols) = (m * tr + r - 1, m * tc + r - 1)  // the padded input the tiles read
        forEachBlockAndChannel(blocks, channels: c, rows: rows, cols: cols, extra: products, cost: 12) {
            block, ci, local, q, first in
            if readsPhases {
                gatherPhaseLanes(x, sample0: (b0 + block) * 8, channel: ci, into: local, rows: rows, cols: cols)
            } else {
                gatherLanes(
                    x, sample0: (b0 + block) * 8, channel: ci, channels: c, height: g.inHeight, width: g.inWidth,
                    top: origin.top, left: origin.left, into: local, rows: rows, cols: cols)
            }
            if let modulation {
                var scale = SIMD8<Float>()
                for lane in 0..<Swift.min(8, g.batch - (b0 + block) * 8) {
                    scale[lane] = modulation.inputScale[((b0 + block) * 8 + lane) * c + ci]
                }
                for i in 0..<(rows * cols) { store8(load8(local + i * 8) * scale, local + i * 8) }
            }
            var column = first
            for ty in 0..<tr {
                for tx in 0..<tc {
                    let d = local + (m * ty * cols + m * tx) * 8
                    for i in 0..<alpha {
                        Algorithm.input(
                            { j in load8(d + (i * cols + j) * 8) },
                            { b, value in store8(value, q + (i * alpha + b) * 8) })
                    }
                    let offset = layout.vectorOffset(channel: ci, column: column)!  // whole vectors: 8 | 32
                    for b in 0..<alpha {
                        Algorithm.input(
                            { i in load8(q + (i * alpha + b) * 8) },
                            { a, value in store8(value, v + (a * alpha + b) * layout.plane + offset) })
                    }
                    column += 8
                }
            }
        }
    }

    /// The output as `transformOutput` describes, for sample blocks b0..<b0+blocks.
    private func transformOutputSamples(
        _ product: UnsafePointer<Float>, _ b0: Int, _ blocks: Int, into out: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (matrices, y) = (product, out)
        let g = geometry, o = g.outChannels, (tr, tc) = (tileRows, tileCols), ld = chunkStride(blocks),
            plane = outputPlane(ld)
        let (rows, cols) = (m * tr, m * tc)
        forEachBlockAndChannel(blocks, channels: o, rows: rows, cols: cols, extra: m * alpha, cost: 10) {
            block, oi, local, p, first in
            var src = matrices + oi * ld + first
            for ty in 0..<tr {
                for tx in 0..<tc {
                    for j in 0..<alpha {
                        Algorithm.output(
                            { i in load8(src + (i * alpha + j) * plane) },
                            { s, value in store8(value, p + (s * alpha + j) * 8) })
                    }
                    for s in 0..<m {
                        let row = local + ((m * ty + s) * cols + m * tx) * 8
                        Algorithm.output(
                            { j in load8(p + (s * alpha + j) * 8) }, { b, value in store8(value, row + b * 8) })
                    }
                    src += 8
                }
            }
            scatterLanes(
                local, rows: rows, cols: cols, into: y, sample0: (b0 + block) * 8, channel: oi, channels: o,
                height: g.outHeight, width: g.outWidth)
            if let epilogue = modulation?.epilogue {
                for n in ((b0 + block) * 8)..<Swift.min(g.batch, (b0 + block + 1) * 8) {
                    epilogue.apply(plane: y + (n * o + oi) * g.outPlane, sample: n, channel: oi)
                }
            }
        }
    }

    /// dM as `transformOutputAdjoint` describes, for sample blocks b0..<b0+blocks.
    private func transformOutputAdjointSamples(
        _ outGrad: UnsafePointer<Float>, _ b0: Int, _ blocks: Int, into dm: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (gy, dm) = (outGrad, dm)
        let g = geometry, o = g.outChannels, (tr, tc) = (tileRows, tileCols), ld = chunkStride(blocks),
            plane = outputPlane(ld)
        let (rows, cols) = (m * tr, m * tc)
        forEachBlockAndChannel(blocks, channels: o, rows: rows, cols: cols, extra: m * alpha, cost: 10) {
            block, oi, local, columns, first in
            gatherLanes(
                gy, sample0: (b0 + block) * 8, channel: oi, channels: o, height: g.outHeight, width: g.outWidth,
                top: 0, left: 0, into: local, rows: rows, cols: cols)
            var dst = dm + oi * ld + first
            for ty in 0..<tr {
                for tx in 0..<tc {
                    for s in 0..<m {
                        let row = local + ((m * ty + s) * cols + m * tx) * 8
                        Algorithm.outputAdjoint(
                            { l in load8(row + l * 8) }, { j, value in store8(value, columns + (s * alpha + j) * 8) })
                    }
                    for j in 0..<alpha {
                        Algorithm.outputAdjoint(
                            { s in load8(columns + (s * alpha + j) * 8) },
                            { i, value in store8(value, dst + (i * alpha + j) * plane) })
                    }
                    dst += 8
                }
            }
        }
    }

    /// Runs body(block, channel, local, work, first) in parallel for sample blocks 0..<blocks of a chunk and every one
    /// of `channels`: `local` holds rows x cols x 8 floats, `work` `extra` vectors, and `first` is the column of the
    /// block's first tile in a transformed matrix. `cost`: operations per tile entry.
    private func forEachBlockAndChannel(
        _ blocks: Int, channels: Int, rows: Int, cols: Int, extra: Int, cost: Int,
        _ body: (Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) {
        let tiles = tileRows * tileCols
        parallelFor(blocks * channels, costPerItem: tiles * 8 * cost * products, scratch: (rows * cols + extra) * 8) {
            item, buffer in
            let (block, channel) = (item / channels, item % channels)
            body(block, channel, buffer, buffer + rows * cols * 8, block * tiles * 8)
        }
    }

    /// local[((y + top) * cols + x + left) * 8 + lane] = plane (sample0 + lane, channel)[y, x] of an [N, C, H, W]
    /// tensor, zero for samples past the batch and outside the plane; rows x cols covers the part that is read.
    /// Eight columns of the eight planes at a time, transposed.
    private func gatherLanes(
        _ t: UnsafePointer<Float>, sample0: Int, channel: Int, channels: Int, height: Int, width: Int,
        top: Int, left: Int, into local: UnsafeMutablePointer<Float>, rows: Int, cols: Int
    ) {
        local.update(repeating: 0, count: rows * cols * 8)
        let (h, w) = (Swift.min(height, rows - top), Swift.min(width, cols - left))
        let lanes = Swift.min(8, geometry.batch - sample0), src = t + (sample0 * channels + channel) * height * width
        let sampleStride = channels * height * width
        for y in 0..<h {
            let line = local + ((y + top) * cols + left) * 8
            for x in Swift.stride(from: 0, to: w, by: 8) {
                let n = Swift.min(8, w - x), at = src + y * width + x
                transpose8(
                    { l in l < lanes ? load8(at + l * sampleStride, n) : SIMD8() },
                    { j, v in if j < n { store8(v, line + (x + j) * 8) } })
            }
        }
    }

    /// `gatherLanes` of the phase image of `image` ([N, C / 4, 2 (H - 1), 2 (W - 1)] for this unpadded geometry's
    /// [N, C, H, W] input): plane 4c + 2r + q of it is image[n, c, 2Y + r - 1, 2X + q - 1], zero outside the image.
    /// Eight phase columns are the even lanes of sixteen image columns.
    private func gatherPhaseLanes(
        _ image: UnsafePointer<Float>, sample0: Int, channel: Int, into local: UnsafeMutablePointer<Float>, rows: Int,
        cols: Int
    ) {
        local.update(repeating: 0, count: rows * cols * 8)
        let g = geometry, (r, q) = (channel / 2 % 2, channel % 2), channels = g.inChannels / 4
        let (height, width) = (2 * (g.inHeight - 1), 2 * (g.inWidth - 1))
        let (h, w) = (Swift.min(g.inHeight, rows), Swift.min(g.inWidth, cols))
        let lanes = Swift.min(8, g.batch - sample0), sampleStride = channels * height * width
        let src = image + (sample0 * channels + channel / 4) * height * width
        @inline(__always) func phaseColumns(_ line: UnsafePointer<Float>, from x0: Int, count n: Int) -> SIMD8<Float> {
            if n == 8 && x0 >= 0 && x0 + 16 <= width {
                return UnsafeRawPointer(line + x0).loadUnaligned(as: SIMD16<Float>.self).evenHalf
            }
            if n == 8 && x0 == -1 && width >= 16 {  // the padding column, then the odd lanes of columns 0..<15
                let odd = UnsafeRawPointer(line).loadUnaligned(as: SIMD16<Float>.self).oddHalf
                return SIMD8(0, odd[0], odd[1], odd[2], odd[3], odd[4], odd[5], odd[6])
            }
            var v = SIMD8<Float>()
            for j in 0..<n where x0 + 2 * j >= 0 && x0 + 2 * j < width { v[j] = line[x0 + 2 * j] }
            return v
        }
        for y in 0..<h {
            let imageRow = 2 * y + r - 1
            guard imageRow >= 0 && imageRow < height else { continue }
            let line = local + y * cols * 8, at = src + imageRow * width
            for x in Swift.stride(from: 0, to: w, by: 8) {
                let n = Swift.min(8, w - x)
                transpose8(
                    { l in l < lanes ? phaseColumns(at + l * sampleStride, from: 2 * x + q - 1, count: n) : SIMD8() },
                    { j, v in if j < n { store8(v, line + (x + j) * 8) } })
            }
        }
    }

    /// The inverse of `gatherLanes` with no padding, for samples inside the batch.
    private func scatterLanes(
        _ local: UnsafePointer<Float>, rows: Int, cols: Int, into t: UnsafeMutablePointer<Float>, sample0: Int,
        channel: Int, channels: Int, height: Int, width: Int
    ) {
        let lanes = Swift.min(8, geometry.batch - sample0), dst = t + (sample0 * channels + channel) * height * width
        let sampleStride = channels * height * width
        for y in 0..<height {
            let line = local + y * cols * 8
            for x in Swift.stride(from: 0, to: width, by: 8) {
                let n = Swift.min(8, width - x), at = dst + y * width + x
                transpose8(
                    { j in j < n ? load8(line + (x + j) * 8) : SIMD8() },
                    { l, v in if l < lanes { store8(v, at + l * sampleStride, n) } })
            }
        }
    }

    /// One matrix of each of the products: base pointer, leading dimension, distance between consecutive matrices.
    private struct Operand {
        let base: UnsafeMutablePointer<Float>, ld: Int, step: Int
    }

    /// Where a chunk's transformed input V[xi, c, column] lies: row-major [alpha^2, C, ld] (OpenBLAS's operand), or
    /// each V_xi as `PackedGEMM` column panels.
    private struct InputLayout {
        let channels: Int, ld: Int, packed: Bool
        /// Floats between consecutive V_xi.
        let plane: Int

        /// Row-major with leading dimension ld; consecutive V_xi a cache line further apart than their size, as below.
        init(channels: Int, ld: Int) {
            (self.channels, self.ld, packed, plane) = (channels, ld, false, channels * ld + 16)
        }

        /// Column panels of `columns` columns. Consecutive V_xi are a cache line further apart than their size: the
        /// size is often a multiple of 4 KB (C x 32 x 4 bytes per panel), which would put all alpha^2 places that one
        /// channel's transform writes in the same cache sets.
        init(channels: Int, panelsOf columns: Int) {
            (self.channels, ld, packed) = (channels, 0, true)
            plane = PackedGEMM.columnPanelsCount(k: channels, n: columns) + 16
        }

        /// Where columns j..<j+count of channel c lie in each V_xi, when one vector store puts them there: always in
        /// the row-major layout (lanes past the chunk's columns land in its stride), in the packed one when they
        /// are eight and within one panel; else nil (`storeLanes`).
        @inline(__always) func vectorOffset(channel c: Int, column j: Int, count: Int = 8) -> Int? {
            guard packed else { return c * ld + j }
            guard count == 8 && j % PackedGEMM.columns <= PackedGEMM.columns - 8 else { return nil }
            return PackedGEMM.columnPanelOffset(k: c, column: j, depth: channels)
        }

        /// Stores the first `count` lanes of v as columns j..<j+count of channel c of the packed V_xi at `matrix`,
        /// lane by lane (where `vectorOffset` is nil).
        func storeLanes(
            _ v: SIMD8<Float>, _ matrix: UnsafeMutablePointer<Float>, channel c: Int, column j: Int, count: Int
        ) {
            for lane in 0..<count {
                matrix[PackedGEMM.columnPanelOffset(k: c, column: j + lane, depth: channels)] = v[lane]
            }
        }

        /// Stores v as `vectorOffset` and `storeLanes` describe: at `offset` when it is not nil.
        @inline(__always) func store(
            _ v: SIMD8<Float>, _ matrix: UnsafeMutablePointer<Float>, offset: Int?, channel c: Int, column j: Int,
            count: Int
        ) {
            if let offset {
                store8(v, matrix + offset)
            } else {
                storeLanes(v, matrix, channel: c, column: j, count: count)
            }
        }
    }

    /// The weights of the products: the matrices U (OpenBLAS's operand A; with `flipped`, the transposed geometry's
    /// as `backwardData` describes), or each product's A packed as `PackedGEMM` row panels.
    private enum ProductWeights {
        case matrices(Operand, flipped: Bool)
        case panels(UnsafeMutablePointer<Float>, step: Int)
    }

    /// xi with its first and last rows and columns swapped: the product of the flipped kernels (see `backwardData`).
    @inline(__always) private static func flippedProduct(_ xi: Int) -> Int {
        let alpha = Algorithm.outputs + Algorithm.taps - 1
        @inline(__always) func swapEnds(_ i: Int) -> Int { i == 0 ? alpha - 1 : i == alpha - 1 ? 0 : i }
        return swapEnds(xi / alpha) * alpha + swapEnds(xi % alpha)
    }

    /// The alpha^2 products of one chunk: C_xi = op(A_xi') op(B_xi), each single-threaded and spread over the threads
    /// (in row or column blocks too when the products do not divide evenly among the threads, as F(2x2, 2x2)'s 9 do
    /// not). With `flippedA`, op(A) is the transpose and xi' is xi with its first and last rows and columns swapped
    /// (see `backwardData`); otherwise xi' = xi.
    private func gemms(
        flippedA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, a: Operand, b: Operand,
        beta: Float = 0, c: Operand
    ) {
        // A product split in parts splits its larger side, so that the smaller operand is the one packed by every part.
        let splitRows = m > n
        let parts = products % Threads.count == 0 ? 1 : Swift.min(Threads.count, Swift.max(1, (splitRows ? m : n) / 16))
        parallelFor(products * parts, costPerItem: m * n * k / parts) { item in
            let (xi, part) = (item / parts, item % parts)
            let xa = flippedA ? Self.flippedProduct(xi) : xi
            var (aBlock, bBlock, cBlock) = (a.base + xa * a.step, b.base + xi * b.step, c.base + xi * c.step)
            let extent = splitRows ? m : n, (lo, hi) = (extent * part / parts, extent * (part + 1) / parts)
            if splitRows {
                aBlock += flippedA ? lo : lo * a.ld
                cBlock += lo * c.ld
            } else {
                bBlock += transB ? lo * b.ld : lo
                cBlock += lo
            }
            cblas_sgemm(
                CblasRowMajor, flippedA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(splitRows ? hi - lo : m), Int32(splitRows ? n : hi - lo), Int32(k), 1, aBlock, Int32(a.ld),
                bBlock, Int32(b.ld), beta, cBlock, Int32(c.ld))
        }
    }

    /// The alpha^2 products C_xi = A_xi B_xi of one chunk on `PackedGEMM`'s micro-kernel, A as row panels (`step`
    /// floats from one product's to the next) and B in the packed layout, spread over the threads like `gemms` (in
    /// row panels).
    private func packedGemms(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aStep: Int, b: UnsafePointer<Float>, bStep: Int, c: Operand
    ) {
        let panels = (m + PackedGEMM.rows - 1) / PackedGEMM.rows
        let parts = products % Threads.count == 0 ? 1 : Swift.min(Threads.count, panels)
        parallelFor(products * parts, costPerItem: m * n * k / parts) { item in
            let (xi, part) = (item / parts, item % parts)
            PackedGEMM.multiply(
                m: m, n: n, k: k, a: a + xi * aStep, b: b + xi * bStep, c: c.base + xi * c.step, ldc: c.ld,
                rowPanels: (panels * part / parts)..<(panels * (part + 1) / parts))
        }
    }

    /// The alpha^2 products C_xi = A_xi B_xi^T of one chunk (with `accumulate`, C_xi += A_xi B_xi^T): the weight
    /// gradient's, on `PackedGEMM`'s micro-kernel, each product's A (M x K) packed as row panels and its B (N x K) as
    /// column panels of B^T, spread over the threads like `packedGemms`. OpenBLAS, which packs both operands too,
    /// also clears each C before it accumulates.
    private func packedTransposedGemms(
        m: Int, n: Int, k: Int, a: Operand, b: Operand, accumulate: Bool, c: Operand
    ) throws {
        let panels = (m + PackedGEMM.rows - 1) / PackedGEMM.rows
        let parts = products % Threads.count == 0 ? 1 : Swift.min(Threads.count, panels)
        let items = products * parts, chunks = Swift.min(Threads.count, items)
        let aFloats = PackedGEMM.rowPanelsCount(m: m, k: k),
            perChunk = aFloats + PackedGEMM.columnPanelsCount(k: k, n: n)
        try Scratch.with(chunks * perChunk) { buffers in
            nonisolated(unsafe) let buffers = buffers
            WorkerPool.shared.run(chunks) { chunk in
                let (aPanels, bPanels) = (buffers + chunk * perChunk, buffers + chunk * perChunk + aFloats)
                for item in (chunk * items / chunks)..<((chunk + 1) * items / chunks) {
                    let (xi, part) = (item / parts, item % parts)
                    let rowPanels = (panels * part / parts)..<(panels * (part + 1) / parts)
                    let i0 = rowPanels.lowerBound * PackedGEMM.rows
                    let height = Swift.min(m, rowPanels.upperBound * PackedGEMM.rows) - i0
                    PackedGEMM.packRows(
                        a.base + xi * a.step + i0 * a.ld, lda: a.ld, m: height, k: k, into: aPanels + i0 * k)
                    PackedGEMM.packColumns(transposed: b.base + xi * b.step, ldb: b.ld, k: k, n: n, into: bPanels)
                    PackedGEMM.multiply(
                        m: m, n: n, k: k, a: aPanels, b: bPanels, c: c.base + xi * c.step, ldc: c.ld,
                        rowPanels: rowPanels, accumulate: accumulate)
                }
            }
        }
    }

    /// Whether the products with `weight` run on `PackedGEMM`'s micro-kernel: where this build has it, for products
    /// with a register tile's rows (12 output channels) or more and at least half as many columns as rows in all, or
    /// two column panels where a `WeightCache` keeps the weights. They are packed once per weight (per call, unless
    /// the cache keeps them), which narrow products would not repay: CycleGAN's 32x32 residual convs in training (64
    /// columns) measured 4% slower per step packed per call, 0.97 of the step's time packed once (the same panels
    /// serve the step's wider passes).
    private func usesPackedGEMM(_ weight: UnsafePointer<Float>) -> Bool {
        let o = geometry.outChannels, n = columns(units)
        guard PackedGEMM.isAvailable && o >= PackedGEMM.rows else { return false }
        return 2 * n >= o || (n >= 2 * PackedGEMM.columns && WeightCache.keeps(weight))
    }

    /// Floats between consecutive matrices U_xi (and their panels): a cache line more than their size, which is often
    /// a multiple of 4 KB (which would put the alpha^2 places that one kernel's transform writes in the same cache
    /// sets).
    private func productStep(_ floats: Int) -> Int { floats + 16 }

    /// Floats between consecutive M_xi (the products' outputs, or their gradients) of a chunk whose rows are `ld`
    /// floats long: like the weights', a cache line more than their size.
    private func outputPlane(_ ld: Int) -> Int { productStep(geometry.outChannels * ld) }

    /// Runs body with the products' weights for this geometry (or with `flipped` for the transposed one, as
    /// `backwardData` describes): the matrices U, or with `packed` their `PackedGEMM` row panels; kept by the
    /// thread's `WeightCache` when it holds the weight constant, else computed into scratch. With `reversed`, `weight`
    /// is the weight of the convolution whose image gradient this geometry computes ([C, O]), and this geometry's own
    /// is its kernels reversed, channels swapped.
    private func withProductWeights(
        _ weight: UnsafePointer<Float>, packed: Bool, flipped: Bool, reversed: Bool = false,
        _ body: (ProductWeights) throws -> Void
    ) throws {
        let (o, c) = (geometry.outChannels, geometry.inChannels), uStep = productStep(o * c)
        /// body(this geometry's own weight [O, C, r, r]).
        func withOwnWeight(_ body: (UnsafePointer<Float>) throws -> Void) throws {
            guard reversed else { return try body(weight) }
            try Scratch.with(o * c * r * r) { own in
                reverseKernels(weight, outChannels: c, inChannels: o, taps: r * r, into: own)
                try body(own)
            }
        }
        guard packed else {
            let form = WeightCache.Form.winograd(alpha: alpha, reversed: reversed)
            return try WeightCache.withDerived(weight, form, count: products * uStep) { u in
                try body(.matrices(Operand(base: u, ld: c, step: uStep), flipped: flipped))
            } compute: { u in
                try withOwnWeight { transformWeights($0, into: u, step: uStep) }
            }
        }
        let (rows, depth) = flipped ? (c, o) : (o, c), step = productStep(PackedGEMM.rowPanelsCount(m: rows, k: depth))
        let form = WeightCache.Form.winogradPanels(alpha: alpha, flipped: flipped, reversed: reversed)
        try WeightCache.withDerived(weight, form, count: products * step) { panels in
            try body(.panels(panels, step: step))
        } compute: { panels in
            try transformWeightsIntoPanels(weight, flipped: flipped, reversed: reversed, into: panels, step: step)
        }
    }

    /// out = conv(image, weight) (no bias).
    func forward(image: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) throws {
        try withProductWeights(weight, packed: usesPackedGEMM(weight), flipped: false) {
            try run(image: image, weights: $0, out: out)
        }
    }

    /// imageGrad = conv^T(outGrad, weight): the forward algorithm over the transposed geometry (kernel flipped,
    /// channels swapped, padding r - 1 - p). For F(2, .), reversing a kernel swaps the first and last entries of G g
    /// (G's middle rows are symmetric), so the flipped kernels' U is this weight's U with the first and last rows and
    /// columns of xi swapped, and swapping the channels transposes each U_xi: no weight transform of its own. F(4, .)
    /// transforms the reversed kernels, a form of this weight that a `WeightCache` keeps like U.
    func backwardData(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        let g = geometry, (o, c) = (g.outChannels, g.inChannels)
        let transposed = WinogradConvolution(
            ConvGeometry(
                batch: g.batch, inChannels: o, inHeight: g.outHeight, inWidth: g.outWidth, outChannels: c,
                outHeight: g.inHeight,
                outWidth: g.inWidth, kernelHeight: r, kernelWidth: r, stride: 1, padding: r - 1 - g.padding))
        guard Algorithm.reversalSwapsEnds else {
            return try transposed.withProductWeights(
                weight, packed: transposed.usesPackedGEMM(weight), flipped: false, reversed: true
            ) {
                try transposed.run(image: outGrad, weights: $0, out: imageGrad)
            }
        }
        try withProductWeights(weight, packed: transposed.usesPackedGEMM(weight), flipped: true) {
            try transposed.run(image: outGrad, weights: $0, out: imageGrad)
        }
    }

    /// The chunk loop of `forward` with the products' weights: the transformed input is written straight into
    /// `PackedGEMM`'s panels when the weights are packed for it.
    private func run(image: UnsafePointer<Float>, weights: ProductWeights, out: UnsafeMutablePointer<Float>) throws {
        let (o, c, ld) = (geometry.outChannels, geometry.inChannels, chunkStride(unitsPerChunk))
        let inputFloats: Int
        switch weights {
        case .matrices: inputFloats = InputLayout(channels: c, ld: ld).plane
        case .panels: inputFloats = InputLayout(channels: c, panelsOf: columns(unitsPerChunk)).plane
        }
        try Scratch.with(products * inputFloats) { v in
            try Scratch.with(products * outputPlane(ld)) { m in
                forEachChunk { r0, rows in
                    let (n, ld) = (columns(rows), chunkStride(rows)),
                        product = Operand(base: m, ld: ld, step: outputPlane(ld))
                    switch weights {
                    case .matrices(let u, let flipped):
                        let layout = InputLayout(channels: c, ld: ld)
                        transformInput(image, r0, rows, into: v, layout)
                        gemms(
                            flippedA: flipped, m: o, n: n, k: c, a: u, b: Operand(base: v, ld: ld, step: layout.plane),
                            c: product)
                    case .panels(let a, let step):
                        let layout = InputLayout(channels: c, panelsOf: n)
                        transformInput(image, r0, rows, into: v, layout)
                        packedGemms(m: o, n: n, k: c, a: a, aStep: step, b: v, bStep: layout.plane, c: product)
                    }
                    transformOutput(m, r0, rows, into: out)
                }
            }
        }
    }

    /// weightGrad = the adjoint of `forward` in the weight: dU_xi = sum over chunks of dM_xi V_xi^T, then G^T dU G.
    func backwardWeight(
        image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>
    ) throws {
        let (o, c, ld) = (geometry.outChannels, geometry.inChannels, chunkStride(unitsPerChunk))
        try Scratch.with(products * productStep(o * c)) { du in
            try Scratch.with(products * InputLayout(channels: c, ld: ld).plane) { v in
                try Scratch.with(products * outputPlane(ld)) { dm in
                    try forEachChunk { r0, rows in
                        let ld = chunkStride(rows), layout = InputLayout(channels: c, ld: ld)
                        transformInput(image, r0, rows, into: v, layout)
                        transformOutputAdjoint(outGrad, r0, rows, into: dm)
                        let (a, b) = (
                            Operand(base: dm, ld: ld, step: outputPlane(ld)),
                            Operand(base: v, ld: ld, step: layout.plane)
                        )
                        let product = Operand(base: du, ld: c, step: productStep(o * c))
                        if PackedGEMM.isAvailable && o >= PackedGEMM.rows {
                            try packedTransposedGemms(
                                m: o, n: c, k: columns(rows), a: a, b: b, accumulate: r0 > 0, c: product)
                        } else {
                            gemms(
                                transB: true, m: o, n: c, k: columns(rows), a: a, b: b, beta: r0 == 0 ? 0 : 1,
                                c: product)
                        }
                    }
                    transformWeightsAdjoint(du, into: weightGrad)
                }
            }
        }
    }
}

/// The kernels [C, taps] of one output channel as [taps, C] (or with `toTaps` false, back), so that the weight
/// transforms load eight channels of one tap as a vector. 2x2 kernels move eight channels at a time.
private func transposeTaps(
    _ from: UnsafePointer<Float>, channels c: Int, taps: Int, into to: UnsafeMutablePointer<Float>,
    toTaps: Bool = true
) {
    var start = 0
    if taps == 4 {
        while start + 8 <= c {
            if toTaps {  // the even lanes of the even lanes are tap 0 of eight channels, and so on
                let v = UnsafeRawPointer(from + start * 4).loadUnaligned(as: SIMD32<Float>.self)
                let (even, odd) = (v.evenHalf, v.oddHalf)
                store8(even.evenHalf, to + start)
                store8(odd.evenHalf, to + c + start)
                store8(even.oddHalf, to + 2 * c + start)
                store8(odd.oddHalf, to + 3 * c + start)
            } else {
                var (even, odd, v) = (SIMD16<Float>(), SIMD16<Float>(), SIMD32<Float>())
                (even.evenHalf, odd.evenHalf) = (load8(from + start), load8(from + c + start))
                (even.oddHalf, odd.oddHalf) = (load8(from + 2 * c + start), load8(from + 3 * c + start))
                (v.evenHalf, v.oddHalf) = (even, odd)
                UnsafeMutableRawPointer(to + start * 4).storeBytes(of: v, as: SIMD32<Float>.self)
            }
            start += 8
        }
    }
    for ci in start..<c {
        for k in 0..<taps {
            if toTaps { to[k * c + ci] = from[ci * taps + k] } else { to[ci * taps + k] = from[k * c + ci] }
        }
    }
}

/// Runs body(t) with t[c, tap, o] = weight[o, c, tap] for a weight [O, C, taps], kept by the thread's cache (form
/// `tapsMajor`) where it keeps intermediate forms.
func withTapsMajor(
    _ weight: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int, taps: Int,
    _ body: (UnsafePointer<Float>) throws -> Void
) throws {
    try WeightCache.withDerived(weight, .tapsMajor, count: o * c * taps) {
        try body($0)
    } compute: {
        transposeMatrix(weight, rows: o, columns: c * taps, into: $0)
    }
}

/// transposed[j, i] = matrix[i, j] for a rows x columns matrix, in 8 x 8 blocks transposed in registers.
private func transposeMatrix(
    _ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into transposed: UnsafeMutablePointer<Float>
) {
    nonisolated(unsafe) let (a, t) = (matrix, transposed)
    parallelFor((rows + 7) / 8, costPerItem: 8 * columns) { block in
        transposeRows(a, rows: rows, columns: columns, from: block * 8, into: t)
    }
}

/// t[c, tap, o] = weight[c, o, taps - 1 - tap] for a weight [C, O, taps]: the weight [O, C, taps] of the convolution
/// whose image gradient's weight `weight` is (kernels reversed, channels swapped), taps-major (`withTapsMajor`).
private func reversedTapsMajor(
    _ weight: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int, taps: Int,
    into t: UnsafeMutablePointer<Float>
) {
    nonisolated(unsafe) let (w, t) = (weight, t)
    let blocks = (o + 7) / 8
    parallelFor(c * blocks, costPerItem: 8 * taps) { item in
        let (ci, block) = (item / blocks, item % blocks)
        transposeRows(
            w + ci * o * taps, rows: o, columns: taps, from: block * 8, into: t + ci * taps * o, reversed: true)
    }
}

/// transposed[j, i] = matrix[i, j] for the eight rows i from r0 (fewer at the end) of a rows x columns matrix; with
/// `reversed`, row columns - 1 - j of transposed instead.
@inline(__always) private func transposeRows(
    _ a: UnsafePointer<Float>, rows: Int, columns: Int, from r0: Int, into t: UnsafeMutablePointer<Float>,
    reversed: Bool = false
) {
    let valid = Swift.min(8, rows - r0)
    for c0 in Swift.stride(from: 0, to: columns, by: 8) {
        let n = Swift.min(8, columns - c0)
        transpose8(
            { i in i < valid ? load8(a + (r0 + i) * columns + c0, n) : SIMD8() },
            { j, v in
                guard j < n else { return }
                store8(v, t + (reversed ? columns - 1 - c0 - j : c0 + j) * rows + r0, valid)
            })
    }
}

/// reversed[c, o] = weight[o, c] reversed along both axes ([O, C, taps] to [C, O, taps]): the weight of a convolution's
/// image gradient.
private func reverseKernels(
    _ weight: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int, taps: Int,
    into reversed: UnsafeMutablePointer<Float>
) {
    nonisolated(unsafe) let (w, f) = (weight, reversed)
    parallelFor(o, costPerItem: c * taps) { oi in
        for ci in 0..<c {
            let (src, dst) = (w + (oi * c + ci) * taps, f + (ci * o + oi) * taps)
            for k in 0..<taps { dst[k] = src[taps - 1 - k] }
        }
    }
}
