import Glibc
import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// Adaptive discriminator augmentation (Karras et al. 2020, "Training GANs with limited data"): every image D sees
/// (reals and fakes alike) goes through pixel blitting (x-flip, 90-degree rotation, integer translation with
/// reflection) and color transforms (brightness, contrast, luma flip, hue, saturation), each applied to each sample
/// with probability p. Everything is differentiable, so G learns through it. p follows the sign of D's outputs on
/// reals toward a target, as in NVlabs/stylegan2-ada-pytorch.
public final class AdaptiveAugment {
    /// The augmentation probability (state "augment_p").
    public let p: Tensor
    /// Sum of sign(D(real)) since the last adjustment (state "ada_signs") and how many values it holds.
    let signSum: Tensor
    var signCount = 0
    public let target: Float, interval: Int, speedImages: Float

    public init(target: Float = 0.6, interval: Int = 4, speedImages: Float = 500_000, initialP: Float = 0) throws {
        p = Tensor(scalar: initialP)
        signSum = Tensor(scalar: 0)
        (self.target, self.interval, self.speedImages) = (target, interval, speedImages)
    }

    /// Accumulates D's logits on reals; every `interval` steps moves p by sign(mean sign - target) at a pace that
    /// could take it from 0 to 1 in `speedImages` images. `batch` is the global batch; with a `communicator`, the
    /// signs of every rank's reals are summed (so p stays the same on all ranks).
    func observe(realLogits: Tensor, batch: Int, step: Int, communicator: (any Communicator)? = nil) throws {
        var signs: [Double] = [0, Double(realLogits.count)]
        for i in 0..<realLogits.count { signs[0] += realLogits.data[i] > 0 ? 1 : (realLogits.data[i] < 0 ? -1 : 0) }
        try communicator?.allreduceSum(&signs)
        try StepTransaction.preserve(signSum)
        try StepTransaction.preserve(p)
        signSum.data[0] += Float(signs[0])
        signCount += Int(signs[1])
        guard (step + 1) % interval == 0, signCount > 0 else { return }
        let rt = signSum.data[0] / Float(signCount)
        let adjust = (rt > target ? 1 : (rt < target ? -1 : 0)) * Float(batch * interval) / speedImages
        p.data[0] = Swift.min(Swift.max(p.data[0] + adjust, 0), 1)
        signSum.data[0] = 0
        signCount = 0
    }

    /// The augmented batch (the identity, drawing nothing, while p is 0).
    public func callAsFunction(_ x: Tensor, rng: inout RandomGenerator) throws -> Tensor {
        let prob = p.item
        guard prob > 0 else { return x }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let u = try rng.uniform([n, 12]), z = try rng.normal([n, 3])
        let on = { (s: Int, k: Int) -> Bool in u.data[s * 12 + k] < prob }
        let draw = { (s: Int, k: Int) -> Float in u.data[s * 12 + k] }

        // Pixel blitting: for every output pixel, its source after translation (reflected), rotation and flip.
        var source = [Int32](repeating: 0, count: n * h * w)
        let maxShift = 0.125
        for s in 0..<n {
            let flip = on(s, 0) && draw(s, 1) < 0.5
            let turns = on(s, 2) && h == w ? Int(draw(s, 3) * 4) % 4 : 0
            let tx = on(s, 4) ? Int((Double(draw(s, 5) * 2 - 1) * maxShift * Double(w)).rounded()) : 0
            let ty = on(s, 4) ? Int((Double(draw(s, 6) * 2 - 1) * maxShift * Double(h)).rounded()) : 0
            for y in 0..<h {
                for xo in 0..<w {
                    var (sx, sy) = (reflect(xo - tx, w), reflect(y - ty, h))
                    for _ in 0..<turns { (sx, sy) = (w - 1 - sy, sx) }
                    if flip { sx = w - 1 - sx }
                    source[s * h * w + y * w + xo] = Int32(sy * w + sx)
                }
            }
        }
        var out = try gatherPixels(x, source: source)

        // Color: a per-sample affine map of RGB, built as a 4x4 matrix product (grayscale uses its row mean).
        var matrices = [Float](repeating: 0, count: n * c * (c + 1))
        for s in 0..<n {
            var m = Matrix4.identity
            if on(s, 7) { m = Matrix4.translation(Double(z.data[s * 3]) * 0.2) * m }
            if on(s, 8) { m = Matrix4.scale(Glibc.exp2(Double(z.data[s * 3 + 1]) * 0.5)) * m }
            if on(s, 9) && draw(s, 10) < 0.5 { m = Matrix4.lumaFlip * m }
            if on(s, 10) { m = Matrix4.hueRotation(Double(draw(s, 11) * 2 - 1) * Double.pi) * m }
            if on(s, 11) { m = Matrix4.saturation(Glibc.exp2(Double(z.data[s * 3 + 2]))) * m }
            let base = s * c * (c + 1)
            if c == 3 {
                for i in 0..<3 { for j in 0..<4 { matrices[base + i * 4 + j] = Float(m[i, j]) } }
            } else {
                // Each channel gets the mean RGB row: x * sum(row[0..<3]) + row[3], on the diagonal.
                let gain = (0..<3).map { i in (0..<3).map { m[i, $0] }.reduce(0, +) }.reduce(0, +) / 3
                let shift = (0..<3).map { m[$0, 3] }.reduce(0, +) / 3
                for i in 0..<c {
                    matrices[base + i * (c + 1) + i] = Float(gain)
                    matrices[base + i * (c + 1) + c] = Float(shift)
                }
            }
        }
        out = try colorTransform(out, matrices: try Tensor(matrices, shape: [n, c, c + 1]))
        return out
    }
}

