import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// StyleGAN2's discriminator as NVlabs/stylegan2-ada-pytorch computes it in float32. Per resolution from R down to 8
/// a block of two 3x3 convs (the second FIR-downsampling); "resnet" adds a 1x1 downsampling skip (both branches
/// scaled by sqrt(1/2)), "skip" feeds the downsampled image to every block through its own fromRGB, "orig" has
/// neither. At 4x4 the epilogue: minibatch standard deviation, a 3x3 conv and two fully connected layers to one
/// logit, or for a conditional model to a vector projected onto a mapping of the label. State names are NVlabs'.
public final class StyleGAN2Discriminator: Layer {
    /// The discriminator's hyperparameters.
    public struct Options {
        public var imageChannels: Int, architecture: Architecture, convClamp: Float?
        /// Minibatch standard deviation: group size (nil: the whole batch) and statistics channels.
        public var mbstdGroup: Int?, mbstdChannels: Int
        /// Labels (0: unconditional) and the depth of their mapping.
        public var cDim: Int, mappingLayers: Int
    }

    final class Block: Module {
        let resolution: Int
        let architecture: Architecture
        let fromrgb: EqualizedConv2d?
        let conv0: EqualizedConv2d, conv1: EqualizedConv2d
        let skip: EqualizedConv2d?
        let filter: Tensor

        init(
            _ channels: Int, _ outChannels: Int, resolution: Int, top: Bool, _ o: Options, rng: inout RandomGenerator
        ) throws {
            (self.resolution, architecture) = (resolution, o.architecture)
            let clamp = o.convClamp
            fromrgb =
                top || o.architecture == .skip
                ? try EqualizedConv2d(o.imageChannels, channels, kernel: 1, activate: true, clamp: clamp, rng: &rng)
                : nil
            conv0 = try EqualizedConv2d(channels, channels, kernel: 3, activate: true, clamp: clamp, rng: &rng)
            conv1 = try EqualizedConv2d(
                channels, outChannels, kernel: 3, activate: true, down: true, clamp: clamp, rng: &rng)
            skip =
                o.architecture == .resnet
                ? try EqualizedConv2d(
                    channels, outChannels, kernel: 1, bias: false, activate: false, down: true,
                    rng: &rng)
                : nil
            filter = try firFilter([1, 3, 3, 1])
        }

        /// (features, image) after this block, from the features and image before it.
        func callAsFunction(_ x: Tensor?, _ img: Tensor?) throws -> (Tensor, Tensor?) {
            var h = x
            var image = img
            if let fromrgb, let source = img {
                let y = try fromrgb(source, training: true)
                h = try h.map { try add($0, y) } ?? y
                image =
                    architecture == .skip
                    ? try upfirdn2d(source, filter: filter, down: 2, padding: [1, 1, 1, 1]) : nil
            }
            let features = h!
            if let skip {
                let gain = Float(0.5).squareRoot()
                let y = try skip(features, gain: gain)
                return (try add(y, try conv1(try conv0(features, training: true), gain: gain)), image)
            }
            return (try conv1(try conv0(features, training: true), training: true), image)
        }

        var parameters: [(String, Tensor)] {
            namedState([("fromrgb", fromrgb), ("conv0", conv0), ("conv1", conv1), ("skip", skip)]) { $0.parameters }
        }
    }

    let blocks: [Block]
    let epilogue: DiscriminatorEpilogue
    /// The label mapping of a conditional discriminator (its output is the projection `epilogue` uses).
    let mapping: MappingNetwork?
    public let options: Options

    public init(resolution: Int, channels: (Int) -> Int, options o: Options, rng: inout RandomGenerator) throws {
        var blocks: [Block] = []
        var r = resolution
        while r > 4 {
            blocks.append(try Block(channels(r), channels(r / 2), resolution: r, top: r == resolution, o, rng: &rng))
            r /= 2
        }
        self.blocks = blocks
        options = o
        let cmapDim = o.cDim > 0 ? channels(4) : 0
        mapping =
            o.cDim > 0
            ? try MappingNetwork(
                zDim: 0, cDim: o.cDim, wDim: cmapDim, layers: o.mappingLayers, wAverageBeta: nil,
                rng: &rng)
            : nil
        epilogue = try DiscriminatorEpilogue(
            channels: channels(4), imageChannels: o.imageChannels, fromRGB: o.architecture == .skip || resolution == 4,
            cmapDim: cmapDim, mbstdGroup: o.mbstdGroup, mbstdChannels: o.mbstdChannels, clamp: o.convClamp, rng: &rng)
    }

