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
/// - version 2 (Karras et al. 2020, NVlabs/stylegan2-ada-pytorch, the default): modulated-conv synthesis with skip
///   connections and FIR resampling, residual discriminator, lazy R1 and path-length regularization (both through
///   the engine's double backward);
/// - version 1 (Karras et al. 2019, NVlabs/stylegan): AdaIN synthesis with noise and blurred upsampling, and
///   progressive growing of both networks with fade-in, phases counted in images; R1 every step.
public final class StyleGAN: GANModel {
    /// Hyperparameters. The defaults suit a 2-core CPU at 32x32: w and z of 256, 8 mapping layers, 128 channels.
    public struct Config: Sendable, Equatable {
        public var version = 2
        public var resolution = 32, channels = 3
        public var zDim = 256, wDim = 256, mappingLayers = 8, mappingLrMultiplier: Float = 0.01
        public var channelBase = 4096, channelMax = 128
        public var lr: Float = 0.002, beta1 = 0.0, beta2 = 0.99
        /// R1 weight; nil takes NVlabs' heuristic 0.0002 * resolution^2 / 32 (batch 32).
        public var r1Gamma: Float? = nil
        public var r1Interval = 16, plInterval = 4
        public var plWeight: Float = 2, plDecay: Float = 0.01, plBatchShrink = 2
        public var mixingProbability: Float = 0.9
        /// G_ema half-life in images, and its ramp-up: the half-life is at most this fraction of the images seen so far
        /// (NVlabs' 0.05; 0 turns the ramp-up off), so G_ema follows G closely early in training.
        public var emaImages: Float = 10_000, emaRampup: Float = 0.05
        public var mbstdGroup = 4
        /// Adaptive discriminator augmentation (off by default: for small datasets), its target for the mean sign of
        /// D on reals, how often p moves, how many images p takes to go from 0 to 1, and p's starting value.
        public var ada = false, adaTarget: Float = 0.6, adaInterval = 4, adaSpeedImages: Float = 500_000, augmentP: Float = 0
        /// Version 1's progressive growing: images per phase (training a resolution, then fading the next one in take
        /// one phase each) and the starting resolution.
        public var phaseImages = 20_000, initialResolution = 8
        public init() {}

        /// Version 1's defaults where they differ: R1 with gamma 10 every step, no path-length regularization.
        public static func version1() -> Config {
            var c = Config()
            (c.version, c.r1Gamma, c.r1Interval, c.plWeight) = (1, 10, 1, 0)
            return c
        }

        public var gamma: Float { r1Gamma ?? 0.0002 * Float(resolution * resolution) / 32 }

        /// Feature maps at a resolution: min(channel_base / r, channel_max).
        public func channels(at r: Int) -> Int { Swift.min(channelBase / r, channelMax) }

