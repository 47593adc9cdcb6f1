import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// StyleGAN (v1, Karras et al. 2019) networks as in NVlabs/stylegan: AdaIN synthesis and a discriminator that
/// both grow progressively. A `GrowthStage` says which resolution is trained and how far its layers have faded in.

/// The resolution being trained and the weight of its newest layers (1 = fully faded in; below 1 the output is
/// blended with the previous resolution's, upsampled).
public struct GrowthStage: Sendable, Equatable {
    public var resolution: Int
    public var alpha: Float

    /// StyleGAN's schedule in images: each phase trains `phaseImages` at a resolution, then fades the next one in over
    /// `phaseImages`, starting at `initial` and ending at `final`.
    public static func at(images: Int, phaseImages: Int, initial: Int, final: Int) -> GrowthStage {
        let levels = final.trailingZeroBitCount - initial.trailingZeroBitCount
        let phase = images / (2 * phaseImages), within = images - phase * 2 * phaseImages
        guard phase < levels else { return GrowthStage(resolution: final, alpha: 1) }
        let fading = Swift.max(within - phaseImages, 0)
        if fading == 0 { return GrowthStage(resolution: initial << phase, alpha: 1) }
        return GrowthStage(resolution: initial << (phase + 1), alpha: Float(fading) / Float(phaseImages))
    }
}

/// Noise with a learned per-channel strength, bias, leaky ReLU and AdaIN with a style from w: the epilogue of every
/// v1 synthesis layer.
final class StyleEpilogue: Module {
    let noiseStrength: Tensor, bias: Tensor, noiseConst: Tensor
    let style: EqualizedLinear
    let resolution: Int

    init(channels: Int, wDim: Int, resolution: Int, rng: inout RandomGenerator) throws {
        noiseStrength = try zeroParameter([channels])
        bias = try zeroParameter([channels])
        noiseConst = try rng.normal([resolution, resolution])
        style = try EqualizedLinear(wDim, 2 * channels, activate: false, rng: &rng)
        self.resolution = resolution
    }

    func callAsFunction(_ x: Tensor, _ w: Tensor, noise mode: NoiseMode, rng: inout RandomGenerator) throws -> Tensor {
        let (n, c) = (x.shape[0], x.shape[1])
        var h = x
        let strength = try reshape(noiseStrength, [1, c, 1, 1])
        switch mode {
        case .random: h = try add(h, try mul(try rng.normal([n, 1, resolution, resolution]), strength))
        case .const: h = try add(h, try mul(try reshape(noiseConst, [1, 1, resolution, resolution]), strength))
        case .none: break
        }
        h = try scale(try leakyRelu(try add(h, try reshape(bias, [1, c, 1, 1])), negativeSlope: 0.2), leakyGain)
        return try adain(h, style: try style(w, training: true))
    }

    var parameters: [(String, Tensor)] {
        [("noise_strength", noiseStrength), ("bias", bias)] + prefixed("style", style.parameters)
    }
    var buffers: [(String, Tensor)] { [("noise_const", noiseConst)] }
}

/// The AdaIN synthesis network with progressive growing: a learned constant, then per resolution a nearest-neighbour
/// upsampling, 3x3 conv and [1, 2, 1] blur, a second 3x3 conv, each followed by the style epilogue; toRGB per
/// resolution for the fade-in.
public final class ProgressiveSynthesis: Module {
    final class Block: Module {
        let resolution: Int
        let const: Tensor?
        let conv0: EqualizedConv2d?, conv1: EqualizedConv2d?
        let epilogue0: StyleEpilogue, epilogue1: StyleEpilogue
        let torgb: EqualizedConv2d
        let blur: Tensor

        init(
            _ inChannels: Int, _ channels: Int, imageChannels: Int, wDim: Int, resolution r: Int,
            rng: inout RandomGenerator
        ) throws {
            resolution = r
            const = r == 4 ? try Tensor(repeating: 1, shape: [channels, 4, 4]) : nil
            try const?.setRequiresGrad(true)
            conv0 =
                r == 4
                ? nil : try EqualizedConv2d(inChannels, channels, kernel: 3, bias: false, activate: false, rng: &rng)
            epilogue0 = try StyleEpilogue(channels: channels, wDim: wDim, resolution: r, rng: &rng)
            conv1 = try EqualizedConv2d(channels, channels, kernel: 3, bias: false, activate: false, rng: &rng)
            epilogue1 = try StyleEpilogue(channels: channels, wDim: wDim, resolution: r, rng: &rng)
            torgb = try EqualizedConv2d(channels, imageChannels, kernel: 1, activate: false, rng: &rng)
            blur = try firFilter([1, 2, 1])
        }

        func callAsFunction(_ x: Tensor?, _ ws: Tensor, noise: NoiseMode, rng: inout RandomGenerator) throws -> Tensor {
            let w = { (i: Int) throws -> Tensor in try styleVector(ws, i) }
            var h: Tensor
            if let const {
                h = try repeated(const, ws.shape[0])
            } else {
                h = try conv0!(try upsampleNearest2d(x!, scale: 2), training: true)
                h = try upfirdn2d(h, filter: blur, padding: [1, 1, 1, 1])
            }
            h = try epilogue0(h, try w(0), noise: noise, rng: &rng)
            h = try conv1!(h, training: true)
            return try epilogue1(h, try w(1), noise: noise, rng: &rng)
        }

