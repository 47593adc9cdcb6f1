import Glibc
import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// A synthesis network: ws [N, numWs, wDim] to images.
public protocol StyleSynthesis: Module {
    var numWs: Int { get }
    func callAsFunction(_ ws: Tensor, noise: NoiseMode, rng: inout RandomGenerator) throws -> Tensor
}
extension SynthesisNetwork: StyleSynthesis {}
extension ProgressiveSynthesis: StyleSynthesis {}

/// StyleGAN, both versions, sharing the mapping network, style mixing, truncation, the non-saturating logistic loss
/// with R1, G_ema and adaptive augmentation:
/// - version 2 (Karras et al. 2020, NVlabs/stylegan2-ada-pytorch, the default): modulated-conv synthesis ("skip",
///   "resnet" or "orig") and discriminator ("resnet", "skip" or "orig") as NVlabs computes them in float32, with
///   conv_clamp, labels for conditional models, lazy R1 and path-length regularization (both through the engine's
///   double backward); every published StyleGAN2 network is one of these configs;
/// - version 1 (Karras et al. 2019, NVlabs/stylegan): AdaIN synthesis with noise and blurred upsampling, and
///   progressive growing of both networks with fade-in, phases counted in images; R1 every step.
public final class StyleGAN: GANModel {
    /// Hyperparameters. The defaults suit a 2-core CPU at 32x32: w and z of 256, 8 mapping layers, 128 channels.
    public struct Config: ModelConfig {
        @Param("side length of the square images", .powerOfTwo(4, 1024)) public var resolution = 32
        @Param("image channels (1 grayscale, 3 RGB, ...)", .range(1, 64)) public var channels = 3
        @Param(
            "2 (StyleGAN2) or 1 (StyleGAN: AdaIN, progressive growing)",
            .oneOf([1, 2]).described("1 (StyleGAN) or 2 (StyleGAN2)"))
        public var version = 2
        @Param("length of the latent z", .range(1, 4096)) public var zDim = 256
        @Param("length of the intermediate latent w", .range(1, 4096)) public var wDim = 256
        @Param("length of the label c of a conditional model (one-hot classes); 0: unconditional", .range(0, 65_536))
        public var cDim = 0
        @Param("fully connected layers of the mapping network", .range(1, 16)) public var mappingLayers = 8
        @Param("feature maps at resolution r are min(channel_base // r, channel_max)", .atLeast(1))
        public var channelBase = 4096
        @Param("the most feature maps at any resolution", .atLeast(1)) public var channelMax = 128
        @Param(
            "feature maps at resolutions 4, 8, ..., resolution, in place of channel_base and channel_max (published "
                + "models need not follow that rule); None: the rule", .range(1, 65_536))
        public var channelCounts: [Int]? = nil
        @Param(
            "G's architecture (StyleGAN2): 'skip' (a toRGB at every resolution), 'resnet' (residual blocks, toRGB at "
                + "the end) or 'orig'", .oneOf(Architecture.allCases.map(\.rawValue)))
        public var architecture = "skip"
        @Param(
            "D's architecture (StyleGAN2): 'resnet', 'skip' or 'orig'", .oneOf(Architecture.allCases.map(\.rawValue)))
        public var dArchitecture = "resnet"
        @Param(
            "limit of every convolution's output, as NVlabs' conv_clamp (256 in its published models); None: none",
            .above(0))
        public var convClamp: Float? = nil
        @Param("Adam learning rate of G and D (before the lazy-regularization scaling)", .atLeast(0))
        public var lr: Float = 0.002
        @Param("Adam's (beta1, beta2) (likewise)", .halfOpen(0, 1)) public var betas = Pair(0, 0.99)
        @Param(
            "R1 weight; None: version 2's NVlabs heuristic 0.0002 * resolution**2 / 32, version 1's 10",
            .atLeast(0))
        public var r1Gamma: Float? = nil
        @Param("steps between R1 penalties; None: 16 (lazy) for version 2, 1 for version 1", .atLeast(1))
        public var r1Interval: Int? = nil
        @Param("steps between path-length penalties (version 2)", .atLeast(1)) public var plInterval = 4
        @Param("path-length penalty weight; None: 2 for version 2, 0 (none) for version 1", .atLeast(0))
        public var plWeight: Float? = nil
        @Param(
            "probability that a training batch mixes the ws of two z from a random layer on",
            .range(0, 1).described("a probability"))
        public var styleMixing: Float = 0.9
        @Param("half-life of G_ema in images", .atLeast(0)) public var emaImages: Float = 10_000
        @Param(
            "the G_ema half-life is at most this fraction of the images seen so far (NVlabs' ramp-up), so G_ema "
                + "follows G closely early in a run; 0 keeps the half-life fixed", .atLeast(0))
        public var emaRampup: Float = 0.05
        @Param("adaptive discriminator augmentation (for small datasets)") public var ada = false
        @Param("ADA's target for the mean sign of D's outputs on reals", .range(-1, 1))
        public var adaTarget: Float = 0.6
        @Param("ADA's initial augmentation probability (needs ada)", .range(0, 1)) public var augmentP: Float = 0
        @Param("learning-rate multiplier of the mapping network", .above(0))
        public var mappingLrMultiplier: Float = 0.01
        @Param("how slowly w_avg follows the mapped w in training", .range(0, 1)) public var wAvgBeta: Float = 0.995
        @Param("decay of the running mean of path lengths (pl_mean)", .range(0, 1)) public var plDecay: Float = 0.01
        @Param("the path-length penalty runs on batch_size // pl_batch_shrink samples", .atLeast(1))
        public var plBatchShrink = 2
        @Param("group size of D's minibatch standard deviation; None: the whole batch", .atLeast(1))
        public var mbstdGroup: Int? = 4
        @Param("statistics channels of D's minibatch standard deviation (0: none)", .range(0, 64))
        public var mbstdChannels = 1
        @Param("fully connected layers of a conditional D's label mapping", .range(1, 16)) public var dMappingLayers = 8
        @Param("steps between ADA's adjustments of p", .atLeast(1)) public var adaInterval = 4
        @Param("thousands of images for ADA's p to go from 0 to 1 at full speed", .above(0))
        public var adaKimg: Float = 500
        @Param("version 1: real images per phase of progressive growing", .atLeast(1)) public var phaseImages = 20_000
        @Param("version 1: the resolution growing starts from", .powerOfTwo(4, 256)) public var initialResolution = 8
        @Param(
            "how truncation works: 'nvlabs' (any psi, above 1 extrapolates, an optional cutoff) or 'rosinality' "
                + "(only psi below 1, every layer)", .oneOf(MappingNetwork.TruncationRule.allCases.map(\.rawValue)))
        public var truncation = "nvlabs"
        @Param("build G, D and their optimizers for training; False keeps only G_ema, to generate in less memory")
        public var trainable = true
        @Param(
            "D's first blocks (from the image side) kept as they are while training: FreezeD's recipe for "
                + "fine-tuning on a few images", .range(0, 16))
        public var freezeD = 0
        @Param(
            "how generate turns a seed into z: 'philox' (the engine's generator) or 'numpy' (numpy's legacy "
                + "RandomState(seed).randn, as NVlabs' generate.py: a published model's seed 85 is the image papers "
                + "show)", .oneOf(["philox", "numpy"]))
        public var seedRng = "philox"
        @Param(
            "swiftgan 0.1's StyleGAN2 up-convolution (FIR upsampling, then the 3x3 conv) in place of NVlabs' (a "
                + "transposed conv, then FIR): set for that version's checkpoints")
        public var legacyUpsampling = false

