import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// DCGAN (Radford, Metz & Chintala 2015) as in pytorch/examples/dcgan, for any image size 2^k from 16 to 128 and any
/// channel count. State names match the reference ("main.N.*"), so its state dicts load unchanged.
///
/// Generator: ConvTranspose2d 4x4 from z, then BatchNorm + ReLU and a stride-2 ConvTranspose2d per doubling of the
/// resolution, Tanh output. Discriminator: Conv2d 4x4 stride 2 + LeakyReLU(0.2), BatchNorm on all but the first
/// block, a final 4x4 conv to one value and (as in the reference) a Sigmoid; training uses the logits with a
/// numerically stable binary cross-entropy. Adam for both networks.
public final class DCGAN: GANModel {
    /// Hyperparameters; the defaults are the paper's.
    public struct Config: ModelConfig {
        @Param("side length of the square images", .oneOf([16, 32, 64, 128])) public var imageSize = 64
        @Param("image channels (1 grayscale, 3 RGB, ...)", .range(1, 64)) public var channels = 3
        @Param("length of the noise vector z", .range(1, 4096)) public var nz = 100
        @Param("generator width (channels of its last hidden layer)", .range(1, 1024)) public var ngf = 64
        @Param("discriminator width (channels of its first layer)", .range(1, 1024)) public var ndf = 64
        @Param("Adam learning rate of both networks", .atLeast(0)) public var lr: Float = 2e-4
        @Param("Adam's (beta1, beta2)", .halfOpen(0, 1)) public var betas = Pair(0.5, 0.999)

        public init() {}
        public static let modelName = "DCGAN"
        public func validate() throws {}

        /// Number of stride-2 blocks between 4x4 and the image size, beyond the last layer.
        var innerBlocks: Int { imageSize.trailingZeroBitCount - 3 }
    }

    public let config: Config
    public let generator: Sequential
    public let discriminator: Sequential
    public let optimizerG: Adam, optimizerD: Adam
    public var step = 0
    public var rng: RandomGenerator
    public var dataParallel: DataParallel?

    public var nets: [(String, any Module)] { [("G", Named("main", generator)), ("D", Named("main", discriminator))] }
    public var optimizers: [NamedOptimizer] {
        [
            NamedOptimizer("G", optimizerG, parameterNames: generator.parameters.map { "G.main.\($0.0)" }),
            NamedOptimizer("D", optimizerD, parameterNames: discriminator.parameters.map { "D.main.\($0.0)" }),
        ]
    }
    public let lossNames = ["loss_d", "loss_g", "d_real", "d_fake"]

    /// Builds both networks with DCGAN's initialization (conv weights N(0, 0.02), BatchNorm scale N(1, 0.02)),
    /// drawn from the model's RNG seeded with `seed`.
    public init(_ config: Config, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng = RandomGenerator(seed: seed)
        let blocks = config.innerBlocks
        var g: [any Layer] = [
            try ConvTranspose2d(config.nz, config.ngf << blocks, kernel: 4, bias: false, rng: &rng),
            try BatchNorm2d(config.ngf << blocks, rng: &rng), Activation(.relu),
        ]
        for i in stride(from: blocks, to: 0, by: -1) {
            g += [
                try ConvTranspose2d(
                    config.ngf << i, config.ngf << (i - 1), kernel: 4, stride: 2, padding: 1, bias: false, rng: &rng),
                try BatchNorm2d(config.ngf << (i - 1), rng: &rng), Activation(.relu),
            ]
        }
        g += [
            try ConvTranspose2d(config.ngf, config.channels, kernel: 4, stride: 2, padding: 1, bias: false, rng: &rng),
            Activation(.tanh),
        ]
        var d: [any Layer] = [
            try Conv2d(config.channels, config.ndf, kernel: 4, stride: 2, padding: 1, bias: false, rng: &rng),
            Activation(.leakyRelu(0.2)),
        ]
        for i in 0..<blocks {
            d += [
                try Conv2d(
                    config.ndf << i, config.ndf << (i + 1), kernel: 4, stride: 2, padding: 1, bias: false, rng: &rng),
                try BatchNorm2d(config.ndf << (i + 1), rng: &rng), Activation(.leakyRelu(0.2)),
            ]
        }
        d += [try Conv2d(config.ndf << blocks, 1, kernel: 4, bias: false, rng: &rng), Activation(.sigmoid)]
        generator = Sequential(g)
        discriminator = Sequential(d)
        optimizerG = try Adam(generator.parameters.map(\.1), beta1: config.betas.first, beta2: config.betas.second)
        optimizerD = try Adam(discriminator.parameters.map(\.1), beta1: config.betas.first, beta2: config.betas.second)
        self.rng = rng
    }

