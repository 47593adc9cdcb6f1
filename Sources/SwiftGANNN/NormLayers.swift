import SwiftGANCore

/// Normalization layers.

/// Batch normalization with learnable scale and shift and running statistics (PyTorch's BatchNorm2d).
public final class BatchNorm2d: Layer {
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

    public var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    public var buffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }
}

/// Instance normalization without affine parameters or running statistics (CycleGAN's norm layer). Followed by a
/// ReLU, it applies it in its own pass where nothing records.
public final class InstanceNorm2d: FusingLayer {
    public let eps: Float
    public init(eps: Float = 1e-5) { self.eps = eps }
    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor { try instanceNorm(x, eps: eps) }

    public func fused(_ x: Tensor, with next: ArraySlice<any Layer>) throws -> (output: Tensor, layers: Int)? {
        guard Self.takesReLU(next) else { return nil }
        return (try instanceNormReLU(x, eps: eps), 1)
    }

    /// x through this norm and, where `fused` takes it, the ReLU after it, written over x (which nothing may read
    /// afterwards); with the number of the following layers taken.
    func normalize(overwriting x: Tensor, with next: ArraySlice<any Layer>) throws -> (output: Tensor, layers: Int) {
        guard Self.takesReLU(next) else { return (try instanceNorm(x, eps: eps, overwriting: true), 0) }
        return (try instanceNormReLU(x, eps: eps, overwriting: true), 1)
    }

    /// Whether the layers after the norm start with a ReLU, which it applies in its own pass.
    private static func takesReLU(_ next: ArraySlice<any Layer>) -> Bool {
        guard let activation = next.first as? Activation, case .relu = activation.kind else { return false }
        return true
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
