import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// StyleGAN2's synthesis network as NVlabs/stylegan2-ada-pytorch computes it in float32: a learned 4x4 constant,
/// then per resolution a modulated 3x3 conv that upsamples (a transposed conv, then the [1,3,3,1] FIR filter) and a
/// second modulated conv, each with per-layer noise, bias, leaky ReLU and an optional clamp, and toRGB layers. Its
/// architectures: "skip" (a toRGB per block, added to the upsampled image so far), "resnet" (a 1x1 upsampling skip
/// beside each block's convs, toRGB at the end) and "orig" (toRGB at the end). State names are NVlabs'.

/// How per-layer noise is drawn: fresh per sample, the layer's fixed buffer, or none.
public enum NoiseMode: Int, Sendable {
    case random = 0, const = 1, none = 2
}

/// A synthesis or discriminator architecture of StyleGAN2.
public enum Architecture: String, Sendable, CaseIterable {
    case skip, resnet, orig
}

/// w vector i of ws [N, numWs, wDim], as [N, wDim].
func styleVector(_ ws: Tensor, _ i: Int) throws -> Tensor {
    try reshape(try narrow(ws, dim: 1, start: i, length: 1), [ws.shape[0], ws.shape[2]])
}

/// A learned input (the constant) repeated for a batch of n.
func repeated(_ t: Tensor, _ n: Int) throws -> Tensor {
    try broadcast(try reshape(t, [1] + t.shape), to: [n] + t.shape)
}

/// The settings every synthesis layer shares.
struct SynthesisOptions {
    let wDim: Int, imageChannels: Int
    /// The clamp of every conv's output (NVlabs' conv_clamp); nil: none.
    let convClamp: Float?
    /// swiftgan 0.1's up-convolution (FIR upsampling, then the 3x3 conv), kept for its checkpoints.
    let legacyUpsampling: Bool
}

/// Modulated conv (demodulated), optional upsampling, noise, bias, leaky ReLU and clamp (NVlabs' SynthesisLayer).
final class SynthesisLayer: Module {
    let affine: EqualizedLinear
    let weight: Tensor, bias: Tensor, noiseStrength: Tensor, noiseConst: Tensor
    let up: Bool, resolution: Int
    let options: SynthesisOptions
    let filter: Tensor

    init(
        _ inChannels: Int, _ outChannels: Int, resolution: Int, up: Bool, _ options: SynthesisOptions,
        rng: inout RandomGenerator
    ) throws {
        affine = try EqualizedLinear(options.wDim, inChannels, biasInit: 1, activate: false, rng: &rng)
        weight = try parameter([outChannels, inChannels, 3, 3], std: 1, rng: &rng)
        bias = try zeroParameter([outChannels])
        noiseStrength = try zeroParameter([])
        noiseConst = try rng.normal([resolution, resolution])
        (self.up, self.resolution, self.options) = (up, resolution, options)
        filter = try firFilter([1, 3, 3, 1])
    }

    /// The layer's output for x and one w [N, wDim]; `gain` scales the activation (sqrt(1/2) in resnet blocks).
    func callAsFunction(
        _ x: Tensor, _ w: Tensor, noise mode: NoiseMode, gain: Float = 1, rng: inout RandomGenerator
    ) throws -> Tensor {
        let styles = try affine(w, training: true)
        let legacy = up && options.legacyUpsampling
        let input = legacy ? try upfirdn2d(x, filter: filter, up: 2, padding: [2, 1, 2, 1], gain: 4) : x
        let noise: Tensor? =
            switch mode {
            case .random: try rng.normal([x.shape[0], 1, resolution, resolution])
            case .const: try reshape(noiseConst, [1, 1, resolution, resolution])
            case .none: nil
            }
        return try synthesisLayer(
            input, weight: weight, style: styles, upFilter: up && !legacy ? filter : nil,
            SynthesisLayerOutput(
                demodulate: true, noise: noise, noiseStrength: noiseStrength, bias: bias, activate: true, gain: gain,
                clamp: options.convClamp))
    }

    var parameters: [(String, Tensor)] {
        [("weight", weight), ("noise_strength", noiseStrength), ("bias", bias)] + prefixed("affine", affine.parameters)
    }
    var buffers: [(String, Tensor)] { [("noise_const", noiseConst)] }
}

/// The 1x1 modulated (not demodulated) conv to RGB, bias and clamp.
final class ToRGBLayer: Module {
    let affine: EqualizedLinear
    let weight: Tensor, bias: Tensor
    let weightGain: Float
    let clamp: Float?

    init(_ inChannels: Int, _ options: SynthesisOptions, rng: inout RandomGenerator) throws {
        affine = try EqualizedLinear(options.wDim, inChannels, biasInit: 1, activate: false, rng: &rng)
        weight = try parameter([options.imageChannels, inChannels, 1, 1], std: 1, rng: &rng)
        bias = try zeroParameter([options.imageChannels])
        weightGain = 1 / Float(inChannels).squareRoot()
        clamp = options.convClamp
    }

