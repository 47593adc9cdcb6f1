/// StyleGAN2's residual discriminator: fromRGB at the top resolution, then per resolution two 3x3 convs (the
/// second downsampling) with a 1x1 downsampling skip, summed with gain sqrt(1/2); at 4x4 minibatch standard
/// deviation, a 3x3 conv and two fully connected layers to one logit. State names follow NVlabs.
public final class ResidualDiscriminator: Layer {
    final class Block: Module {
        let resolution: Int
        let fromrgb: EqualizedConv2d?
        let conv0: EqualizedConv2d, conv1: EqualizedConv2d, skip: EqualizedConv2d

        init(_ inChannels: Int, _ outChannels: Int, imageChannels: Int, resolution: Int, top: Bool, rng: inout RandomGenerator) throws {
            self.resolution = resolution
            fromrgb = top ? try EqualizedConv2d(imageChannels, inChannels, kernel: 1, activate: true, rng: &rng) : nil
            conv0 = try EqualizedConv2d(inChannels, inChannels, kernel: 3, activate: true, rng: &rng)
            conv1 = try EqualizedConv2d(inChannels, outChannels, kernel: 3, activate: true, down: true, rng: &rng)
            skip = try EqualizedConv2d(inChannels, outChannels, kernel: 1, bias: false, activate: false, down: true, rng: &rng)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            let h = try fromrgb.map { try $0(x, training: true) } ?? x
            let y = try skip(h, training: true)
            return try scale(try add(y, try conv1(try conv0(h, training: true), training: true)), Float(0.5).squareRoot())
        }

        var parameters: [(String, Tensor)] { namedState([("fromrgb", fromrgb), ("conv0", conv0), ("conv1", conv1), ("skip", skip)]) { $0.parameters } }
    }

    let blocks: [Block]
    let conv: EqualizedConv2d, fc: EqualizedLinear, out: EqualizedLinear
    let mbstdGroup: Int
    let channels4: Int

    public init(resolution: Int, imageChannels: Int, channels: (Int) -> Int, mbstdGroup: Int = 4, rng: inout RandomGenerator) throws {
        var blocks: [Block] = []
        var r = resolution
        while r > 4 {
            blocks.append(try Block(channels(r), channels(r / 2), imageChannels: imageChannels, resolution: r, top: r == resolution, rng: &rng))
            r /= 2
        }
        self.blocks = blocks
        channels4 = channels(4)
        conv = try EqualizedConv2d(channels4 + 1, channels4, kernel: 3, activate: true, rng: &rng)
        fc = try EqualizedLinear(channels4 * 16, channels4, activate: true, rng: &rng)
        out = try EqualizedLinear(channels4, 1, activate: false, rng: &rng)
        self.mbstdGroup = mbstdGroup
    }

    /// Logits [N, 1] for images [N, C, R, R].
    public func callAsFunction(_ img: Tensor, training: Bool) throws -> Tensor {
        var x = img
        for block in blocks { x = try block(x) }
        let n = x.shape[0]
        var g = Swift.min(mbstdGroup, n)
        while n % g != 0 { g -= 1 }
        x = try conv(try minibatchStddev(x, group: g), training: true)
        return try out(try fc(try reshape(x, [n, channels4 * 16]), training: true), training: true)
    }

    public var parameters: [(String, Tensor)] {
        blocks.flatMap { prefixed("b\($0.resolution)", $0.parameters) }
            + prefixed("b4", namedState([("conv", conv), ("fc", fc), ("out", out)]) { $0.parameters })
    }
}
