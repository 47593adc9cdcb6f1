import SwiftGANCore

/// Convolution layers with PyTorch's weight layouts: Conv2d [out, in, k, k], ConvTranspose2d [in, out, k, k].

/// A learnable tensor of `shape` drawn from N(mean, std).
public func parameter(_ shape: [Int], mean: Float = 0, std: Float, rng: inout RandomGenerator) throws -> Tensor {
    let t = try rng.normal(shape, mean: mean, std: std)
    try t.setRequiresGrad(true)
    return t
}

/// A learnable tensor of zeros.
public func zeroParameter(_ shape: [Int]) throws -> Tensor {
    let t = try Tensor(zeros: shape)
    try t.setRequiresGrad(true)
    return t
}

/// 2-D convolution.
public final class Conv2d: FusingLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: Int

    /// Weights drawn from N(0, initStd) (DCGAN's and CycleGAN's init); bias zero when present.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
        initStd: Float = 0.02, rng: inout RandomGenerator
    ) throws {
        weight = try parameter([outChannels, inChannels, kernel, kernel], std: initStd, rng: &rng)
        self.bias = bias ? try zeroParameter([outChannels]) : nil
        (self.stride, self.padding) = (stride, padding)
    }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    /// Followed by an instance norm: without the bias, which it cancels.
    public func fused(
        _ x: Tensor, training _: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        try normalizedWithoutBias(next) { try conv2d(x, weight: weight, stride: stride, padding: padding) }
    }

    public var parameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}

/// 2-D transposed convolution.
public final class ConvTranspose2d: FusingLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int, padding: Int, outputPadding: Int

    /// Weights drawn from N(0, initStd); bias zero when present.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
        bias: Bool = true, initStd: Float = 0.02, rng: inout RandomGenerator
    ) throws {
        weight = try parameter([inChannels, outChannels, kernel, kernel], std: initStd, rng: &rng)
        self.bias = bias ? try zeroParameter([outChannels]) : nil
        (self.stride, self.padding, self.outputPadding) = (stride, padding, outputPadding)
    }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try convTranspose2d(
            x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding)
    }

    /// Followed by an instance norm: without the bias, which it cancels.
    public func fused(
        _ x: Tensor, training _: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        try normalizedWithoutBias(next) {
            try convTranspose2d(x, weight: weight, stride: stride, padding: padding, outputPadding: outputPadding)
        }
    }

    public var parameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}
