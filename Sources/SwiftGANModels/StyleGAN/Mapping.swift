import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// StyleGAN's mapping network: z (normalized to unit second moment) through fully connected layers with a 0.01
/// learning-rate multiplier to w, and the running average of w used by the truncation trick.
public final class MappingNetwork: Module {
    public let layers: [EqualizedLinear]
    /// The moving average of w (NVlabs' w_avg), updated during training.
    public let wAverage: Tensor
    public let wAverageBeta: Float = 0.995

    public init(zDim: Int, wDim: Int, layers count: Int, lrMultiplier: Float = 0.01, rng: inout RandomGenerator) throws
    {
        layers = try (0..<count).map { i in
            try EqualizedLinear(i == 0 ? zDim : wDim, wDim, lrMultiplier: lrMultiplier, activate: true, rng: &rng)
        }
        wAverage = try Tensor(zeros: [wDim])
    }

    /// w [N, wDim] for z [N, zDim]; in training the running average of w is updated.
    public func callAsFunction(_ z: Tensor, training: Bool) throws -> Tensor {
        var x = try mul(
            z, try rsqrt(try affine(try mean(try square(z), axes: [1], keepDim: true), scale: 1, shift: 1e-8)))
        for layer in layers { x = try layer(x, training: training) }
        if training {
            let batchMean = try noGrad { try mean(x, axes: [0]) }
            try StepTransaction.preserve(wAverage)
            for i in 0..<wAverage.count {
                wAverage.data[i] = batchMean.data[i] + wAverageBeta * (wAverage.data[i] - batchMean.data[i])
            }
        }
        return x
    }

    /// Truncation: w_avg + psi (w - w_avg) for the first `cutoff` of `ws` [N, numWs, wDim] (all when nil).
    public func truncate(_ ws: Tensor, psi: Float, cutoff: Int?) throws -> Tensor {
        if psi == 1 { return ws }
        let (count, d) = (ws.shape[1], ws.shape[2])
        let k = Swift.min(cutoff ?? count, count)
        let avg = try reshape(wAverage.detached(), [1, 1, d])
        let head = try add(avg, try scale(try sub(try narrow(ws, dim: 1, start: 0, length: k), avg), psi))
        return k == count ? head : try cat([head, try narrow(ws, dim: 1, start: k, length: count - k)], dim: 1)
    }

    public var parameters: [(String, Tensor)] {
        layers.enumerated().flatMap { i, l in prefixed("fc\(i)", l.parameters) }
    }
    public var buffers: [(String, Tensor)] { [("w_avg", wAverage)] }
}
