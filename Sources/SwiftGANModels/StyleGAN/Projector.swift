import Glibc
import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// Projection of an image into a StyleGAN2's latent space, NVlabs' recipe (stylegan2-ada-pytorch's projector.py, Karras
/// et al. 2020 "Analyzing and Improving the Image Quality of StyleGAN", section 5): w starts at the mean of
/// `wAvgSamples` mapped latents and is optimized by Adam together with every layer's noise map; the learning rate ramps
/// up over the first `lrRampupLength` of the steps and down along a cosine over the last `lrRampdownLength`; Gaussian
/// noise of `initialNoiseFactor` times the spread of w, fading out quadratically over `noiseRampLength`, is added to w
/// at every step; a penalty on the noise maps' autocorrelation at every scale (weight `regularizeNoiseWeight`) keeps
/// them noise, and they are renormalized after every step.
///
/// NVlabs' image distance is LPIPS on VGG16 features, a network it downloads. This projector needs nothing from outside
/// the model: `pixel` is the mean squared error (images in [-1, 1]) at every scale of an average-pooling pyramid down
/// to 8x8; `discriminator` adds, for every block of the model's own D, the mean squared difference of its features
/// unit-normalized over channels at each pixel (LPIPS' normalization, without LPIPS' learned weights).
///
/// The noise maps start as the model's constant noise (`initialNoise` `.model`), where NVlabs draws fresh Gaussian
/// noise (`.random`): both are standard Gaussian noise, so a photo's projection is no better or worse for it, but the
/// model's own images (made with that noise) are then found back, where fresh noise maps cannot be brought to the
/// model's under the autocorrelation penalty (on a briefly trained 32x32 model, W+: about 35 dB against 25 dB PSNR).
///
/// The projector works on its own copy of G_ema (and D), so the model stays usable meanwhile; `space` `.w` optimizes
/// one w shared by every layer (NVlabs), `.wPlus` one w per layer.
public final class Projector {
    /// Where the optimized latent lives: one w for every layer, or one per layer (W+).
    public enum Space: Int, Sendable { case w = 0, wPlus = 1 }
    /// The image distance (see the type's documentation).
    public enum Distance: Int, Sendable { case pixel = 0, discriminator = 1 }
    /// Where the noise maps start: fresh Gaussian noise (NVlabs), or the model's own constant noise (the default; see
    /// the type's documentation).
    public enum InitialNoise: Int, Sendable { case random = 0, model = 1 }

    /// NVlabs projector.py's hyperparameters, with its defaults, and the space, distance, initial noise and seed.
    public struct Options: Sendable {
        public var space = Space.w
        public var distance = Distance.pixel
        public var initialNoise = InitialNoise.model
        public var numSteps = 1000
        public var wAvgSamples = 10_000
        public var initialLearningRate: Float = 0.1
        public var initialNoiseFactor: Float = 0.05
        public var lrRampdownLength: Float = 0.25
        public var lrRampupLength: Float = 0.05
        public var noiseRampLength: Float = 0.75
        public var regularizeNoiseWeight: Float = 1e5
        /// Seeds the w samples, the initial noise maps and the noise added to w (projector.py's --seed default).
        public var seed: UInt64 = 303

        public init() {}

        func validate() throws {
            try require(
                numSteps >= 1 && numSteps <= 10_000_000, "num_steps: expected 1 to 10000000 steps, got \(numSteps)")
            try require(
                wAvgSamples >= 1 && wAvgSamples <= 10_000_000,
                "w_avg_samples: expected 1 to 10000000 samples, got \(wAvgSamples)")
            for (name, value) in [
                ("initial_learning_rate", initialLearningRate), ("initial_noise_factor", initialNoiseFactor),
                ("regularize_noise_weight", regularizeNoiseWeight),
            ] {
                try require(value.isFinite && value >= 0, "\(name): expected a finite number >= 0, got \(value)")
            }
            for (name, value) in [
                ("lr_rampdown_length", lrRampdownLength), ("lr_rampup_length", lrRampupLength),
                ("noise_ramp_length", noiseRampLength),
            ] {
                try require(value.isFinite && value > 0, "\(name): expected a fraction of the steps > 0, got \(value)")
            }
        }
    }