        public init() {}
        public static let modelName = "StyleGAN"

        /// The R1 weight: `r1Gamma`, or the version's default.
        public var gamma: Float { r1Gamma ?? (version == 1 ? 10 : 0.0002 * Float(resolution * resolution) / 32) }
        /// Steps between R1 penalties: `r1Interval`, or the version's default (lazy for version 2).
        public var r1Every: Int { r1Interval ?? (version == 1 ? 1 : 16) }
        /// The path-length penalty weight: `plWeight`, or the version's default (none for version 1).
        public var pathLengthWeight: Float { plWeight ?? (version == 1 ? 0 : 2) }
        /// Images for ADA's p to go from 0 to 1.
        public var adaSpeedImages: Float { adaKimg * 1000 }
        /// Resolutions 4, 8, ..., resolution.
        public var resolutions: [Int] { (2...resolution.trailingZeroBitCount).map { 1 << $0 } }

        /// Feature maps at a resolution: from `channelCounts`, else min(channel_base / r, channel_max).
        public func channels(at r: Int) -> Int {
            if let channelCounts { return channelCounts[r.trailingZeroBitCount - 2] }
            return Swift.min(channelBase / r, channelMax)
        }

        public func validate() throws {
            if let channelCounts {
                try require(
                    channelCounts.count == resolutions.count,
                    "channel_counts: expected \(resolutions.count) counts (resolutions \(resolutions)), "
                        + "got \(channelCounts.count)")
            }
            if version == 1 {
                let defaults = Config()
                try require(
                    resolution >= 8 && initialResolution <= resolution,
                    "initial_resolution: expected a power of two from 4 to the resolution, got \(initialResolution)")
                try require(
                    pathLengthWeight == 0,
                    "pl_weight: path-length regularization is StyleGAN2's; set it to 0 for version 1")
                try require(
                    cDim == 0 && architecture == defaults.architecture && dArchitecture == defaults.dArchitecture
                        && convClamp == nil && !legacyUpsampling && mbstdChannels == 1,
                    "c_dim, architecture, d_architecture, conv_clamp, mbstd_channels: StyleGAN2's; leave them at "
                        + "their defaults for version 1")
            }
            try require(
                channels(at: resolution) >= 1,
                "channel_base, channel_max: need at least one channel at \(resolution)x\(resolution)")
            try require(gamma.isFinite, "r1_gamma: expected a finite number")
            try require(
                freezeD == 0 || freezeD < resolutions.count - 1,
                "freeze_d: expected fewer than the discriminator's \(resolutions.count - 1) blocks, got \(freezeD)")
            try require(augmentP == 0 || ada, "StyleGAN: augment_p is ADA's initial probability; it needs ada=True")
        }
    }

