import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// CycleGAN (Zhu, Park, Isola & Efros 2017) as in junyanz/pytorch-CycleGAN-and-pix2pix: unpaired translation between
/// domains A and B with generators G_A (A to B) and G_B (B to A), PatchGAN discriminators D_A (judges B) and D_B
/// (judges A), least-squares adversarial loss, cycle-consistency and identity losses, image pools, and the
/// reference's learning-rate schedule (constant for n_epochs, then linear decay to zero over n_epochs_decay).
public final class CycleGAN: GANModel {
    /// Hyperparameters; the defaults are the reference's.
    public struct Config: ModelConfig {
        @Param("side length of the training images (the reference's crop size)", .multiple(of: 4, from: 8, to: 4096))
        public var imageSize = 256
        @Param("channels of domain A images", .range(1, 64)) public var inChannels = 3
        @Param("channels of domain B images", .range(1, 64)) public var outChannels = 3
        @Param("generator width (channels after the first conv)", .range(1, 1024)) public var ngf = 64
        @Param("discriminator width (channels of the first conv)", .range(1, 1024)) public var ndf = 64
        @Param("residual blocks per generator (9: the reference's resnet_9blocks; 6: resnet_6blocks)", .range(0, 64))
        public var nBlocks = 9
        @Param("stride-2 convs of the PatchGAN discriminators", .range(1, 8)) public var nLayersD = 3
        @Param("weight of the A -> B -> A cycle loss", .atLeast(0), name: "lambda_A") public var lambdaA: Float = 10
        @Param("weight of the B -> A -> B cycle loss", .atLeast(0), name: "lambda_B") public var lambdaB: Float = 10
        @Param(
            "weight of the identity losses, relative to lambda_A and lambda_B (0 turns them off; they need "
                + "in_channels == out_channels)", .atLeast(0))
        public var lambdaIdentity: Float = 0.5
        @Param("generated images kept per discriminator (0: no pool)", .range(0, 10_000)) public var poolSize = 50
        @Param("Adam learning rate of the generators and of the discriminators", .atLeast(0)) public var lr: Float =
            2e-4
        @Param("Adam's (beta1, beta2)", .halfOpen(0, 1)) public var betas = Pair(0.5, 0.999)
        @Param("epochs at the initial learning rate", .atLeast(0)) public var nEpochs = 100
        @Param("epochs of linear decay to zero after them", .atLeast(0)) public var nEpochsDecay = 100
        @Param(
            "training steps per epoch; None (the reference) sets it when fit starts to max(len(A), len(B)) // "
                + "batch_size", .range(1, 0x1p40))
        public var epochSteps: Int? = nil

        public init() {}
        public static let modelName = "CycleGAN"

        public func validate() throws {
            try require(
                imageSize >> nLayersD >= 3,
                "image_size: \(imageSize) is too small for a \(nLayersD)-layer PatchGAN (at least \(3 << nLayersD))")
            try require(
                lambdaIdentity == 0 || inChannels == outChannels,
                "lambda_identity: the identity loss needs in_channels == out_channels")
        }
    }