    public let options: Options
    /// The latent being optimized: [1, 1, wDim] in W, [1, numWs, wDim] in W+.
    let wOpt: Tensor
    /// The noise maps being optimized, under their names in the synthesis network ("b8.conv0.noise_const").
    public let noiseMaps: [(String, Tensor)]
    /// Mean and spread of w over the samples: where the optimization starts, and the scale of the noise added to w.
    public let wAverage: Tensor, wStd: Float
    /// Steps taken.
    public private(set) var stepsTaken = 0
    let generator: StyleGAN.Generator
    let discriminator: StyleGAN2Discriminator?
    let optimizer: Adam
    let targetPyramid: [Tensor], targetFeatures: [Tensor]
    var rng: RandomGenerator
    let numWs: Int

    /// A projection of `target` [1, C, R, R] (values in [-1, 1]) into `model`'s latent space; a conditional model
    /// needs `labels` [1, cDim], the class whose ws are sampled for w's statistics.
    public init(_ model: StyleGAN, target: Tensor, labels: Tensor?, options: Options) throws {
        let c = model.config
        try options.validate()
        try require(c.version == 2, "projection: the model must be a StyleGAN2 (version 2), not version \(c.version)")
        try require(
            target.shape == [1, c.channels, c.resolution, c.resolution],
            "target: expected one image [1, \(c.channels), \(c.resolution), \(c.resolution)], "
                + "got \(Shape.describe(target.shape))")
        try require(target.values.allSatisfy(\.isFinite), "target: expected finite values")
        if c.cDim > 0 {
            try require(
                labels?.shape == [1, c.cDim],
                "c: this model is conditional: expected labels [1, \(c.cDim)], got "
                    + (labels.map { Shape.describe($0.shape) } ?? "none"))
        } else {
            try require(labels == nil, "c: this model is unconditional (c_dim 0) and takes no labels")
        }
        self.options = options
        var rng = RandomGenerator(seed: options.seed)
        let g = try Projector.copy(model.generatorEMA) { try StyleGAN.Generator(c, rng: &$0) }
        var d: StyleGAN2Discriminator? = nil
        if options.distance == .discriminator {
            guard let source = model.discriminator as? StyleGAN2Discriminator else {
                throw SwiftGANError.invalidArgument(
                    "distance: 'discriminator' needs the model's D (a model built or loaded for training); "
                        + "use 'pixel'")
            }
            d = try Projector.copy(source) {
                try StyleGAN2Discriminator(
                    resolution: c.resolution, channels: c.channels(at:), options: source.options, rng: &$0)
            }
        }
        let numWs = g.synthesis.numWs
        let (average, std) = try Projector.wStatistics(g.mapping, labels, samples: options.wAvgSamples, &rng)
        let start = try reshape(average, [1, 1, c.wDim])
        let w = options.space == .w ? try start.copy() : try broadcast(start, to: [1, numWs, c.wDim]).copy()
        try w.setRequiresGrad(true)
        let maps = g.synthesis.buffers.filter { $0.0.hasSuffix("noise_const") }
        for (_, map) in maps {
            if options.initialNoise == .random {
                let fresh = try rng.normal(map.shape)
                map.data.update(from: fresh.data, count: map.count)
            }
            try map.setRequiresGrad(true)
        }
        let reference = target.detached()
        (targetPyramid, targetFeatures) = try noGrad {
            (try Projector.pyramid(reference), try Projector.features(d, reference))
        }
        optimizer = try Adam([w] + maps.map(\.1), beta1: 0.9, beta2: 0.999)
        (generator, discriminator, self.numWs, wAverage, wStd, wOpt, noiseMaps) = (g, d, numWs, average, std, w, maps)
        self.rng = rng
    }