        /// Checks every field, naming the one that is wrong.
        public func validate() throws {
            try require(version == 1 || version == 2, "version: expected 1 (StyleGAN) or 2 (StyleGAN2), got \(version)")
            try require([8, 16, 32, 64, 128, 256].contains(resolution), "resolution: expected a power of two from 8 to 256, got \(resolution)")
            try require(version == 2 || (phaseImages >= 1 && [4, 8, 16, 32, 64, 128, 256].contains(initialResolution) && initialResolution <= resolution),
                        "phase_images, initial_resolution: expected a positive phase and a power of two from 4 to the resolution")
            try require(version == 2 || plWeight == 0, "pl_weight: path-length regularization is StyleGAN2's; set it to 0 for version 1")
            try require(channels >= 1 && channels <= 64, "channels: expected 1 to 64, got \(channels)")
            try require(zDim >= 1 && zDim <= 4096 && wDim >= 1 && wDim <= 4096, "z_dim, w_dim: expected 1 to 4096")
            try require(mappingLayers >= 1 && mappingLayers <= 16, "mapping_layers: expected 1 to 16, got \(mappingLayers)")
            try require(channelBase >= 1 && channelMax >= 1 && channels(at: resolution) >= 1,
                        "channel_base, channel_max: need at least one channel at \(resolution)x\(resolution)")
            try require(lr >= 0 && lr.isFinite && mappingLrMultiplier > 0, "lr: expected a finite non-negative learning rate")
            try require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "betas: expected values in [0, 1)")
            try require(gamma >= 0 && gamma.isFinite && plWeight >= 0 && plDecay >= 0 && plDecay <= 1, "r1_gamma, pl_weight, pl_decay: expected non-negative values")
            try require(r1Interval >= 1 && plInterval >= 1 && plBatchShrink >= 1, "intervals and pl_batch_shrink: expected positive integers")
            try require(mixingProbability >= 0 && mixingProbability <= 1, "style_mixing: expected a probability, got \(mixingProbability)")
            try require(emaImages >= 0 && emaImages.isFinite, "ema_images: expected a non-negative number")
            try require(emaRampup >= 0 && emaRampup.isFinite, "ema_rampup: expected a non-negative number")
            try require(mbstdGroup >= 1, "mbstd_group: expected a positive integer")
            try require(adaTarget >= -1 && adaTarget <= 1 && adaInterval >= 1 && adaSpeedImages > 0 && augmentP >= 0 && augmentP <= 1,
                        "ada_target, ada_interval, ada_kimg, augment_p: expected a target in [-1, 1], positive interval and pace, p in [0, 1]")
        }
    }

    /// A generator: mapping and synthesis networks.
    public final class Generator: Module {
        public let mapping: MappingNetwork
        public let synthesis: any StyleSynthesis

        init(_ c: Config, rng: inout RandomGenerator) throws {
            mapping = try MappingNetwork(zDim: c.zDim, wDim: c.wDim, layers: c.mappingLayers, lrMultiplier: c.mappingLrMultiplier, rng: &rng)
            synthesis = c.version == 1
                ? try ProgressiveSynthesis(wDim: c.wDim, resolution: c.resolution, imageChannels: c.channels, channels: c.channels(at:), rng: &rng)
                : try SynthesisNetwork(wDim: c.wDim, resolution: c.resolution, imageChannels: c.channels, channels: c.channels(at:), rng: &rng)
        }

        public var parameters: [(String, Tensor)] { namedState([("mapping", mapping), ("synthesis", synthesis)]) { $0.parameters } }
        public var buffers: [(String, Tensor)] { namedState([("mapping", mapping), ("synthesis", synthesis)]) { $0.buffers } }
    }

    public let config: Config
    public let generator: Generator, generatorEMA: Generator
    public let discriminator: any Layer
    let optimizerG: Adam, optimizerD: Adam
    /// The running mean of path lengths (NVlabs' pl_mean).
    let plMean: Tensor
    /// The augmentation D's inputs go through (nil when ADA is off).
    public let augment: AdaptiveAugment?
    public var step = 0
    public var rng: RandomGenerator
    public var dataParallel: DataParallel?
    var lastPenalties: (pl: Float, r1: Float) = (0, 0)
    /// Real images seen: the clock of version 1's progressive growing.
    var imagesSeen = 0
    public let lossNames = ["loss_g", "loss_d", "loss_pl", "loss_r1", "d_real", "d_fake", "pl_mean", "augment_p"]

    public var nets: [(String, any Module)] { [("G", generator), ("D", discriminator), ("G_ema", generatorEMA)] }
    public var optimizers: [NamedOptimizer] {
        [NamedOptimizer("G", optimizerG, parameterNames: prefixed("G", generator.parameters).map(\.0)),
         NamedOptimizer("D", optimizerD, parameterNames: prefixed("D", discriminator.parameters).map(\.0))]
    }
    public var extraState: [(String, Tensor)] {
        [("pl_mean", plMean)] + (augment.map { [("augment_p", $0.p), ("ada_signs", $0.signSum)] } ?? [])
    }
    public var extraCounters: [(String, Int64)] {
        [("images", Int64(imagesSeen))] + (augment.map { [("ada_count", Int64($0.signCount))] } ?? [])
    }

    public func setExtraCounter(_ name: String, _ value: Int64) throws {
        try require(value >= 0, "\(name): expected a non-negative count, got \(value)")
        if name == "images" {
            imagesSeen = Int(value)
        } else if name == "ada_count", let augment {
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
        generator = try Generator(config, rng: &rng)
        generatorEMA = try Generator(config, rng: &emaRng)  // the same draws: G_ema starts equal to G
        discriminator = config.version == 1
            ? try ProgressiveDiscriminator(resolution: config.resolution, imageChannels: config.channels, channels: config.channels(at:),
                                           mbstdGroup: config.mbstdGroup, rng: &rng)
            : try ResidualDiscriminator(resolution: config.resolution, imageChannels: config.channels, channels: config.channels(at:),
                                        mbstdGroup: config.mbstdGroup, rng: &rng)
        let (cG, cD) = StyleGAN.lazyFactors(config)
        optimizerG = try Adam(generator.parameters.map(\.1), beta1: Glibc.pow(config.beta1, cG), beta2: Glibc.pow(config.beta2, cG))
        optimizerD = try Adam(discriminator.parameters.map(\.1), beta1: Glibc.pow(config.beta1, cD), beta2: Glibc.pow(config.beta2, cD))
        plMean = try Tensor(zeros: [])
        augment = config.ada ? try AdaptiveAugment(target: config.adaTarget, interval: config.adaInterval,
                                                   speedImages: config.adaSpeedImages, initialP: config.augmentP) : nil
        self.rng = rng
    }

    /// Lazy regularization (version 2) scales lr and betas by c = k / (k + 1) for a network regularized every k steps.
    static func lazyFactors(_ c: Config) -> (g: Double, d: Double) {
        guard c.version == 2 else { return (1, 1) }
        return (Double(c.plInterval) / Double(c.plInterval + 1), Double(c.r1Interval) / Double(c.r1Interval + 1))
    }

    var learningRates: (g: Float, d: Float) {
        let (cG, cD) = StyleGAN.lazyFactors(config)
        return (config.lr * Float(cG), config.lr * Float(cD))
    }

    /// Version 1's growth stage after `images` real images (version 2 is always at full resolution).
    public func stage(images: Int) -> GrowthStage {
        guard config.version == 1 else { return GrowthStage(resolution: config.resolution, alpha: 1) }
        return GrowthStage.at(images: images, phaseImages: config.phaseImages, initial: config.initialResolution, final: config.resolution)
    }

    /// Sets the stage on every progressive network.
    func setStage(_ stage: GrowthStage) {
        for g in [generator, generatorEMA] { (g.synthesis as? ProgressiveSynthesis)?.stage = stage }
        (discriminator as? ProgressiveDiscriminator)?.stage = stage
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

    /// ws [N, numWs, wDim] for z, with style mixing (probability `mixing`): from a random cutoff on, the ws of a
    /// second z.
    func mappedWithMixing(_ z: Tensor, mixing: Float) throws -> Tensor {
        let g = generator, numWs = g.synthesis.numWs
        let n = z.shape[0]
        let broadcastWs = { (w: Tensor) throws -> Tensor in try broadcast(try reshape(w, [n, 1, self.config.wDim]), to: [n, numWs, self.config.wDim]) }
        let ws = try broadcastWs(try g.mapping(z, training: true))
        let draw = try rng.uniform([2])
        guard numWs > 1, draw.data[0] < mixing else { return ws }
        let cutoff = 1 + Swift.min(Int(draw.data[1] * Float(numWs - 1)), numWs - 2)
        let other = try broadcastWs(try g.mapping(try rng.normal([n, config.zDim]), training: true))
        return try cat([try narrow(ws, dim: 1, start: 0, length: cutoff), try narrow(other, dim: 1, start: cutoff, length: numWs - cutoff)], dim: 1)
    }

    /// D's logits on images, augmented when ADA is on.
    func discriminate(_ images: Tensor) throws -> Tensor {
        try discriminator(try augment.map { try $0(images, rng: &rng) } ?? images, training: true)
    }

    private func checkImages(_ x: Tensor, _ argument: String) throws {
        let c = config
        try require(x.shape.count == 4 && x.shape[1] == c.channels && x.shape[2] == c.resolution && x.shape[3] == c.resolution && x.shape[0] >= 1,
                    "\(argument): expected images [N, \(c.channels), \(c.resolution), \(c.resolution)], got \(Shape.describe(x.shape))")
    }

    /// One minibatch in NVlabs' phase order: Gmain, Greg (every pl_interval), Dmain, Dreg (every r1_interval), then
    /// the G_ema update.
    public func trainStep(_ batches: [Tensor]) throws -> [Float] {
        try require(batches.count == 1, "batches: StyleGAN trains on one batch of real images, got \(batches.count) batches")
        try checkImages(batches[0], "batch")
        let n = batches[0].shape[0], c = config, lr = learningRates
        StepTransaction.remember { [penalties = lastPenalties] in self.lastPenalties = penalties }
        let stage = self.stage(images: imagesSeen)
        setStage(stage)
        let real = try noGrad { try realsAtStage(batches[0].detached(), stage) }

        // Gmain: the non-saturating loss through a frozen D.
        optimizerG.zeroGrad()
        let lossG = try frozen(optimizerD.parameters) { () throws -> Tensor in
            let ws = try mappedWithMixing(try rng.normal([n, c.zDim]), mixing: c.mixingProbability)
            let img = try generator.synthesis(ws, noise: .random, rng: &rng)
            let loss = try mean(try softplus(try neg(try discriminate(img))))
            try Autograd.backward(loss)
            return loss
        }
        try optimizerG.update(lr: lr.g)

        // Greg: path-length regularization, the gradient of <img, noise> with respect to ws differentiated again.
        if c.plWeight > 0 && step % c.plInterval == 0 {
            optimizerG.zeroGrad()
            let m = Swift.max(1, n / c.plBatchShrink)
            let ws = try mappedWithMixing(try rng.normal([m, c.zDim]), mixing: c.mixingProbability)
            let img = try generator.synthesis(ws, noise: .random, rng: &rng)
            let noise = try scale(try rng.normal(img.shape), 1 / Float(img.shape[2] * img.shape[3]).squareRoot())
            let grads = try Autograd.grad([try sum(try mul(img, noise))], wrt: [ws], createGraph: true)[0]!
            let lengths = try sqrt(try mean(try sum(try square(grads), axes: [2]), axes: [1]))
            // The batch's mean path length, over every rank's batch under data parallelism.
            var batchMean = [Double(try noGrad { try mean(lengths) }.item)]
            if let dp = dataParallel { batchMean = try dp.communicator.allreduceMean(batchMean) }
            let updated = plMean.item + c.plDecay * (Float(batchMean[0]) - plMean.item)
            try StepTransaction.preserve(plMean)
            plMean.data[0] = updated
            let penalty = try mean(try square(try affine(lengths, scale: 1, shift: -updated)))
            try Autograd.backward(try scale(penalty, c.plWeight * Float(c.plInterval)))
            lastPenalties.pl = penalty.item * c.plWeight
            try optimizerG.update(lr: lr.g)
        }

        // Dmain: logistic loss on a fresh fake batch and the reals.
        optimizerD.zeroGrad()
        let fake = try noGrad { try generator.synthesis(try mappedWithMixing(try rng.normal([n, c.zDim]), mixing: c.mixingProbability),
                                                        noise: .random, rng: &rng) }
        let logitsFake = try discriminate(fake), logitsReal = try discriminate(real)
        try augment?.observe(realLogits: logitsReal, batch: n * worldSize, step: step, communicator: dataParallel?.communicator)
        let lossD = try add(try mean(try softplus(logitsFake)), try mean(try softplus(try neg(logitsReal))))
        try Autograd.backward(lossD)
        let r1Step = c.gamma > 0 && step % c.r1Interval == 0
        if !r1Step { StepTransaction.commit() }  // the rest is D's update and the EMA
        try optimizerD.update(lr: lr.d)

        // Dreg: R1, the squared norm of D's gradient at the reals, differentiated with respect to D's weights.
        if r1Step {
            optimizerD.zeroGrad()
            let x = try real.copy()
            try x.setRequiresGrad(true)
            let g = try Autograd.grad([try sum(try discriminate(x))], wrt: [x], createGraph: true)[0]!
            let penalty = try mean(try sum(try square(g), axes: [1, 2, 3]))
            try Autograd.backward(try scale(penalty, c.gamma / 2 * Float(c.r1Interval)))
            lastPenalties.r1 = penalty.item * c.gamma / 2
            StepTransaction.commit()
            try optimizerD.update(lr: lr.d)
        }

        try updateEMA(batch: n * worldSize)
        step += 1
        imagesSeen += n * worldSize
        let meanOf = { (t: Tensor) throws -> Float in try noGrad { try mean(t) }.item }
        return [lossG.item, lossD.item, lastPenalties.pl, lastPenalties.r1, try meanOf(logitsReal), try meanOf(logitsFake), plMean.item,
                augment?.p.item ?? 0]
    }

    /// G_ema = beta G_ema + (1 - beta) G with beta = 0.5^(batch / half-life), the half-life being ema_images or, with
    /// the ramp-up, at most ema_rampup times the images seen before this batch; buffers are copied.
    func updateEMA(batch: Int) throws {
        let c = config
        for (_, e) in generatorEMA.buffers { try StepTransaction.preserve(e) }
        let halfLife = c.emaRampup > 0 ? Swift.min(Double(c.emaImages), Double(imagesSeen) * Double(c.emaRampup)) : Double(c.emaImages)
        let beta = halfLife > 0 ? Float(Glibc.pow(0.5, Double(batch) / halfLife)) : 0
        try emaUpdate(generatorEMA.parameters.map(\.1), generator.parameters.map(\.1), decay: beta)
        for ((_, e), (_, b)) in zip(generatorEMA.buffers, generator.buffers) { e.data.update(from: b.data, count: b.count) }
    }

    /// ws [N, numWs, wDim] for z [N, zDim] through G_ema's (or G's) mapping, truncated toward w_avg.
    public func mapping(_ z: Tensor, psi: Float = 1, cutoff: Int? = nil, ema: Bool = true) throws -> Tensor {
        try require(z.rank == 2 && z.shape[1] == config.zDim && z.shape[0] >= 1, "z: expected [N, \(config.zDim)], got \(Shape.describe(z.shape))")
        try require(psi.isFinite, "truncation_psi: expected a finite number, got \(psi)")
        let g = ema ? generatorEMA : generator
        return try noGrad {
            let w = try g.mapping(z, training: false)
            let numWs = g.synthesis.numWs
            let ws = try broadcast(try reshape(w, [z.shape[0], 1, config.wDim]), to: [z.shape[0], numWs, config.wDim])
            return try g.mapping.truncate(ws, psi: psi, cutoff: cutoff)
        }
    }

    /// Images [N, C, R, R] for ws [N, numWs, wDim] through G_ema's (or G's) synthesis.
    public func synthesis(_ ws: Tensor, noise: NoiseMode = .const, ema: Bool = true, seed: UInt64 = 0) throws -> Tensor {
        let g = ema ? generatorEMA : generator
        try require(ws.rank == 3 && ws.shape[1] == g.synthesis.numWs && ws.shape[2] == config.wDim && ws.shape[0] >= 1,
                    "ws: expected [N, \(g.synthesis.numWs), \(config.wDim)], got \(Shape.describe(ws.shape))")
        var noiseRng = RandomGenerator(seed: seed)
        setStage(stage(images: imagesSeen))
        return try noGrad {
            let images = try g.synthesis(ws, noise: noise, rng: &noiseRng)
            let factor = config.resolution / images.shape[2]
            return factor > 1 ? try upsampleNearest2d(images, scale: factor) : images
        }
    }

    public func forward(net name: String, _ x: Tensor, training: Bool) throws -> Tensor {
        switch name {
        case "D":
            try checkImages(x, "x")
            let stage = self.stage(images: imagesSeen)
            setStage(stage)
            return try noGrad { try discriminator(try realsAtStage(x, stage), training: training) }
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