    /// A generator: mapping and synthesis networks.
    public final class Generator: Module {
        public let mapping: MappingNetwork
        public let synthesis: any StyleSynthesis

        init(_ c: Config, rng: inout RandomGenerator) throws {
            mapping = try MappingNetwork(
                zDim: c.zDim, cDim: c.cDim, wDim: c.wDim, layers: c.mappingLayers, lrMultiplier: c.mappingLrMultiplier,
                wAverageBeta: c.wAvgBeta, rng: &rng)
            let options = SynthesisOptions(
                wDim: c.wDim, imageChannels: c.channels, convClamp: c.convClamp, legacyUpsampling: c.legacyUpsampling)
            synthesis =
                c.version == 1
                ? try ProgressiveSynthesis(
                    wDim: c.wDim, resolution: c.resolution, imageChannels: c.channels, channels: c.channels(at:),
                    rng: &rng)
                : try SynthesisNetwork(
                    resolution: c.resolution, channels: c.channels(at:),
                    architecture: Architecture(rawValue: c.architecture)!, options, rng: &rng)
        }

        public var parameters: [(String, Tensor)] {
            namedState([("mapping", mapping), ("synthesis", synthesis)]) { $0.parameters }
        }
        public var buffers: [(String, Tensor)] {
            namedState([("mapping", mapping), ("synthesis", synthesis)]) { $0.buffers }
        }
    }

    /// What training needs beside G_ema: G, D, their optimizers, the path-length mean and ADA.
    public final class Trainer {
        public let generator: Generator
        public let discriminator: any Layer
        let optimizerG: Adam, optimizerD: Adam
        /// The running mean of path lengths (NVlabs' pl_mean).
        public let plMean: Tensor
        /// The augmentation D's inputs go through (nil when ADA is off).
        public let augment: AdaptiveAugment?