    /// A network like `source` (built by `make` from a throwaway generator) holding copies of its state, with no
    /// parameter taking gradients.
    static func copy<M: Module>(_ source: M, _ make: (inout RandomGenerator) throws -> M) throws -> M {
        var scratch = RandomGenerator(seed: 0)
        let copy = try make(&scratch)
        for ((_, to), (_, from)) in zip(copy.state, source.state) {
            to.data.update(from: from.data, count: from.count)
        }
        for (_, p) in copy.parameters { try p.setRequiresGrad(false) }
        return copy
    }

    /// Mean w [wDim] and spread (the root of the mean squared distance from the mean) of `samples` mapped latents.
    static func wStatistics(
        _ mapping: MappingNetwork, _ labels: Tensor?, samples: Int, _ rng: inout RandomGenerator
    ) throws -> (Tensor, Float) {
        let zDim = mapping.zDim
        var sum: [Double] = [], sumSquares = 0.0
        var done = 0
        while done < samples {
            let n = Swift.min(4096, samples - done)
            let z = try rng.normal([n, zDim])
            let c = try labels.map { try broadcast($0, to: [n, $0.shape[1]]) }
            let w = try noGrad { try mapping(z, c, training: false) }
            let d = w.shape[1]
            if sum.isEmpty { sum = Array(repeating: 0, count: d) }
            for i in 0..<n {
                for j in 0..<d {
                    let v = Double(w.data[i * d + j])
                    sum[j] += v
                    sumSquares += v * v
                }
            }
            done += n
        }
        let mean = sum.map { $0 / Double(samples) }
        let variance = Swift.max(0, sumSquares / Double(samples) - mean.reduce(0) { $0 + $1 * $1 })
        return (try Tensor(mean.map(Float.init), shape: [mean.count]), Float(variance.squareRoot()))
    }

    /// The image and its average-pooled halvings down to 8x8 (the pixel terms' scales).
    static func pyramid(_ x: Tensor) throws -> [Tensor] {
        var levels = [x]
        while let last = levels.last, last.shape[2] > 8 { levels.append(try avgPool2d(last, kernelSize: 2)) }
        return levels
    }

    /// D's block outputs for an image, unit-normalized over channels at every pixel; none without a D.
    static func features(_ d: StyleGAN2Discriminator?, _ x: Tensor) throws -> [Tensor] {
        guard let d else { return [] }
        var h: Tensor? = nil, image: Tensor? = x
        var out: [Tensor] = []
        for block in d.blocks {
            (h, image) = try block(h, image)
            let norms = try rsqrt(try affine(try sum(try square(h!), axes: [1], keepDim: true), scale: 1, shift: 1e-10))
            out.append(try mul(h!, norms))
        }
        return out
    }

    /// The distance of images to the target: MSE at every scale, plus the D feature terms.
    func distance(_ images: Tensor) throws -> Tensor {
        var total: Tensor? = nil
        for (level, target) in zip(try Projector.pyramid(images), targetPyramid) {
            let term = try mseLoss(level, target)
            total = try total.map { try add($0, term) } ?? term
        }
        for (f, target) in zip(try Projector.features(discriminator, images), targetFeatures) {
            let pixels = Float(f.shape[2] * f.shape[3])
            let term = try scale(try sum(try square(try sub(f, target))), 1 / pixels)
            total = try add(total!, term)
        }
        return total!
    }

    /// x rolled by one along `dim` (torch.roll(x, 1, dim)): element i moves to i + 1, the last one to 0.
    static func rolled(_ x: Tensor, dim: Int) throws -> Tensor {
        let n = x.shape[dim]
        return try cat(
            [try narrow(x, dim: dim, start: n - 1, length: 1), try narrow(x, dim: dim, start: 0, length: n - 1)],
            dim: dim)
    }

