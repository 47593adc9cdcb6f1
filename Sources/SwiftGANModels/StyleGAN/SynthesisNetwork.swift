import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// StyleGAN2's synthesis network (skip architecture): a learned 4x4 constant, then per resolution a modulated 3x3
/// conv with 2x FIR upsampling and a second modulated conv, per-layer noise and bias, and a toRGB layer whose
/// output is added to the upsampled image so far. State names follow NVlabs/stylegan2-ada-pytorch.

/// How per-layer noise is drawn: fresh per sample, the layer's fixed buffer, or none.
public enum NoiseMode: Int, Sendable {
    case random = 0, const = 1, none = 2
}

/// w vector i of ws [N, numWs, wDim], as [N, wDim].
func styleVector(_ ws: Tensor, _ i: Int) throws -> Tensor {
    try reshape(try narrow(ws, dim: 1, start: i, length: 1), [ws.shape[0], ws.shape[2]])
}

/// A learned input (the constant) repeated for a batch of n.
func repeated(_ t: Tensor, _ n: Int) throws -> Tensor {
    try broadcast(try reshape(t, [1] + t.shape), to: [n] + t.shape)
}

/// Modulated conv (demodulated), optional upsampling, noise, bias and leaky ReLU.
final class SynthesisLayer: Module {
    let affine: EqualizedLinear
    let weight: Tensor, bias: Tensor, noiseStrength: Tensor, noiseConst: Tensor
    let up: Bool, resolution: Int
    let filter: Tensor

    init(_ inChannels: Int, _ outChannels: Int, wDim: Int, resolution: Int, up: Bool, rng: inout RandomGenerator) throws
    {
        affine = try EqualizedLinear(wDim, inChannels, biasInit: 1, activate: false, rng: &rng)
        weight = try parameter([outChannels, inChannels, 3, 3], std: 1, rng: &rng)
        bias = try zeroParameter([outChannels])
        noiseStrength = try zeroParameter([])
        noiseConst = try rng.normal([resolution, resolution])
        (self.up, self.resolution) = (up, resolution)
        filter = try firFilter([1, 3, 3, 1])
    }

    func callAsFunction(_ x: Tensor, _ w: Tensor, noise mode: NoiseMode, rng: inout RandomGenerator) throws -> Tensor {
        var h = up ? try upfirdn2d(x, filter: filter, up: 2, padding: [2, 1, 2, 1], gain: 4) : x
        h = try modulatedConv2d(h, weight: weight, style: try affine(w, training: true), demodulate: true, padding: 1)
        let n = h.shape[0]
        switch mode {
        case .random: h = try add(h, try mul(try rng.normal([n, 1, resolution, resolution]), noiseStrength))
        case .const: h = try add(h, try mul(try reshape(noiseConst, [1, 1, resolution, resolution]), noiseStrength))
        case .none: break
        }
        h = try add(h, try reshape(bias, [1, bias.count, 1, 1]))
        return try scale(try leakyRelu(h, negativeSlope: 0.2), leakyGain)
    }

    var parameters: [(String, Tensor)] {
        [("weight", weight), ("noise_strength", noiseStrength), ("bias", bias)] + prefixed("affine", affine.parameters)
    }
    var buffers: [(String, Tensor)] { [("noise_const", noiseConst)] }
}

/// The 1x1 modulated (not demodulated) conv to RGB.
final class ToRGBLayer: Module {
    let affine: EqualizedLinear
    let weight: Tensor, bias: Tensor
    let weightGain: Float

    init(_ inChannels: Int, _ outChannels: Int, wDim: Int, rng: inout RandomGenerator) throws {
        affine = try EqualizedLinear(wDim, inChannels, biasInit: 1, activate: false, rng: &rng)
        weight = try parameter([outChannels, inChannels, 1, 1], std: 1, rng: &rng)
        bias = try zeroParameter([outChannels])
        weightGain = 1 / Float(inChannels).squareRoot()
    }

    func callAsFunction(_ x: Tensor, _ w: Tensor) throws -> Tensor {
        let styles = try scale(try affine(w, training: true), weightGain)
        let y = try modulatedConv2d(x, weight: weight, style: styles, demodulate: false)
        return try add(y, try reshape(bias, [1, bias.count, 1, 1]))
    }