        init(_ config: Config, rng: inout RandomGenerator) throws {
            generator = try Generator(config, rng: &rng)
            let d = StyleGAN2Discriminator.Options(
                imageChannels: config.channels, architecture: Architecture(rawValue: config.dArchitecture)!,
                convClamp: config.convClamp, mbstdGroup: config.mbstdGroup, mbstdChannels: config.mbstdChannels,
                cDim: config.cDim, mappingLayers: config.dMappingLayers)
            discriminator =
                config.version == 1
                ? try ProgressiveDiscriminator(
                    resolution: config.resolution, imageChannels: config.channels, channels: config.channels(at:),
                    mbstdGroup: config.mbstdGroup ?? 4, rng: &rng)
                : try StyleGAN2Discriminator(
                    resolution: config.resolution, channels: config.channels(at:), options: d, rng: &rng)
            let (cG, cD) = StyleGAN.lazyFactors(config)
            optimizerG = try Adam(
                generator.parameters.map(\.1), beta1: Glibc.pow(config.betas.first, cG),
                beta2: Glibc.pow(config.betas.second, cG))
            // FreezeD: the first blocks' weights stay as they are (no gradients, no updates).
            for block in (discriminator as? StyleGAN2Discriminator)?.blocks.prefix(config.freezeD) ?? [] {
                for (_, p) in block.parameters { try p.setRequiresGrad(false) }
            }
            optimizerD = try Adam(
                discriminator.parameters.map(\.1).filter(\.requiresGrad), beta1: Glibc.pow(config.betas.first, cD),
                beta2: Glibc.pow(config.betas.second, cD))
            plMean = try Tensor(zeros: [])
            augment =
                config.ada
                ? try AdaptiveAugment(
                    target: config.adaTarget, interval: config.adaInterval,
                    speedImages: config.adaSpeedImages, initialP: config.augmentP) : nil
        }
    }

    public let config: Config
    public let generatorEMA: Generator
    /// G, D and their optimizers; nil for a model built for generation alone (`trainable` false).
    public let trainer: Trainer?
    /// The derived forms of G_ema's weights, kept from one generation call to the next until a write that could
    /// change a weight (an EMA update, a loaded state: `WeightEpoch`).
    let generationWeights: WeightCache
    public var step = 0
    public var rng: RandomGenerator
    public var dataParallel: DataParallel?
    var lastPenalties: (pl: Float, r1: Float) = (0, 0)
    /// Real images seen: the clock of version 1's progressive growing.
    var imagesSeen = 0
    public let lossNames = ["loss_g", "loss_d", "loss_pl", "loss_r1", "d_real", "d_fake", "pl_mean", "augment_p"]

    /// G, the generator training updates (nil for a model built for generation alone).
    public var generator: Generator? { trainer?.generator }
    /// D (nil for a model built for generation alone).
    public var discriminator: (any Layer)? { trainer?.discriminator }

    /// The training parts, or an error naming what needs them.
    func trained(_ what: String) throws -> Trainer {
        guard let trainer else {
            throw SwiftGANError.invalidArgument(
                "\(what): this model keeps only G_ema (built with trainable=False, for generation)")
        }
        return trainer
    }

    public var nets: [(String, any Module)] {
        (trainer.map { [("G", $0.generator as any Module), ("D", $0.discriminator)] } ?? []) + [("G_ema", generatorEMA)]
    }
    public var optimizers: [NamedOptimizer] {
        guard let t = trainer else { return [] }
        return [
            NamedOptimizer("G", t.optimizerG, parameterNames: prefixed("G", t.generator.parameters).map(\.0)),
            NamedOptimizer(
                "D", t.optimizerD,
                parameterNames: prefixed("D", t.discriminator.parameters).filter(\.1.requiresGrad).map(\.0)),
        ]
    }
    public var extraState: [(String, Tensor)] {
        guard let t = trainer else { return [] }
        return [("pl_mean", t.plMean)] + (t.augment.map { [("augment_p", $0.p), ("ada_signs", $0.signSum)] } ?? [])
    }
    public var extraCounters: [(String, Int64)] {
        [("images", Int64(imagesSeen))] + (trainer?.augment.map { [("ada_count", Int64($0.signCount))] } ?? [])
    }

