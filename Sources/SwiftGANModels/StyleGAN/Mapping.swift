import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// StyleGAN's mapping network (NVlabs' MappingNetwork): z normalized to unit second moment and, for a conditional
/// model, the embedded label c (a linear layer at learning rate 1, also normalized) concatenated after it, through
/// fully connected layers with leaky ReLU and a learning-rate multiplier (0.01) to w; the generator's keeps the
/// running average of w that anchors the truncation trick. With no z (`zDim` 0) it maps labels alone: StyleGAN2's
/// conditional discriminator projects its output onto such a mapping of c.
public final class MappingNetwork: Module {
    public let embed: EqualizedLinear?
    public let layers: [EqualizedLinear]
    /// The moving average of w (NVlabs' w_avg), updated during training; nil for a discriminator's mapping.
    public let wAverage: Tensor?
    /// How slowly `wAverage` follows w in training.
    public let wAverageBeta: Float
    public let zDim: Int, cDim: Int

    public init(
        zDim: Int, cDim: Int = 0, wDim: Int, layers count: Int, lrMultiplier: Float = 0.01,
        wAverageBeta: Float? = 0.995, rng: inout RandomGenerator
    ) throws {
        (self.zDim, self.cDim) = (zDim, cDim)
        embed = cDim > 0 ? try EqualizedLinear(cDim, wDim, activate: false, rng: &rng) : nil
        let first = zDim + (cDim > 0 ? wDim : 0)
        layers = try (0..<count).map { i in
            try EqualizedLinear(i == 0 ? first : wDim, wDim, lrMultiplier: lrMultiplier, activate: true, rng: &rng)
        }
        wAverage = wAverageBeta == nil ? nil : try Tensor(zeros: [wDim])
        self.wAverageBeta = wAverageBeta ?? 0
    }

    /// x / sqrt(mean(x^2) + 1e-8) over each sample's features.
    static func normalizeSecondMoment(_ x: Tensor) throws -> Tensor {
        try mul(x, try rsqrt(try affine(try mean(try square(x), axes: [1], keepDim: true), scale: 1, shift: 1e-8)))
    }

    /// w [N, wDim] for z [N, zDim] (nil when zDim is 0) and labels c [N, cDim] (nil when cDim is 0); in training
    /// the running average of w is updated.
    public func callAsFunction(_ z: Tensor?, _ c: Tensor? = nil, training: Bool) throws -> Tensor {
        var parts: [Tensor] = []
        if let z { parts.append(try MappingNetwork.normalizeSecondMoment(z)) }
        if let embed, let c { parts.append(try MappingNetwork.normalizeSecondMoment(try embed(c, training: training))) }
        var x = parts.count == 1 ? parts[0] : try cat(parts, dim: 1)
        for layer in layers { x = try layer(x, training: training) }
        if training, let wAverage {
            let batchMean = try noGrad { try mean(x, axes: [0]) }
            try StepTransaction.preserve(wAverage)
            for i in 0..<wAverage.count {
                wAverage.data[i] = batchMean.data[i] + wAverageBeta * (wAverage.data[i] - batchMean.data[i])
            }
        }
        return x
    }

    /// How truncation pulls ws toward `wAverage`.
    public enum TruncationRule: String, Sendable, CaseIterable {
        /// NVlabs: any psi other than 1 (above 1 extrapolates), on the first `cutoff` ws or all of them.
        case nvlabs
        /// rosinality: only psi below 1, on every w (no cutoff).
        case rosinality
    }

    /// Truncation: w_avg + psi (w - w_avg) on `ws` [N, numWs, wDim] as `rule` has it.
    public func truncate(_ ws: Tensor, psi: Float, cutoff: Int?, rule: TruncationRule = .nvlabs) throws -> Tensor {
        guard let wAverage else { throw SwiftGANError.invalidArgument("truncation: this mapping keeps no w_avg") }
        if rule == .rosinality {
            try require(cutoff == nil, "truncation_cutoff: a rosinality model truncates every w (no cutoff)")
            if psi >= 1 { return ws }
        }
        if psi == 1 { return ws }
        let (count, d) = (ws.shape[1], ws.shape[2])
        let k = Swift.min(cutoff ?? count, count)
        let avg = try reshape(wAverage.detached(), [1, 1, d])
        let head = try add(avg, try scale(try sub(try narrow(ws, dim: 1, start: 0, length: k), avg), psi))
        return k == count ? head : try cat([head, try narrow(ws, dim: 1, start: k, length: count - k)], dim: 1)
    }

    public var parameters: [(String, Tensor)] {
        prefixed("embed", embed?.parameters ?? [])
            + layers.enumerated().flatMap { i, l in prefixed("fc\(i)", l.parameters) }
    }
    public var buffers: [(String, Tensor)] { wAverage.map { [("w_avg", $0)] } ?? [] }
}