/// Reflects an index into 0..<n (edge not repeated), as reflection padding does.
private func reflect(_ i: Int, _ n: Int) -> Int {
    guard n > 1 else { return 0 }
    let period = 2 * (n - 1)
    var k = i % period
    if k < 0 { k += period }
    return k < n ? k : period - k
}

/// A 4x4 matrix of homogeneous RGB color transforms.
struct Matrix4 {
    var m: [Double]
    subscript(i: Int, j: Int) -> Double { m[i * 4 + j] }

    static let identity = Matrix4(m: (0..<16).map { $0 % 5 == 0 ? 1 : 0 })
    /// The unit luma axis (1, 1, 1) / sqrt(3).
    static let luma = [1, 1, 1].map { $0 / Double(3).squareRoot() }

    static func * (a: Matrix4, b: Matrix4) -> Matrix4 {
        Matrix4(m: (0..<16).map { k in (0..<4).map { a[k / 4, $0] * b[$0, k % 4] }.reduce(0, +) })
    }
    static func translation(_ t: Double) -> Matrix4 {
        Matrix4(m: (0..<16).map { k in k % 5 == 0 ? 1 : (k % 4 == 3 && k < 12 ? t : 0) })
    }
    static func scale(_ s: Double) -> Matrix4 { Matrix4(m: (0..<16).map { k in k % 5 == 0 ? (k == 15 ? 1 : s) : 0 }) }
    /// v v^T over the RGB block.
    static func lumaOuter(_ f: (Double, Int, Int) -> Double) -> Matrix4 {
        Matrix4(
            m: (0..<16).map { k in
                let (i, j) = (k / 4, k % 4)
                return i < 3 && j < 3 ? f(luma[i] * luma[j], i, j) : (i == j ? 1 : 0)
            })
    }
    /// Mirrors colors through the luma axis' orthogonal plane: I - 2 v v^T.
    static let lumaFlip = lumaOuter { vv, i, j in (i == j ? 1 : 0) - 2 * vv }
    /// Rotation about the luma axis by theta (Rodrigues).
    static func hueRotation(_ theta: Double) -> Matrix4 {
        let (c, s) = (cos(theta), sin(theta))
        let v = luma
        let cross = [[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]]
        return lumaOuter { vv, i, j in (i == j ? c : 0) + s * cross[i][j] + (1 - c) * vv }
    }
    /// Scales the chroma (the part orthogonal to the luma axis) by s.
    static func saturation(_ s: Double) -> Matrix4 { lumaOuter { vv, i, j in vv + ((i == j ? 1 : 0) - vv) * s } }
}