    public func setExtraCounter(_ name: String, _ value: Int64) throws {
        try require(value >= 0, "\(name): expected a non-negative count, got \(value)")
        if name == "images" {
            imagesSeen = Int(value)
        } else if name == "ada_count", let augment = trainer?.augment {
            augment.signCount = Int(value)
        } else {
            throw SwiftGANError.invalidArgument("counter: unknown name '\(name)'")
        }
    }

    public init(_ config: Config, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng = RandomGenerator(seed: seed)
        var emaRng = rng
        if config.trainable {
            trainer = try Trainer(config, rng: &rng)
            generatorEMA = try Generator(config, rng: &emaRng)  // the same draws as G: G_ema starts equal to G
        } else {
            trainer = nil
            generatorEMA = try Generator(config, rng: &rng)
        }
        generationWeights = WeightCache(constant: generatorEMA.parameters.map(\.1))
        self.rng = rng
    }

    /// Lazy regularization (version 2) scales lr and betas by c = k / (k + 1) for a network regularized every k steps.
    static func lazyFactors(_ c: Config) -> (g: Double, d: Double) {
        guard c.version == 2 else { return (1, 1) }
        return (Double(c.plInterval) / Double(c.plInterval + 1), Double(c.r1Every) / Double(c.r1Every + 1))
    }

    var learningRates: (g: Float, d: Float) {
        let (cG, cD) = StyleGAN.lazyFactors(config)
        return (config.lr * Float(cG), config.lr * Float(cD))
    }

    /// Version 1's growth stage after `images` real images (version 2 is always at full resolution).
    public func stage(images: Int) -> GrowthStage {
        guard config.version == 1 else { return GrowthStage(resolution: config.resolution, alpha: 1) }
        return GrowthStage.at(
            images: images, phaseImages: config.phaseImages, initial: config.initialResolution, final: config.resolution
        )
    }

    /// Sets the stage on every progressive network.
    func setStage(_ stage: GrowthStage) {
        for g in [trainer?.generator, generatorEMA] { (g?.synthesis as? ProgressiveSynthesis)?.stage = stage }
        (trainer?.discriminator as? ProgressiveDiscriminator)?.stage = stage
    }

    /// Reals at the stage's resolution, blended with the previous resolution's during a fade-in (as v1 feeds D).
    func realsAtStage(_ real: Tensor, _ stage: GrowthStage) throws -> Tensor {
        let r = config.resolution
        guard stage.resolution < r || stage.alpha < 1 else { return real }
        let current = stage.resolution < r ? try avgPool2d(real, kernelSize: r / stage.resolution) : real
        guard stage.alpha < 1 else { return current }
        let low = try upsampleNearest2d(try avgPool2d(real, kernelSize: 2 * r / stage.resolution), scale: 2)
        return try add(low, try scale(try sub(current, low), stage.alpha))
    }

    /// ws [N, numWs, wDim] for z (and labels), with style mixing (probability `mixing`): from a random cutoff on,
    /// the ws of a second z with the same labels.
    func mappedWithMixing(_ g: Generator, _ z: Tensor, _ labels: Tensor?, mixing: Float) throws -> Tensor {
        let numWs = g.synthesis.numWs
        let n = z.shape[0]
        let broadcastWs = { (w: Tensor) throws -> Tensor in
            try broadcast(try reshape(w, [n, 1, self.config.wDim]), to: [n, numWs, self.config.wDim])
        }
        let ws = try broadcastWs(try g.mapping(z, labels, training: true))
        let draw = try rng.uniform([2])
        guard numWs > 1, draw.data[0] < mixing else { return ws }
        let cutoff = 1 + Swift.min(Int(draw.data[1] * Float(numWs - 1)), numWs - 2)
        let other = try broadcastWs(try g.mapping(try rng.normal([n, config.zDim]), labels, training: true))
        return try cat(
            [
                try narrow(ws, dim: 1, start: 0, length: cutoff),
                try narrow(other, dim: 1, start: cutoff, length: numWs - cutoff),
            ], dim: 1)
    }