    public let config: Config
    /// Training steps per epoch of the schedule: `config.epochSteps`, or set once the data is known (the counter
    /// "epoch_steps"; 1000 until then).
    public private(set) var epochSteps: Int
    public let generatorA: Sequential, generatorB: Sequential, discriminatorA: Sequential, discriminatorB: Sequential
    let optimizerG: Adam, optimizerD: Adam
    let poolA: ImagePool, poolB: ImagePool
    public var step = 0
    public var rng: RandomGenerator
    public var dataParallel: DataParallel?
    /// The derived forms of the generators' weights, kept from one translation to the next until a write that could
    /// change a weight (an update, a loaded state: `WeightEpoch`).
    let translationWeights: WeightCache
    public let lossNames = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]

    public var nets: [(String, any Module)] {
        [
            ("G_A", Named("model", generatorA)), ("G_B", Named("model", generatorB)),
            ("D_A", Named("model", discriminatorA)), ("D_B", Named("model", discriminatorB)),
        ]
    }
    public var optimizers: [NamedOptimizer] {
        [
            NamedOptimizer("G", optimizerG, parameterNames: (try? parameters(of: ["G_A", "G_B"]))?.map(\.0) ?? []),
            NamedOptimizer("D", optimizerD, parameterNames: (try? parameters(of: ["D_A", "D_B"]))?.map(\.0) ?? []),
        ]
    }
    public var extraState: [(String, Tensor)] { [("pool_A", poolA.images), ("pool_B", poolB.images)] }
    public var extraCounters: [(String, Int64)] {
        [
            ("pool_A.count", Int64(poolA.count)), ("pool_B.count", Int64(poolB.count)),
            ("epoch_steps", Int64(epochSteps)),
        ]
    }

    public func setExtraCounter(_ name: String, _ value: Int64) throws {
        if name == "epoch_steps" {
            try require(value >= 1 && value <= 1 << 40, "epoch_steps: expected a positive step count, got \(value)")
            epochSteps = Int(value)
            return
        }
        let pool = name == "pool_A.count" ? poolA : poolB
        try require(
            value >= 0 && value <= Int64(pool.capacity), "\(name): expected 0 to \(pool.capacity), got \(value)")
        pool.count = Int(value)
    }

    /// Builds the four networks with the reference's N(0, 0.02) initialization from the model's RNG.
    public init(_ config: Config, seed: UInt64) throws {
        try config.validate()
        self.config = config
        epochSteps = config.epochSteps ?? 1000
        var rng = RandomGenerator(seed: seed)
        let c = config
        generatorA = try resnetGenerator(
            inChannels: c.inChannels, outChannels: c.outChannels, ngf: c.ngf, blocks: c.nBlocks, rng: &rng)
        generatorB = try resnetGenerator(
            inChannels: c.outChannels, outChannels: c.inChannels, ngf: c.ngf, blocks: c.nBlocks, rng: &rng)
        discriminatorA = try patchDiscriminator(inChannels: c.outChannels, ndf: c.ndf, layers: c.nLayersD, rng: &rng)
        discriminatorB = try patchDiscriminator(inChannels: c.inChannels, ndf: c.ndf, layers: c.nLayersD, rng: &rng)
        optimizerG = try Adam(
            (generatorA.parameters + generatorB.parameters).map(\.1), beta1: c.betas.first, beta2: c.betas.second)
        optimizerD = try Adam(
            (discriminatorA.parameters + discriminatorB.parameters).map(\.1), beta1: c.betas.first,
            beta2: c.betas.second)
        // Pools hold generated images: fake B (for D_A) and fake A (for D_B).
        poolA = try ImagePool(capacity: c.poolSize, imageShape: [c.outChannels, c.imageSize, c.imageSize])
        poolB = try ImagePool(capacity: c.poolSize, imageShape: [c.inChannels, c.imageSize, c.imageSize])
        self.rng = rng
        translationWeights = WeightCache(constant: (generatorA.parameters + generatorB.parameters).map(\.1))
    }

    /// The learning rate at the current step: constant for `nEpochs`, then linear decay to zero (the reference's
    /// 'linear' policy with epoch_count 1, stepped once per epoch).
    public var learningRate: Float {
        let epoch = step / epochSteps
        let factor = 1 - Float(Swift.max(0, epoch + 1 - config.nEpochs)) / Float(config.nEpochsDecay + 1)
        return config.lr * Swift.max(0, factor)
    }

    /// Mean squared distance to a constant label: the LSGAN loss.
    private func lsgan(_ prediction: Tensor, _ target: Float) throws -> Tensor {
        try mean(try square(try affine(prediction, scale: 1, shift: -target)))
    }

    /// The reference's discriminator loss, (lsgan(D(real), 1) + lsgan(D(fake), 0)) / 2, with both passes as one batch:
    /// the discriminator's layers work sample by sample (instance norm), so the result is the same up to float
    /// rounding, and the narrow layers near the patch outputs get twice the columns.
    private func discriminatorLoss(_ discriminator: Sequential, real: Tensor, fake: Tensor) throws -> Tensor {
        let n = real.shape[0], predictions = try discriminator(try cat([real, fake]), training: true)
        return try scale(
            try add(
                try lsgan(try narrow(predictions, dim: 0, start: 0, length: n), 1),
                try lsgan(try narrow(predictions, dim: 0, start: n, length: fake.shape[0]), 0)), 0.5)
    }

    private func checkBatch(_ x: Tensor, channels: Int, _ argument: String) throws {
        let s = config.imageSize
        try require(
            x.shape == [x.shape.first ?? 0, channels, s, s] && x.shape[0] >= 1,
            "\(argument): expected images [N, \(channels), \(s), \(s)], got \(Shape.describe(x.shape))")
    }

    /// One iteration of the reference's optimize_parameters: the generators' step (D frozen), then both
    /// discriminators' step on real images and pooled fakes. The generators' update is applied after the
    /// discriminators' gradients, which do not depend on it (the fakes are computed before it): the same result,
    /// and a step cancelled part-way has updated nothing.
    public func trainStep(_ batches: [Tensor]) throws -> [Float] {
        try require(
            batches.count == 2,
            "batches: CycleGAN trains on a batch from A and a batch from B, got \(batches.count) batches")
        let (realA, realB) = (batches[0].detached(), batches[1].detached())
        try checkBatch(realA, channels: config.inChannels, "batch A")
        try checkBatch(realB, channels: config.outChannels, "batch B")
        let c = config, lr = learningRate
        translationWeights.clear()

        // Until the updates no weight changes, so each Winograd weight transform is computed once.
        let (lossDA, lossDB, losses) = try WeightCache.with(
            constant: optimizerG.parameters + optimizerD.parameters
        ) {
            () throws -> (Tensor, Tensor, [Tensor]) in
            optimizerG.zeroGrad()
            let (fakeA, fakeB, losses) = try frozen(optimizerD.parameters) { () throws -> (Tensor, Tensor, [Tensor]) in
                // The reference's six generator passes (fake, reconstruction and identity of each domain) in three:
                // every layer of a generator works sample by sample (instance norm), so passes of one generator
                // whose inputs are known run as one batch, with the same results and gradients up to float rounding
                // and wider products (a 32x32 residual conv at batch 1 is narrow for a GEMM).
                let identity = c.lambdaIdentity > 0, (nA, nB) = (realA.shape[0], realB.shape[0])
                let fromA = try generatorA(identity ? try cat([realA, realB]) : realA, training: true)
                let fakeB = try narrow(fromA, dim: 0, start: 0, length: nA)
                let fromB = try generatorB(try cat(identity ? [realB, realA, fakeB] : [realB, fakeB]), training: true)
                let fakeA = try narrow(fromB, dim: 0, start: 0, length: nB)
                let recA = try narrow(fromB, dim: 0, start: fromB.shape[0] - nA, length: nA)
                let recB = try generatorA(fakeA, training: true)
                var idtA = Tensor(scalar: 0), idtB = Tensor(scalar: 0)
                if identity {
                    let sameA = try narrow(fromA, dim: 0, start: nA, length: nB)
                    let sameB = try narrow(fromB, dim: 0, start: nB, length: nA)
                    idtA = try scale(try l1Loss(sameA, realB), c.lambdaB * c.lambdaIdentity)
                    idtB = try scale(try l1Loss(sameB, realA), c.lambdaA * c.lambdaIdentity)
                }
                let ganA = try lsgan(try discriminatorA(fakeB, training: true), 1)
                let ganB = try lsgan(try discriminatorB(fakeA, training: true), 1)
                let cycleA = try scale(try l1Loss(recA, realA), c.lambdaA),
                    cycleB = try scale(try l1Loss(recB, realB), c.lambdaB)
                try Autograd.backward(
                    try add(try add(try add(ganA, ganB), try add(cycleA, cycleB)), try add(idtA, idtB)))
                return (fakeA, fakeB, [ganA, cycleA, idtA, ganB, cycleB, idtB])
            }

            optimizerD.zeroGrad()
            let pooledB = try poolA.query(fakeB, rng: &rng), pooledA = try poolB.query(fakeA, rng: &rng)
            let lossDA = try discriminatorLoss(discriminatorA, real: realB, fake: pooledB)
            try Autograd.backward(lossDA)
            let lossDB = try discriminatorLoss(discriminatorB, real: realA, fake: pooledA)
            try Autograd.backward(lossDB)
            return (lossDA, lossDB, losses)
        }
        StepTransaction.commit()  // the rest is both updates
        try optimizerG.update(lr: lr)
        try optimizerD.update(lr: lr)
        step += 1
        let g = losses.map(\.item)
        return [lossDA.item, g[0], g[1], g[2], lossDB.item, g[3], g[4], g[5]]
    }

    public func forward(net name: String, _ x: Tensor, training: Bool) throws -> Tensor {
        guard let layer = try net(name) as? any Layer else {
            throw SwiftGANError.invalidArgument("net: '\(name)' has no one-tensor forward pass")
        }
        let channels = name == "G_A" || name == "D_B" ? config.inChannels : config.outChannels
        try require(
            x.rank == 4 && x.shape[1] == channels && x.shape[0] >= 1,
            "x: \(name) expects images [N, \(channels), H, W], got \(Shape.describe(x.shape))")
        if name.hasPrefix("G") {
            try require(
                x.shape[2] % 4 == 0 && x.shape[3] % 4 == 0 && x.shape[2] >= 8 && x.shape[3] >= 8,
                "x: \(name) needs a height and width that are multiples of 4 and at least 8, "
                    + "got \(x.shape[2])x\(x.shape[3])"
            )
        } else {
            let n = config.nLayersD
            try require(
                x.shape[2] >> n >= 3 && x.shape[3] >> n >= 3,
                "x: \(name) needs images of at least \(3 << n) pixels a side, got \(x.shape[2])x\(x.shape[3])")
        }
        return try noGrad {
            name.hasPrefix("G")
                ? try translationWeights.with { try layer(x, training: training) } : try layer(x, training: training)
        }
    }

    /// Generator `net` ("G_A" or "G_B") on images [N, C, H, W] (sides multiples of 4, at least 8) of any size: in
    /// overlapping `tile` x `tile` tiles where a side is longer (`TiledTranslation`), equal to `forward` up to float
    /// rounding.
    public func translate(net name: String, _ x: Tensor, tile: Int) throws -> Tensor {
        try require(
            name == "G_A" || name == "G_B", "translate: net must be G_A or G_B, got '\(name)'")
        try require(
            tile >= 16 && tile % TiledTranslation.alignment == 0,
            "translate: tile must be a multiple of \(TiledTranslation.alignment) and at least 16, got \(tile)")
        guard x.rank == 4, x.shape[2] > tile || x.shape[3] > tile else {
            return try forward(net: name, x, training: false)
        }
        try require(
            x.shape[1] == (name == "G_A" ? config.inChannels : config.outChannels) && x.shape[2] % 4 == 0
                && x.shape[3] % 4 == 0,
            "x: \(name) expects images [N, C, H, W] with the net's channels and sides that are multiples of 4, got "
                + Shape.describe(x.shape))
        let generator = name == "G_A" ? generatorA : generatorB
        return try noGrad {
            try translationWeights.with {
                try BufferCache.bounded { try TiledTranslation(generator: generator, tile: tile)(x) }
            }
        }
    }

    public func generate(count: Int, seed: UInt64) throws -> Tensor {
        throw SwiftGANError.invalidArgument(
            "CycleGAN translates images rather than sampling them: use translate (G_A or G_B)")
    }
}
