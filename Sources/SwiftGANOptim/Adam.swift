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
                for j in r {
                    let gj = gd[j] + wd * w[j]
                    md[j] = b1 * md[j] + a1 * gj
                    vd[j] = b2 * vd[j] + a2 * gj * gj
                    w[j] -= stepSize * md[j] / (vd[j].squareRoot() / c2Root + eps)
                }
            }
        }
    }
}