    /// D's logits on images (and labels), augmented when ADA is on.
    func discriminate(_ t: Trainer, _ images: Tensor, _ labels: Tensor?) throws -> Tensor {
        let x = try t.augment.map { try $0(images, rng: &rng) } ?? images
        if let d = t.discriminator as? StyleGAN2Discriminator { return try d(x, labels: labels) }
        return try t.discriminator(x, training: true)
    }

    private func checkImages(_ x: Tensor, _ argument: String) throws {
        let c = config
        try require(
            x.shape.count == 4 && x.shape[1] == c.channels && x.shape[2] == c.resolution && x.shape[3] == c.resolution
                && x.shape[0] >= 1,
            "\(argument): expected images [N, \(c.channels), \(c.resolution), \(c.resolution)], "
                + "got \(Shape.describe(x.shape))"
        )
    }

    /// The labels a conditional model needs for `count` samples (nil for an unconditional model), checked.
    private func checkLabels(_ c: Tensor?, count: Int, _ argument: String) throws -> Tensor? {
        guard config.cDim > 0 else {
            try require(c == nil, "\(argument): this model is unconditional (c_dim 0) and takes no labels")
            return nil
        }
        guard let c else {
            throw SwiftGANError.invalidArgument(
                "\(argument): this model is conditional: it needs labels [N, \(config.cDim)] (one-hot classes)")
        }
        try require(
            c.shape == [count, config.cDim],
            "\(argument): expected labels [\(count), \(config.cDim)], got \(Shape.describe(c.shape))")
        return c
    }