    /// Logits [N, 1] for images [N, C, R, R] (and labels [N, cDim] for a conditional discriminator).
    public func callAsFunction(_ img: Tensor, labels: Tensor?) throws -> Tensor {
        var x: Tensor? = nil, image: Tensor? = img
        for block in blocks { (x, image) = try block(x, image) }
        let cmap = try mapping.map { try $0(nil, labels, training: true) }
        return try epilogue(x, image, cmap: cmap)
    }

    public func callAsFunction(_ img: Tensor, training: Bool) throws -> Tensor { try self(img, labels: nil) }

    public var parameters: [(String, Tensor)] {
        blocks.flatMap { prefixed("b\($0.resolution)", $0.parameters) } + prefixed("b4", epilogue.parameters)
            + prefixed("mapping", mapping?.parameters ?? [])
    }
}

/// Both versions' 4x4 discriminator head: minibatch standard deviation, a 3x3 conv and two fully connected layers to
/// one logit, or (conditional) to a vector whose dot product with the label's mapping, over sqrt(its length), is the
/// logit. With `fromRGB` it takes the image itself (a "skip" discriminator, or one for 4x4 images).
final class DiscriminatorEpilogue: Module {
    let fromrgb: EqualizedConv2d?
    let conv: EqualizedConv2d, fc: EqualizedLinear, out: EqualizedLinear
    let channels: Int, mbstdGroup: Int?, mbstdChannels: Int, cmapDim: Int

    init(
        channels: Int, imageChannels: Int = 3, fromRGB: Bool = false, cmapDim: Int = 0, mbstdGroup: Int?,
        mbstdChannels: Int = 1, clamp: Float? = nil, rng: inout RandomGenerator
    ) throws {
        // NVlabs gives the epilogue's fromRGB no clamp (unlike the blocks' fromRGB layers).
        fromrgb = fromRGB ? try EqualizedConv2d(imageChannels, channels, kernel: 1, activate: true, rng: &rng) : nil
        conv = try EqualizedConv2d(
            channels + mbstdChannels, channels, kernel: 3, activate: true, clamp: clamp, rng: &rng)
        fc = try EqualizedLinear(channels * 16, channels, activate: true, rng: &rng)
        out = try EqualizedLinear(channels, cmapDim > 0 ? cmapDim : 1, activate: false, rng: &rng)
        (self.channels, self.mbstdGroup, self.mbstdChannels, self.cmapDim) =
            (channels, mbstdGroup, mbstdChannels, cmapDim)
    }

    /// Logits [N, 1] for features [N, channels, 4, 4] (and, with `fromrgb`, the 4x4 image).
    func callAsFunction(_ x: Tensor?, _ img: Tensor? = nil, cmap: Tensor? = nil) throws -> Tensor {
        var h = x
        if let fromrgb, let img {
            let y = try fromrgb(img, training: true)
            h = try h.map { try add($0, y) } ?? y
        }
        let features = h!
        let n = features.shape[0]
        var y = features
        if mbstdChannels > 0 {
            // The group is at most the batch; NVlabs requires it to divide the batch, here it shrinks until it does.
            var g = Swift.min(mbstdGroup ?? n, n)
            while n % g != 0 { g -= 1 }
            y = try minibatchStddev(y, group: g, numChannels: mbstdChannels)
        }
        y = try conv(y, training: true)
        y = try out(try fc(try reshape(y, [n, channels * 16]), training: true), training: true)
        guard let cmap else { return y }
        return try scale(try sum(try mul(y, cmap), axes: [1], keepDim: true), 1 / Float(cmapDim).squareRoot())
    }

    var parameters: [(String, Tensor)] {
        namedState([("fromrgb", fromrgb), ("conv", conv), ("fc", fc), ("out", out)]) { $0.parameters }
    }
}
