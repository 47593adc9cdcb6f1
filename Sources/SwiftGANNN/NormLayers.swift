import SwiftGANCore

/// Normalization layers.

/// Batch normalization with learnable scale and shift and running statistics (PyTorch's BatchNorm2d). Followed by a
/// ReLU or leaky ReLU, it applies it as one op with the norm (`batchNorm(negativeSlope:)`), in training too.
public final class BatchNorm2d: FusingLayer {
    public let weight: Tensor, bias: Tensor
    public let runningMean: Tensor, runningVar: Tensor
    public let momentum: Float, eps: Float

    /// Scale drawn from N(1, initStd) as DCGAN initializes it (initStd 0 gives PyTorch's default of ones).
    public init(
        _ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5, initStd: Float = 0.02, rng: inout RandomGenerator
    ) throws {
        weight = try parameter([channels], mean: 1, std: initStd, rng: &rng)
        bias = try zeroParameter([channels])
        runningMean = try Tensor(zeros: [channels])
        runningVar = try Tensor(repeating: 1, shape: [channels])
        (self.momentum, self.eps) = (momentum, eps)
    }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try batchNorm(
            x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias, training: training,
            momentum: momentum, eps: eps)
    }

    public func fused(
        _ x: Tensor, training: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        guard let slope = activationSlope(next) else { return nil }
        let output = try batchNorm(
            x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias, training: training,
            momentum: momentum, eps: eps, negativeSlope: slope)
        return (output, 1)
    }

    public func fusedWhileRecording(
        _ x: Tensor, training: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        try fused(x, training: training, with: next)
    }

    public var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    public var buffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }
}

/// Instance normalization without affine parameters or running statistics (CycleGAN's norm layer). Followed by a
/// ReLU or leaky ReLU, it applies it as one op with the norm, in training too.
public final class InstanceNorm2d: FusingLayer {
    public let eps: Float
    public init(eps: Float = 1e-5) { self.eps = eps }
    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor { try instanceNorm(x, eps: eps) }

    public func fused(
        _ x: Tensor, training _: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        guard let slope = activationSlope(next) else { return nil }
        return (try instanceNorm(x, eps: eps, negativeSlope: slope), 1)
    }

    public func fusedWhileRecording(
        _ x: Tensor, training: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        try fused(x, training: training, with: next)
    }

    /// x through this norm and, where `fused` takes it, the activation after it, written over x (which nothing may read
    /// afterwards); with the number of the following layers taken.
    func normalize(overwriting x: Tensor, with next: ArraySlice<any Layer>) throws -> (output: Tensor, layers: Int) {
        let slope = activationSlope(next)
        return (try instanceNorm(x, eps: eps, negativeSlope: slope, overwriting: true), slope == nil ? 0 : 1)
    }
}

/// The slope of the ReLU (0) or leaky ReLU that the layers after a norm start with, which the norm applies itself;
/// nil for anything else (a leaky ReLU's gradient reads its output's sign, so negative slopes do not fuse).
private func activationSlope(_ next: ArraySlice<any Layer>) -> Float? {
    switch (next.first as? Activation)?.kind {
    case .relu: return 0
    case .leakyRelu(let slope) where slope >= 0: return slope
    default: return nil
    }
}

/// A convolution's output through the `InstanceNorm2d` (and what it fuses with) that `next` starts with, computed by
/// `convolve` without the bias: instance norm subtracts each channel's mean, so a per-channel bias cancels exactly.
/// The norm overwrites the convolution's output, which no one else holds: while the fused layers' input stays alive
/// (the caller holds it), a third activation beside the two would raise the peak (1 GB more for the residual blocks
/// of a 4096 px tiled translation).
func normalizedWithoutBias(
    _ next: ArraySlice<any Layer>, _ convolve: () throws -> Tensor
) throws -> (output: Tensor, layers: Int)? {
    guard let norm = next.first as? InstanceNorm2d else { return nil }
    let (output, taken) = try norm.normalize(overwriting: try convolve(), with: next.dropFirst())
    return (output, 1 + taken)
}
