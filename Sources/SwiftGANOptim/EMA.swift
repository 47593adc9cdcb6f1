import SwiftGANCore

/// Exponential moving average of weights: ema = decay * ema + (1 - decay) * param, in place.
public func emaUpdate(_ ema: [Tensor], _ parameters: [Tensor], decay: Float) throws {
    try require(ema.count == parameters.count, "ema: expected \(parameters.count) tensors, got \(ema.count)")
    try require(decay >= 0 && decay <= 1, "decay: expected a value in [0, 1], got \(decay)")
    WeightEpoch.advance()
    for (i, (e, p)) in zip(ema, parameters).enumerated() {
        try require(
            e.shape == p.shape,
            "ema[\(i)]: shape \(Shape.describe(e.shape)) differs from the parameter's \(Shape.describe(p.shape))")
        try StepTransaction.preserve(e)
        nonisolated(unsafe) let ed = e.data, pd = p.data
        parallelRanges(e.count) { r in for j in r { ed[j] = decay * ed[j] + (1 - decay) * pd[j] } }
    }
}