        var parameters: [(String, Tensor)] {
            (const.map { [("const", $0)] } ?? [])
                + namedState([
                    ("conv0", conv0), ("epilogue0", epilogue0), ("conv1", conv1), ("epilogue1", epilogue1),
                    ("torgb", torgb),
                ]) { $0.parameters }
        }
        var buffers: [(String, Tensor)] {
            namedState([("epilogue0", epilogue0), ("epilogue1", epilogue1)]) { $0.buffers }
        }
    }

    let blocks: [Block]
    /// Two ws per resolution.
    public var numWs: Int { 2 * blocks.count }
    /// The stage the next forward pass renders.
    public var stage: GrowthStage

    init(wDim: Int, resolution: Int, imageChannels: Int, channels: (Int) -> Int, rng: inout RandomGenerator) throws {
        var blocks: [Block] = []
        var r = 4
        while r <= resolution {
            blocks.append(
                try Block(
                    r == 4 ? 0 : channels(r / 2), channels(r), imageChannels: imageChannels, wDim: wDim, resolution: r,
                    rng: &rng))
            r *= 2
        }
        self.blocks = blocks
        stage = GrowthStage(resolution: resolution, alpha: 1)
    }

    /// Images at the stage's resolution, the newest block blended in by alpha.
    public func callAsFunction(_ ws: Tensor, noise: NoiseMode, rng: inout RandomGenerator) throws -> Tensor {
        var x: Tensor? = nil, previous: Tensor? = nil
        for (i, block) in blocks.enumerated() where block.resolution <= stage.resolution {
            previous = x
            x = try block(x, try narrow(ws, dim: 1, start: 2 * i, length: 2), noise: noise, rng: &rng)
        }
        let top = blocks.last { $0.resolution == stage.resolution }!
        let img = try top.torgb(x!, training: true)
        guard stage.alpha < 1, let previous, let lower = blocks.last(where: { $0.resolution == stage.resolution / 2 })
        else { return img }
        let low = try upsampleNearest2d(try lower.torgb(previous, training: true), scale: 2)
        return try add(low, try scale(try sub(img, low), stage.alpha))
    }

    public var parameters: [(String, Tensor)] { blocks.flatMap { prefixed("b\($0.resolution)", $0.parameters) } }
    public var buffers: [(String, Tensor)] { blocks.flatMap { prefixed("b\($0.resolution)", $0.buffers) } }
}

/// The v1 discriminator with progressive growing: fromRGB per resolution, two 3x3 convs per block (the second
/// blurred and downsampling), minibatch standard deviation and two dense layers at 4x4.
public final class ProgressiveDiscriminator: Layer {
    final class Block: Module {
        let resolution: Int
        let fromrgb: EqualizedConv2d, conv0: EqualizedConv2d, conv1: EqualizedConv2d

        init(
            _ channels: Int, _ outChannels: Int, imageChannels: Int, resolution: Int, rng: inout RandomGenerator
        ) throws {
            self.resolution = resolution
            fromrgb = try EqualizedConv2d(imageChannels, channels, kernel: 1, activate: true, rng: &rng)
            conv0 = try EqualizedConv2d(channels, channels, kernel: 3, activate: true, rng: &rng)
            conv1 = try EqualizedConv2d(channels, outChannels, kernel: 3, activate: true, down: true, rng: &rng)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor { try conv1(try conv0(x, training: true), training: true) }
        var parameters: [(String, Tensor)] {
            namedState([("fromrgb", fromrgb), ("conv0", conv0), ("conv1", conv1)]) { $0.parameters }
        }
    }

    let blocks: [Block]
    let fromrgb4: EqualizedConv2d
    let epilogue: DiscriminatorEpilogue
    /// The stage the next forward pass judges.
    public var stage: GrowthStage

    public init(
        resolution: Int, imageChannels: Int, channels: (Int) -> Int, mbstdGroup: Int = 4, rng: inout RandomGenerator
    ) throws {
        var blocks: [Block] = []
        var r = resolution
        while r > 4 {
            blocks.append(
                try Block(channels(r), channels(r / 2), imageChannels: imageChannels, resolution: r, rng: &rng))
            r /= 2
        }
        self.blocks = blocks
        fromrgb4 = try EqualizedConv2d(imageChannels, channels(4), kernel: 1, activate: true, rng: &rng)
        epilogue = try DiscriminatorEpilogue(channels: channels(4), mbstdGroup: mbstdGroup, rng: &rng)
        stage = GrowthStage(resolution: resolution, alpha: 1)
    }

    /// Logits [N, 1] for images at the stage's resolution.
    public func callAsFunction(_ img: Tensor, training: Bool) throws -> Tensor {
        let active = blocks.filter { $0.resolution <= stage.resolution }
        var x: Tensor
        if let top = active.first {
            x = try top(try top.fromrgb(img, training: true))
            if stage.alpha < 1 {
                let lowRGB = try avgPool2d(img, kernelSize: 2)
                let low =
                    try active.count > 1 ? active[1].fromrgb(lowRGB, training: true) : fromrgb4(lowRGB, training: true)
                x = try add(low, try scale(try sub(x, low), stage.alpha))
            }
            for block in active.dropFirst() { x = try block(x) }
        } else {
            x = try fromrgb4(img, training: true)
        }
        return try epilogue(x)
    }

    public var parameters: [(String, Tensor)] {
        blocks.flatMap { prefixed("b\($0.resolution)", $0.parameters) }
            + prefixed("b4", prefixed("fromrgb", fromrgb4.parameters) + epilogue.parameters)
    }
}