    /// One minibatch in NVlabs' phase order: Gmain, Greg (every pl_interval), Dmain, Dreg (every r1_interval), then
    /// the G_ema update. A conditional model takes the batch's labels [B, c_dim] after its images; its fakes are
    /// generated for the same labels.
    public func trainStep(_ batches: [Tensor]) throws -> [Float] {
        let t = try trained("train_step")
        let expected = config.cDim > 0 ? 2 : 1
        let what = expected == 2 ? "a batch of real images and their labels" : "one batch of real images"
        try require(
            batches.count == expected, "batches: this StyleGAN trains on \(what), got \(batches.count) batches")
        try checkImages(batches[0], "batch")
        let n = batches[0].shape[0], c = config, lr = learningRates
        generationWeights.clear()
        let labels = try checkLabels(batches.count > 1 ? batches[1].detached() : nil, count: n, "labels")
        StepTransaction.remember { [penalties = lastPenalties] in self.lastPenalties = penalties }
        let stage = self.stage(images: imagesSeen)
        setStage(stage)
        let real = try noGrad { try realsAtStage(batches[0].detached(), stage) }
        let g = t.generator

        // Gmain: the non-saturating loss through a frozen D.
        t.optimizerG.zeroGrad()
        let lossG = try frozen(t.optimizerD.parameters) { () throws -> Tensor in
            let ws = try mappedWithMixing(g, try rng.normal([n, c.zDim]), labels, mixing: c.styleMixing)
            let img = try g.synthesis(ws, noise: .random, rng: &rng)
            let loss = try mean(try softplus(try neg(try discriminate(t, img, labels))))
            try Autograd.backward(loss)
            return loss
        }
        try t.optimizerG.update(lr: lr.g)

        // Greg: path-length regularization, the gradient of <img, noise> with respect to ws differentiated again.
        if c.pathLengthWeight > 0 && step % c.plInterval == 0 {
            t.optimizerG.zeroGrad()
            let m = Swift.max(1, n / c.plBatchShrink)
            let plLabels = try labels.map { try narrow($0, dim: 0, start: 0, length: m) }
            let ws = try mappedWithMixing(g, try rng.normal([m, c.zDim]), plLabels, mixing: c.styleMixing)
            let img = try g.synthesis(ws, noise: .random, rng: &rng)
            let noise = try scale(try rng.normal(img.shape), 1 / Float(img.shape[2] * img.shape[3]).squareRoot())
            let grads = try Autograd.grad([try sum(try mul(img, noise))], wrt: [ws], createGraph: true)[0]!
            let lengths = try sqrt(try mean(try sum(try square(grads), axes: [2]), axes: [1]))
            // The batch's mean path length, over every rank's batch under data parallelism.
            var batchMean = [Double(try noGrad { try mean(lengths) }.item)]
            if let dp = dataParallel { batchMean = try dp.communicator.allreduceMean(batchMean) }
            let updated = t.plMean.item + c.plDecay * (Float(batchMean[0]) - t.plMean.item)
            try StepTransaction.preserve(t.plMean)
            t.plMean.data[0] = updated
            let penalty = try mean(try square(try affine(lengths, scale: 1, shift: -updated)))
            try Autograd.backward(try scale(penalty, c.pathLengthWeight * Float(c.plInterval)))
            lastPenalties.pl = penalty.item * c.pathLengthWeight
            try t.optimizerG.update(lr: lr.g)
        }

        // Dmain: logistic loss on a fresh fake batch and the reals.
        t.optimizerD.zeroGrad()
        let fake = try noGrad {
            try g.synthesis(
                try mappedWithMixing(g, try rng.normal([n, c.zDim]), labels, mixing: c.styleMixing),
                noise: .random, rng: &rng)
        }
        let logitsFake = try discriminate(t, fake, labels), logitsReal = try discriminate(t, real, labels)
        try t.augment?.observe(
            realLogits: logitsReal, batch: n * worldSize, step: step, communicator: dataParallel?.communicator)
        let lossD = try add(try mean(try softplus(logitsFake)), try mean(try softplus(try neg(logitsReal))))
        try Autograd.backward(lossD)
        let r1Step = c.gamma > 0 && step % c.r1Every == 0
        if !r1Step { StepTransaction.commit() }  // the rest is D's update and the EMA
        try t.optimizerD.update(lr: lr.d)

        // Dreg: R1, the squared norm of D's gradient at the reals, differentiated with respect to D's weights.
        if r1Step {
            t.optimizerD.zeroGrad()
            let x = try real.copy()
            try x.setRequiresGrad(true)
            let gradient = try Autograd.grad([try sum(try discriminate(t, x, labels))], wrt: [x], createGraph: true)[0]!
            let penalty = try mean(try sum(try square(gradient), axes: [1, 2, 3]))
            try Autograd.backward(try scale(penalty, c.gamma / 2 * Float(c.r1Every)))
            lastPenalties.r1 = penalty.item * c.gamma / 2
            StepTransaction.commit()
            try t.optimizerD.update(lr: lr.d)
        }

        try updateEMA(t, batch: n * worldSize)
        step += 1
        imagesSeen += n * worldSize
        let meanOf = { (x: Tensor) throws -> Float in try noGrad { try mean(x) }.item }
        return [
            lossG.item, lossD.item, lastPenalties.pl, lastPenalties.r1, try meanOf(logitsReal), try meanOf(logitsFake),
            t.plMean.item, t.augment?.p.item ?? 0,
        ]
    }

    /// G_ema = beta G_ema + (1 - beta) G with beta = 0.5^(batch / half-life), the half-life being ema_images or, with
    /// the ramp-up, at most ema_rampup times the images seen before this batch; buffers are copied.
    func updateEMA(_ t: Trainer, batch: Int) throws {
        let c = config
        for (_, e) in generatorEMA.buffers { try StepTransaction.preserve(e) }
        let halfLife =
            c.emaRampup > 0
            ? Swift.min(Double(c.emaImages), Double(imagesSeen) * Double(c.emaRampup)) : Double(c.emaImages)
        let beta = halfLife > 0 ? Float(Glibc.pow(0.5, Double(batch) / halfLife)) : 0
        try emaUpdate(generatorEMA.parameters.map(\.1), t.generator.parameters.map(\.1), decay: beta)
        for ((_, e), (_, b)) in zip(generatorEMA.buffers, t.generator.buffers) {
            e.data.update(from: b.data, count: b.count)
        }
    }

