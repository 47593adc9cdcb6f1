import CShim
import Glibc
import SwiftGANCore

/// Adam (Kingma & Ba 2015) with PyTorch's bias correction and optional L2 weight decay; the update is one fused
/// pass over each parameter.
public final class Adam: Optimizer {
    public let parameters: [Tensor]
    public var step = 0
    public let beta1: Double, beta2: Double, eps: Float, weightDecay: Float
    /// First and second moments, per parameter.
    public let m: [Tensor], v: [Tensor]
    public var state: [[Tensor]] { zip(m, v).map { [$0, $1] } }

    public init(
        _ parameters: [Tensor], beta1: Double = 0.9, beta2: Double = 0.999, eps: Float = 1e-8, weightDecay: Float = 0
    ) throws {
        try checkParameters(parameters)
        try require(beta1 >= 0 && beta1 < 1, "beta1: expected a value in [0, 1), got \(beta1)")
        try require(beta2 >= 0 && beta2 < 1, "beta2: expected a value in [0, 1), got \(beta2)")
        try require(eps >= 0, "eps: expected a non-negative value, got \(eps)")
        try require(weightDecay >= 0, "weight_decay: expected a non-negative value, got \(weightDecay)")
        self.parameters = parameters
        (self.beta1, self.beta2, self.eps, self.weightDecay) = (beta1, beta2, eps, weightDecay)
        m = try zerosLike(parameters)
        v = try zerosLike(parameters)
    }

    public func updateParameters(lr: Float) throws {
        step += 1
        // Coefficients in double precision, as PyTorch computes them from Python floats.
        let (b1, b2) = (Float(beta1), Float(beta2)), (a1, a2) = (Float(1 - beta1), Float(1 - beta2))
        let (eps, wd) = (eps, weightDecay)
        let c1 = 1 - Glibc.pow(beta1, Double(step)), c2 = 1 - Glibc.pow(beta2, Double(step))
        let stepSize = Float(Double(lr) / c1), c2Root = Float(c2.squareRoot())
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            for t in [p, m[i], v[i]] { try StepTransaction.preserve(t) }
            nonisolated(unsafe) let w = p.data, gd = g.data, md = m[i].data, vd = v[i].data
            parallelRanges(p.count) { r in
                // Sixteen lanes at a time (the same operations in the same order as one element at a time: sqrt and
                // division are exactly rounded, so the result does not depend on the width).
                var j = r.lowerBound
                while j < r.upperBound {
                    let n = Swift.min(16, r.upperBound - j)
                    let gj = Lanes.load(gd + j, n) + wd * Lanes.load(w + j, n)
                    let mj = b1 * Lanes.load(md + j, n) + a1 * gj
                    let vj = b2 * Lanes.load(vd + j, n) + a2 * gj * gj
                    Lanes.store(mj, md + j, n)
                    Lanes.store(vj, vd + j, n)
                    Lanes.store(Lanes.load(w + j, n) - stepSize * mj / (sg_square_root16(vj) / c2Root + eps), w + j, n)
                    j += n
                }
            }
        }
    }
}

/// Sixteen-float vectors loaded from and stored to raw buffers: the first n lanes when n < 16 (the rest zero).
private enum Lanes {
    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ n: Int) -> SIMD16<Float> {
        if n == 16 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
        var v = SIMD16<Float>()
        for i in 0..<n { v[i] = p[i] }
        return v
    }

    @inline(__always) static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        if n == 16 { return UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self) }
        for i in 0..<n { p[i] = v[i] }
    }
}