    func callAsFunction(_ x: Tensor, _ w: Tensor) throws -> Tensor {
        let styles = try scale(try affine(w, training: true), weightGain)
        return try synthesisLayer(
            x, weight: weight, style: styles, upFilter: nil,
            SynthesisLayerOutput(
                demodulate: false, noise: nil, noiseStrength: nil, bias: bias, activate: false, gain: 1, clamp: clamp))
    }

    var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] + prefixed("affine", affine.parameters) }
}

/// One resolution of the synthesis network (NVlabs' SynthesisBlock).
final class SynthesisBlock: Module {
    let resolution: Int
    let architecture: Architecture
    let const: Tensor?
    let conv0: SynthesisLayer?, conv1: SynthesisLayer
    let torgb: ToRGBLayer?
    let skip: EqualizedConv2d?
    let filter: Tensor
    /// ws this block's convs read.
    var numConv: Int { conv0 == nil ? 1 : 2 }
    /// ws its toRGB reads (which shares its index with the next block's first conv).
    var numToRGB: Int { torgb == nil ? 0 : 1 }

    init(
        inChannels: Int, outChannels: Int, resolution: Int, isLast: Bool, architecture: Architecture,
        _ options: SynthesisOptions, rng: inout RandomGenerator
    ) throws {
        (self.resolution, self.architecture) = (resolution, architecture)
        if resolution == 4 {
            const = try parameter([outChannels, 4, 4], std: 1, rng: &rng)
            conv0 = nil
        } else {
            const = nil
            conv0 = try SynthesisLayer(inChannels, outChannels, resolution: resolution, up: true, options, rng: &rng)
        }
        conv1 = try SynthesisLayer(outChannels, outChannels, resolution: resolution, up: false, options, rng: &rng)
        torgb = architecture == .skip || isLast ? try ToRGBLayer(outChannels, options, rng: &rng) : nil
        skip =
            architecture == .resnet && resolution > 4
            ? try EqualizedConv2d(
                inChannels, outChannels, kernel: 1, bias: false, activate: false, up: true,
                rng: &rng)
            : nil
        filter = try firFilter([1, 3, 3, 1])
    }

    /// (features, image) after this block; `ws` [N, numConv + numToRGB, wDim].
    func callAsFunction(
        _ x: Tensor?, _ img: Tensor?, _ ws: Tensor, noise: NoiseMode, rng: inout RandomGenerator
    ) throws -> (Tensor, Tensor?) {
        let w = { (i: Int) throws -> Tensor in try styleVector(ws, i) }
        var h: Tensor
        if let const {
            h = try conv1(try repeated(const, ws.shape[0]), try w(0), noise: noise, rng: &rng)
        } else if let skip {
            let y = try skip(x!, gain: Float(0.5).squareRoot())
            h = try conv0!(x!, try w(0), noise: noise, rng: &rng)
            h = try add(y, try conv1(h, try w(1), noise: noise, gain: Float(0.5).squareRoot(), rng: &rng))
        } else {
            h = try conv1(try conv0!(x!, try w(0), noise: noise, rng: &rng), try w(1), noise: noise, rng: &rng)
        }
        var image = try img.map { try upfirdn2d($0, filter: filter, up: 2, padding: [2, 1, 2, 1], gain: 4) }
        if let torgb {
            let y = try torgb(h, try w(numConv))
            image = try image.map { try add($0, y) } ?? y
        }
        return (h, image)
    }

    var parameters: [(String, Tensor)] {
        (const.map { [("const", $0)] } ?? [])
            + namedState([("conv0", conv0), ("conv1", conv1), ("torgb", torgb), ("skip", skip)]) { $0.parameters }
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

    init(
        resolution: Int, channels: (Int) -> Int, architecture: Architecture, _ options: SynthesisOptions,
        rng: inout RandomGenerator
    ) throws {
        var blocks: [SynthesisBlock] = []
        var r = 4
        while r <= resolution {
            blocks.append(
                try SynthesisBlock(
                    inChannels: r == 4 ? 0 : channels(r / 2), outChannels: channels(r), resolution: r,
                    isLast: r == resolution, architecture: architecture, options, rng: &rng))
            r *= 2
        }
        self.blocks = blocks
        numWs = blocks.reduce(0) { $0 + $1.numConv } + 1
    }

    public func callAsFunction(_ ws: Tensor, noise: NoiseMode, rng: inout RandomGenerator) throws -> Tensor {
        var x: Tensor? = nil, img: Tensor? = nil
        var index = 0
        for block in blocks {
            let blockWs = try narrow(ws, dim: 1, start: index, length: block.numConv + block.numToRGB)
            (x, img) = try block(x, img, blockWs, noise: noise, rng: &rng)
            index += block.numConv
        }
        return img!
    }

    public var parameters: [(String, Tensor)] { blocks.flatMap { prefixed("b\($0.resolution)", $0.parameters) } }
    public var buffers: [(String, Tensor)] { blocks.flatMap { prefixed("b\($0.resolution)", $0.buffers) } }
}
