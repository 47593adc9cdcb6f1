import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// StyleGAN2's residual discriminator: fromRGB at the top resolution, then per resolution two 3x3 convs (the
/// second downsampling) with a 1x1 downsampling skip, summed with gain sqrt(1/2); at 4x4 minibatch standard
/// deviation, a 3x3 conv and two fully connected layers to one logit. State names follow NVlabs.
public final class ResidualDiscriminator: Layer {
    final class Block: Module {
        let resolution: Int
        let fromrgb: EqualizedConv2d?
        let conv0: EqualizedConv2d, conv1: EqualizedConv2d, skip: EqualizedConv2d

        init(
            _ inChannels: Int, _ outChannels: Int, imageChannels: Int, resolution: Int, top: Bool,
            rng: inout RandomGenerator
        ) throws {
            self.resolution = resolution
            fromrgb = top ? try EqualizedConv2d(imageChannels, inChannels, kernel: 1, activate: true, rng: &rng) : nil
            conv0 = try EqualizedConv2d(inChannels, inChannels, kernel: 3, activate: true, rng: &rng)
            conv1 = try EqualizedConv2d(inChannels, outChannels, kernel: 3, activate: true, down: true, rng: &rng)
            skip = try EqualizedConv2d(
                inChannels, outChannels, kernel: 1, bias: false, activate: false, down: true, rng: &rng)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            let h = try fromrgb.map { try $0(x, training: true) } ?? x
            let y = try skip(h, training: true)
            return try scale(
                try add(y, try conv1(try conv0(h, training: true), training: true)), Float(0.5).squareRoot())
        }

        var parameters: [(String, Tensor)] {
            namedState([("fromrgb", fromrgb), ("conv0", conv0), ("conv1", conv1), ("skip", skip)]) { $0.parameters }
        }
    }

    let blocks: [Block]
    let epilogue: DiscriminatorEpilogue

    public init(
        resolution: Int, imageChannels: Int, channels: (Int) -> Int, mbstdGroup: Int = 4, rng: inout RandomGenerator
    ) throws {
        var blocks: [Block] = []
        var r = resolution
        while r > 4 {
            blocks.append(
                try Block(
                    channels(r), channels(r / 2), imageChannels: imageChannels, resolution: r, top: r == resolution,
                    rng: &rng))
            r /= 2
        }
        self.blocks = blocks
        epilogue = try DiscriminatorEpilogue(channels: channels(4), mbstdGroup: mbstdGroup, rng: &rng)
    }

    /// Logits [N, 1] for images [N, C, R, R].
    public func callAsFunction(_ img: Tensor, training: Bool) throws -> Tensor {
        var x = img
        for block in blocks { x = try block(x) }
        return try epilogue(x)
    }

    public var parameters: [(String, Tensor)] {
        blocks.flatMap { prefixed("b\($0.resolution)", $0.parameters) } + prefixed("b4", epilogue.parameters)
    }
}

/// Both versions' 4x4 discriminator head: minibatch standard deviation (groups of up to `mbstdGroup`), a 3x3 conv and
/// two fully connected layers to one logit.
final class DiscriminatorEpilogue: Module {
    let conv: EqualizedConv2d, fc: EqualizedLinear, out: EqualizedLinear
    let channels: Int, mbstdGroup: Int

    init(channels: Int, mbstdGroup: Int, rng: inout RandomGenerator) throws {
        conv = try EqualizedConv2d(channels + 1, channels, kernel: 3, activate: true, rng: &rng)
        fc = try EqualizedLinear(channels * 16, channels, activate: true, rng: &rng)
        out = try EqualizedLinear(channels, 1, activate: false, rng: &rng)
        (self.channels, self.mbstdGroup) = (channels, mbstdGroup)
    }

    /// Logits [N, 1] for features [N, channels, 4, 4].
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let n = x.shape[0]
        var g = Swift.min(mbstdGroup, n)
        while n % g != 0 { g -= 1 }
        let h = try conv(try minibatchStddev(x, group: g), training: true)
        return try out(try fc(try reshape(h, [n, channels * 16]), training: true), training: true)
    }

    var parameters: [(String, Tensor)] { namedState([("conv", conv), ("fc", fc), ("out", out)]) { $0.parameters } }
}