    var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] + prefixed("affine", affine.parameters) }
}

/// One resolution of the synthesis network.
final class SynthesisBlock: Module {
    let resolution: Int
    let const: Tensor?
    let conv0: SynthesisLayer?, conv1: SynthesisLayer
    let torgb: ToRGBLayer
    let filter: Tensor
    /// ws this block reads: its convs, then toRGB (which shares its index with the next block's first conv).
    var numConv: Int { conv0 == nil ? 1 : 2 }

    init(
        inChannels: Int, outChannels: Int, imageChannels: Int, wDim: Int, resolution: Int, rng: inout RandomGenerator
    ) throws {
        self.resolution = resolution
        if resolution == 4 {
            const = try parameter([outChannels, 4, 4], std: 1, rng: &rng)
            conv0 = nil
        } else {
            const = nil
            conv0 = try SynthesisLayer(inChannels, outChannels, wDim: wDim, resolution: resolution, up: true, rng: &rng)
        }
        conv1 = try SynthesisLayer(outChannels, outChannels, wDim: wDim, resolution: resolution, up: false, rng: &rng)
        torgb = try ToRGBLayer(outChannels, imageChannels, wDim: wDim, rng: &rng)
        filter = try firFilter([1, 3, 3, 1])
    }

    /// (features, image) after this block; `ws` [N, numConv + 1, wDim].
    func callAsFunction(
        _ x: Tensor?, _ img: Tensor?, _ ws: Tensor, noise: NoiseMode, rng: inout RandomGenerator
    ) throws -> (Tensor, Tensor) {
        let w = { (i: Int) throws -> Tensor in try styleVector(ws, i) }
        var h: Tensor
        if let const {
            h = try repeated(const, ws.shape[0])
        } else {
            h = try conv0!(x!, try w(0), noise: noise, rng: &rng)
        }
        h = try conv1(h, try w(numConv - 1), noise: noise, rng: &rng)
        var y = try torgb(h, try w(numConv))
        if let img { y = try add(y, try upfirdn2d(img, filter: filter, up: 2, padding: [2, 1, 2, 1], gain: 4)) }
        return (h, y)
    }

    var parameters: [(String, Tensor)] {
        (const.map { [("const", $0)] } ?? [])
            + namedState([("conv0", conv0), ("conv1", conv1), ("torgb", torgb)]) { $0.parameters }
    }
    var buffers: [(String, Tensor)] {
        namedState([("conv0", conv0), ("conv1", conv1), ("torgb", torgb)]) { $0.buffers }
    }
}

/// The whole synthesis network: ws [N, numWs, wDim] to images [N, C, R, R].
public final class SynthesisNetwork: Module {
    let blocks: [SynthesisBlock]
    /// Number of w vectors the network reads.
    public let numWs: Int

    init(wDim: Int, resolution: Int, imageChannels: Int, channels: (Int) -> Int, rng: inout RandomGenerator) throws {
        var blocks: [SynthesisBlock] = []
        var r = 4
        while r <= resolution {
            blocks.append(
                try SynthesisBlock(
                    inChannels: r == 4 ? 0 : channels(r / 2), outChannels: channels(r), imageChannels: imageChannels,
                    wDim: wDim, resolution: r, rng: &rng))
            r *= 2
        }
        self.blocks = blocks
        numWs = blocks.reduce(0) { $0 + $1.numConv } + 1
    }

    public func callAsFunction(_ ws: Tensor, noise: NoiseMode, rng: inout RandomGenerator) throws -> Tensor {
        var x: Tensor? = nil, img: Tensor? = nil
        var index = 0
        for block in blocks {
            let blockWs = try narrow(ws, dim: 1, start: index, length: block.numConv + 1)
            (x, img) = try block(x, img, blockWs, noise: noise, rng: &rng)
            index += block.numConv
        }
        return img!
    }

    public var parameters: [(String, Tensor)] { blocks.flatMap { prefixed("b\($0.resolution)", $0.parameters) } }
    public var buffers: [(String, Tensor)] { blocks.flatMap { prefixed("b\($0.resolution)", $0.buffers) } }
}