    /// NVlabs' noise regularization: the squared mean product of each noise map with itself shifted by one pixel,
    /// down and across, at every scale of its average-pooling pyramid down to 8x8, summed.
    static func noiseRegularization(_ maps: [Tensor]) throws -> Tensor {
        var total = try Tensor(zeros: [])
        for map in maps {
            var x = try reshape(map, [1, 1] + map.shape)
            while true {
                for dim in [3, 2] { total = try add(total, try square(try mean(try mul(x, try rolled(x, dim: dim))))) }
                if x.shape[2] <= 8 { break }
                x = try avgPool2d(x, kernelSize: 2)
            }
        }
        return total
    }

    /// The learning rate and the scale of the noise added to w at step `step`.
    func schedule(_ step: Int) -> (lr: Float, wNoise: Float) {
        let o = options
        let t = Float(step) / Float(o.numSteps)
        let wNoise = wStd * o.initialNoiseFactor * Glibc.powf(Swift.max(0, 1 - t / o.noiseRampLength), 2)
        var ramp = Swift.min(1, (1 - t) / o.lrRampdownLength)
        ramp = 0.5 - 0.5 * Glibc.cosf(ramp * Float.pi)
        ramp *= Swift.min(1, t / o.lrRampupLength)
        return (o.initialLearningRate * ramp, wNoise)
    }

    /// One step: images from the current w (plus its noise) and noise maps, the loss, its gradient, Adam's update and
    /// the renormalization of the noise maps. Returns the loss, the distance and the noise regularization. A step
    /// stopped by a `StepTransaction` before its updates changes nothing.
    public func step() throws -> (loss: Float, distance: Float, regularization: Float) {
        try require(
            stepsTaken < options.numSteps, "step: the projection has taken all its \(options.numSteps) steps")
        let (lr, wNoise) = schedule(stepsTaken)
        let saved = rng
        StepTransaction.remember { [unowned self] in self.rng = saved }
        return try GradMode.with(enabled: true) {
            let w = try add(wOpt, try rng.normal(wOpt.shape, std: wNoise))
            let images = try synthesize(options.space == .w ? try broadcast(w, to: [1, numWs, w.shape[2]]) : w)
            let dist = try distance(images)
            let reg = try Projector.noiseRegularization(noiseMaps.map(\.1))
            let loss = try add(dist, try scale(reg, options.regularizeNoiseWeight))
            optimizer.zeroGrad()
            try Autograd.backward(loss)
            StepTransaction.commit()
            try optimizer.updateParameters(lr: lr)
            for (_, map) in noiseMaps { Projector.normalize(map) }
            stepsTaken += 1
            return (loss.item, dist.item, reg.item)
        }
    }

    /// map -= mean(map); map *= rsqrt(mean(map^2)), in place.
    static func normalize(_ map: Tensor) {
        let n = map.count, p = map.data
        var mean = 0.0
        for i in 0..<n { mean += Double(p[i]) }
        mean /= Double(n)
        var squares = 0.0
        for i in 0..<n {
            p[i] -= Float(mean)
            squares += Double(p[i]) * Double(p[i])
        }
        let factor = Float(1 / (squares / Double(n)).squareRoot())
        for i in 0..<n { p[i] *= factor }
    }

    /// Images of ws through the copy of G_ema with the projector's noise maps.
    func synthesize(_ ws: Tensor) throws -> Tensor {
        var unused = RandomGenerator(seed: 0)
        return try generator.synthesis(ws, noise: .const, rng: &unused)
    }

    /// The current ws [1, numWs, wDim] (without the noise added during optimization).
    public var ws: Tensor {
        get throws { try broadcast(wOpt.detached(), to: [1, numWs, wOpt.shape[2]]).copy() }
    }

    /// The image [1, C, R, R] of the current ws and noise maps.
    public func image() throws -> Tensor { try noGrad { try synthesize(try ws) } }
}
