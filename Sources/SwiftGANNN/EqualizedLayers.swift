import SwiftGANCore

/// Layers with the equalized learning rate of ProGAN/StyleGAN (Karras et al. 2018): weights are stored as N(0, 1) / lr
/// multiplier and scaled at run time by lrMultiplier / sqrt(fan_in), so every layer learns at the same speed under
/// Adam. Biases are scaled by the lr multiplier.

/// A fully connected layer with equalized learning rate and optional leaky ReLU (times sqrt(2)).
public final class EqualizedLinear: Layer {
    public let weight: Tensor, bias: Tensor
    public let weightGain: Float, lrMultiplier: Float, activate: Bool

    public init(
        _ inFeatures: Int, _ outFeatures: Int, biasInit: Float = 0, lrMultiplier: Float = 1, activate: Bool,
        rng: inout RandomGenerator
    ) throws {
        weight = try parameter([outFeatures, inFeatures], std: 1 / lrMultiplier, rng: &rng)
        bias = try Tensor(repeating: biasInit / lrMultiplier, shape: [outFeatures])
        try bias.setRequiresGrad(true)
        weightGain = lrMultiplier / Float(inFeatures).squareRoot()
        (self.lrMultiplier, self.activate) = (lrMultiplier, activate)
    }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        let y = try linear(
            x, weight: try scale(weight, weightGain), bias: lrMultiplier == 1 ? bias : try scale(bias, lrMultiplier))
        return activate ? try scale(try leakyRelu(y, negativeSlope: 0.2), leakyGain) : y
    }

    public var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
}

/// A convolution with equalized learning rate (NVlabs' Conv2dLayer): optional FIR downsampling before it or FIR
/// upsampling after it (1x1 kernels), bias, leaky ReLU (times sqrt(2)), a layer gain and an optional clamp of the
/// output to +-clamp * gain (StyleGAN2's conv_clamp), in NVlabs' bias_act order: bias, activation, gain, clamp.
public final class EqualizedConv2d: Layer {
    public let weight: Tensor, bias: Tensor?
    public let weightGain: Float, activate: Bool, down: Bool, up: Bool
    /// The clamp of the output (before the layer gain); nil: none.
    public let clamp: Float?
    let filter: Tensor

    public init(
        _ inChannels: Int, _ outChannels: Int, kernel: Int, bias: Bool = true, activate: Bool, down: Bool = false,
        up: Bool = false, clamp: Float? = nil, rng: inout RandomGenerator
    ) throws {
        weight = try parameter([outChannels, inChannels, kernel, kernel], std: 1, rng: &rng)
        self.bias = bias ? try zeroParameter([outChannels]) : nil
        weightGain = 1 / Float(inChannels * kernel * kernel).squareRoot()
        (self.activate, self.down, self.up, self.clamp) = (activate, down, up, clamp)
        filter = try firFilter([1, 3, 3, 1])
    }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor { try self(x, gain: 1) }

    /// The layer's output with its activation scaled by `gain` (StyleGAN2's residual branches use sqrt(1/2)).
    public func callAsFunction(_ x: Tensor, gain: Float) throws -> Tensor {
        let k = weight.shape[2]
        let w = try scale(weight, weightGain)
        var h: Tensor
        if down && k == 1 {
            // FIR-downsample, then the 1x1 conv (which commutes with taking every other pixel).
            h = try conv2d(try upfirdn2d(x, filter: filter, down: 2, padding: [1, 1, 1, 1]), weight: w, bias: bias)
        } else if down {
            // Blur, then a stride-2 conv (StyleGAN2's downsampling conv): pad so the output is half the input.
            let p = (filter.shape[0] - 2) + (k - 1)
            h = try upfirdn2d(x, filter: filter, padding: [(p + 1) / 2, p / 2, (p + 1) / 2, p / 2])
            h = try conv2d(h, weight: w, bias: bias, stride: 2)
        } else if up {
            // A 1x1 conv, then FIR-upsampling (bias after it: the FIR keeps a constant).
            h = try conv2d(x, weight: w, padding: k / 2)
            h = try upfirdn2d(h, filter: filter, up: 2, padding: [2, 1, 2, 1], gain: 4)
            if let bias { h = try add(h, try reshape(bias, [1, bias.count, 1, 1])) }
        } else {
            h = try conv2d(x, weight: w, bias: bias, padding: k / 2)
        }
        return try biasActivation(h, activate: activate, gain: gain, clamp: clamp)
    }

    public var parameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}

/// The normalized 2-D FIR filter outer(k, k) / sum^2 for a 1-D kernel (StyleGAN2's [1, 3, 3, 1]).
public func firFilter(_ k: [Float]) throws -> Tensor {
    let s = k.reduce(0, +)
    return try Tensor(k.flatMap { a in k.map { b in a * b / (s * s) } }, shape: [k.count, k.count])
}