    /// D's logits: every layer but the final sigmoid.
    func discriminatorLogits(_ x: Tensor) throws -> Tensor {
        try reshape(try discriminator(x, training: true, layers: discriminator.layers.count - 1), [x.shape[0]])
    }

    private func checkImages(_ x: Tensor, _ argument: String) throws {
        let c = config
        try require(
            x.shape.count == 4 && x.shape[1] == c.channels && x.shape[2] == c.imageSize && x.shape[3] == c.imageSize,
            "\(argument): expected images [N, \(c.channels), \(c.imageSize), \(c.imageSize)], "
                + "got \(Shape.describe(x.shape))"
        )
        try require(x.shape[0] >= 1, "\(argument): expected at least one image")
    }

    /// One iteration of the reference recipe: a D step on a real and a fake batch, then a G step through the
    /// updated D. Returns loss_d, loss_g, D's mean output on reals and on fakes (before its update).
    public func trainStep(_ batches: [Tensor]) throws -> [Float] {
        try require(
            batches.count == 1, "batches: DCGAN trains on one batch of real images, got \(batches.count) batches")
        let real = batches[0]
        try checkImages(real, "batch")
        let b = real.shape[0]

        optimizerD.zeroGrad()
        // D's passes on real and fake images share its weights' Winograd forms (computed once, kept until the update).
        let (logitsReal, lossReal, fake, logitsFake, lossFake) = try WeightCache.with(constant: optimizerD.parameters) {
            let logitsReal = try discriminatorLogits(real.detached())
            let lossReal = try bceWithLogits(logitsReal, target: 1)
            try Autograd.backward(lossReal)
            let fake = try generator(try rng.normal([b, config.nz, 1, 1]), training: true)
            let logitsFake = try discriminatorLogits(fake.detached())
            let lossFake = try bceWithLogits(logitsFake, target: 0)
            try Autograd.backward(lossFake)
            return (logitsReal, lossReal, fake, logitsFake, lossFake)
        }
        try optimizerD.update(lr: config.lr)

        // G step: D's weights need no gradient here, so its weight-gradient GEMMs are skipped.
        optimizerG.zeroGrad()
        let lossG = try frozen(optimizerD.parameters) {
            let loss = try bceWithLogits(try discriminatorLogits(fake), target: 1)
            try Autograd.backward(loss)
            return loss
        }
        StepTransaction.commit()  // the rest is G's update
        try optimizerG.update(lr: config.lr)
        step += 1

        let meanProbability = { (logits: Tensor) throws -> Float in try noGrad { try mean(try sigmoid(logits)).item } }
        return [
            lossReal.item + lossFake.item, lossG.item, try meanProbability(logitsReal), try meanProbability(logitsFake),
        ]
    }

    public func forward(net name: String, _ x: Tensor, training: Bool) throws -> Tensor {
        guard let layer = try net(name) as? any Layer else {
            throw SwiftGANError.invalidArgument("net: '\(name)' has no one-tensor forward pass")
        }
        var input = x
        if name == "G" {
            if x.rank == 2 { input = try reshape(x, [x.shape[0], x.shape[1], 1, 1]) }
            try require(
                input.rank == 4 && input.shape[1] == config.nz && input.shape[2] == 1 && input.shape[3] == 1
                    && input.shape[0] >= 1,
                "x: G expects z of shape [N, \(config.nz)] or [N, \(config.nz), 1, 1], got \(Shape.describe(x.shape))")
        } else {
            try checkImages(x, "x")
        }
        return try noGrad { try layer(input, training: training) }
    }

    public func generate(count: Int, seed: UInt64) throws -> Tensor {
        try require(count >= 1 && count <= 1 << 16, "n: expected 1 to 65536 samples, got \(count)")
        var sampler = RandomGenerator(seed: seed)
        return try forward(net: "G", try sampler.normal([count, config.nz, 1, 1]), training: false)
    }
}