    /// G_ema's (or G's) generator.
    private func generator(ema: Bool) throws -> Generator { ema ? generatorEMA : try trained("G").generator }

    /// ws [N, numWs, wDim] for z [N, zDim] (and labels c [N, cDim] for a conditional model) through G_ema's (or
    /// G's) mapping, truncated toward w_avg by the config's rule.
    public func mapping(
        _ z: Tensor, labels c: Tensor? = nil, psi: Float = 1, cutoff: Int? = nil, ema: Bool = true
    ) throws -> Tensor {
        try require(
            z.rank == 2 && z.shape[1] == config.zDim && z.shape[0] >= 1,
            "z: expected [N, \(config.zDim)], got \(Shape.describe(z.shape))")
        try require(psi.isFinite, "truncation_psi: expected a finite number, got \(psi)")
        let labels = try checkLabels(c, count: z.shape[0], "c")
        let g = try generator(ema: ema)
        let rule = MappingNetwork.TruncationRule(rawValue: config.truncation)!
        return try noGrad {
            let w = try g.mapping(z, labels, training: false)
            let numWs = g.synthesis.numWs
            let ws = try broadcast(try reshape(w, [z.shape[0], 1, config.wDim]), to: [z.shape[0], numWs, config.wDim])
            return try g.mapping.truncate(ws, psi: psi, cutoff: cutoff, rule: rule)
        }
    }

    /// Images [N, C, R, R] for ws [N, numWs, wDim] through G_ema's (or G's) synthesis.
    public func synthesis(_ ws: Tensor, noise: NoiseMode = .const, ema: Bool = true, seed: UInt64 = 0) throws -> Tensor
    {
        let g = try generator(ema: ema)
        try require(
            ws.rank == 3 && ws.shape[1] == g.synthesis.numWs && ws.shape[2] == config.wDim && ws.shape[0] >= 1,
            "ws: expected [N, \(g.synthesis.numWs), \(config.wDim)], got \(Shape.describe(ws.shape))")
        var noiseRng = RandomGenerator(seed: seed)
        setStage(stage(images: imagesSeen))
        return try noGrad {
            let synthesize = { try g.synthesis(ws, noise: noise, rng: &noiseRng) }
            let images = try ema ? generationWeights.with(synthesize) : synthesize()
            let factor = config.resolution / images.shape[2]
            return factor > 1 ? try upsampleNearest2d(images, scale: factor) : images
        }
    }

    /// D's logits [N, 1] for images [N, C, R, R] (and labels [N, cDim] for a conditional model), without recording
    /// and without augmentation.
    public func discriminate(_ images: Tensor, labels c: Tensor? = nil) throws -> Tensor {
        let t = try trained("discriminate")
        try checkImages(images, "images")
        let labels = try checkLabels(c, count: images.shape[0], "c")
        let stage = self.stage(images: imagesSeen)
        setStage(stage)
        return try noGrad {
            let x = try realsAtStage(images, stage)
            if let d = t.discriminator as? StyleGAN2Discriminator { return try d(x, labels: labels) }
            return try t.discriminator(x, training: false)
        }
    }

    public func forward(net name: String, _ x: Tensor, training: Bool) throws -> Tensor {
        switch name {
        case "D": return try discriminate(x)
        case "G", "G_ema": return try synthesis(try mapping(x, ema: name == "G_ema"), ema: name == "G_ema")
        default: throw SwiftGANError.invalidArgument("net: unknown network '\(name)'; expected G, D or G_ema")
        }
    }

    public func generate(count: Int, seed: UInt64) throws -> Tensor {
        try require(count >= 1 && count <= 1 << 16, "n: expected 1 to 65536 samples, got \(count)")
        var sampler = RandomGenerator(seed: seed)
        return try synthesis(try mapping(try sampler.normal([count, config.zDim])))
    }
}
