import Glibc
import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// An sg_model* is a retained Unmanaged<ModelBox>: the model plus its name lists as C strings.
final class ModelBox {
    let model: any GANModel
    let lossNames: UnsafeMutablePointer<CChar>
    let netNames: UnsafeMutablePointer<CChar>
    let stateNames: UnsafeMutablePointer<CChar>
    let counterNames: UnsafeMutablePointer<CChar>
    /// The state tensors by name (the same tensor objects for the model's lifetime), for lookups in constant time.
    let stateByName: [String: Tensor]

    init(_ model: any GANModel) {
        self.model = model
        stateByName = Dictionary(model.stateTensors, uniquingKeysWith: { first, _ in first })
        lossNames = strdup(model.lossNames.joined(separator: ","))!
        netNames = strdup(model.nets.map(\.0).joined(separator: ","))!
        stateNames = strdup(model.stateTensors.map(\.0).joined(separator: ","))!
        counterNames = strdup(model.counterNames.joined(separator: ","))!
    }

    deinit { for p in [lossNames, netNames, stateNames, counterNames] { free(p) } }

    static func from(_ p: OpaquePointer?) throws -> ModelBox {
        Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(try nonNull(p, "model"))).takeUnretainedValue()
    }
}

/// Builds a model of `kind` from numeric config attributes (see swiftgan.h).
func makeModel(kind: String, attrs: [String: Double], seed: UInt64) throws -> any GANModel {
    let call = OpCall(op: kind, inputs: [:], attrs: attrs)
    func allow(_ names: [String]) throws {
        for key in attrs.keys where !names.contains(key) {
            throw SwiftGANError.invalidArgument("\(kind): unknown config '\(key)' (expected \(names.joined(separator: ", ")))")
        }
    }
    switch kind {
    case "dcgan":
        try allow(["image_size", "channels", "nz", "ngf", "ndf", "lr_g", "lr_d", "beta1", "beta2"])
        var c = DCGAN.Config()
        c.imageSize = try call.int("image_size", c.imageSize)
        c.channels = try call.int("channels", c.channels)
        c.nz = try call.int("nz", c.nz)
        c.ngf = try call.int("ngf", c.ngf)
        c.ndf = try call.int("ndf", c.ndf)
        c.lrG = try call.float("lr_g", c.lrG)
        c.lrD = try call.float("lr_d", c.lrD)
        c.beta1 = try call.double("beta1", c.beta1)
        c.beta2 = try call.double("beta2", c.beta2)
        return try DCGAN(c, seed: seed)
    case "cyclegan":
        try allow(["image_size", "in_channels", "out_channels", "ngf", "ndf", "n_blocks", "n_layers_d", "lambda_A", "lambda_B",
                   "lambda_identity", "pool_size", "lr", "beta1", "beta2", "epoch_steps", "n_epochs", "n_epochs_decay"])
        var c = CycleGAN.Config()
        c.imageSize = try call.int("image_size", c.imageSize)
        c.inChannels = try call.int("in_channels", c.inChannels)
        c.outChannels = try call.int("out_channels", c.outChannels)
        c.ngf = try call.int("ngf", c.ngf)
        c.ndf = try call.int("ndf", c.ndf)
        c.blocks = try call.int("n_blocks", c.blocks)
        c.discriminatorLayers = try call.int("n_layers_d", c.discriminatorLayers)
        c.lambdaA = try call.float("lambda_A", c.lambdaA)
        c.lambdaB = try call.float("lambda_B", c.lambdaB)
        c.lambdaIdentity = try call.float("lambda_identity", c.lambdaIdentity)
        c.poolSize = try call.int("pool_size", c.poolSize)
        c.lr = try call.float("lr", c.lr)
        c.beta1 = try call.double("beta1", c.beta1)
        c.beta2 = try call.double("beta2", c.beta2)
        c.epochSteps = try call.int("epoch_steps", c.epochSteps)
        c.epochs = try call.int("n_epochs", c.epochs)
        c.decayEpochs = try call.int("n_epochs_decay", c.decayEpochs)
        return try CycleGAN(c, seed: seed)
    case "stylegan":
        try allow(["version", "resolution", "channels", "z_dim", "w_dim", "mapping_layers", "mapping_lr_multiplier", "channel_base",
                   "channel_max", "lr", "beta1", "beta2", "r1_gamma", "r1_interval", "pl_interval", "pl_weight", "pl_decay",
                   "pl_batch_shrink", "style_mixing", "ema_images", "ema_rampup", "mbstd_group", "ada", "ada_target", "ada_interval", "ada_kimg",
                   "augment_p", "phase_images", "initial_resolution"])
        let version = try call.int("version", 2)
        try require(version == 1 || version == 2, "version: expected 1 (StyleGAN) or 2 (StyleGAN2), got \(version)")
        var c = version == 1 ? StyleGAN.Config.version1() : StyleGAN.Config()
        c.resolution = try call.int("resolution", c.resolution)
        c.channels = try call.int("channels", c.channels)
        c.zDim = try call.int("z_dim", c.zDim)
        c.wDim = try call.int("w_dim", c.wDim)
        c.mappingLayers = try call.int("mapping_layers", c.mappingLayers)
        c.mappingLrMultiplier = try call.float("mapping_lr_multiplier", c.mappingLrMultiplier)
        c.channelBase = try call.int("channel_base", c.channelBase)
        c.channelMax = try call.int("channel_max", c.channelMax)
        c.lr = try call.float("lr", c.lr)
        c.beta1 = try call.double("beta1", c.beta1)
        c.beta2 = try call.double("beta2", c.beta2)
        if attrs["r1_gamma"] != nil { c.r1Gamma = try call.float("r1_gamma", 0) }
        c.r1Interval = try call.int("r1_interval", c.r1Interval)
        c.plInterval = try call.int("pl_interval", c.plInterval)
        c.plWeight = try call.float("pl_weight", c.plWeight)
        c.plDecay = try call.float("pl_decay", c.plDecay)
        c.plBatchShrink = try call.int("pl_batch_shrink", c.plBatchShrink)
        c.mixingProbability = try call.float("style_mixing", c.mixingProbability)
        c.emaImages = try call.float("ema_images", c.emaImages)
        c.emaRampup = try call.float("ema_rampup", c.emaRampup)
        c.mbstdGroup = try call.int("mbstd_group", c.mbstdGroup)
        c.ada = try call.bool("ada", c.ada)
        c.adaTarget = try call.float("ada_target", c.adaTarget)
        c.adaInterval = try call.int("ada_interval", c.adaInterval)
        c.adaSpeedImages = try call.float("ada_kimg", c.adaSpeedImages / 1000) * 1000
        c.augmentP = try call.float("augment_p", c.augmentP)
        c.phaseImages = try call.int("phase_images", c.phaseImages)
        c.initialResolution = try call.int("initial_resolution", c.initialResolution)
        return try StyleGAN(c, seed: seed)
    default:
        throw SwiftGANError.invalidArgument("kind: unknown model '\(kind)'; expected 'dcgan', 'cyclegan' or 'stylegan'")
    }
}

@_cdecl("sg_model_create")
public func sg_model_create(_ kind: UnsafePointer<CChar>?, _ nAttrs: Int32, _ attrNames: UnsafePointer<UnsafePointer<CChar>?>?,
                            _ attrValues: UnsafePointer<Double>?, _ seed: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let kind = try string(kind, "kind"), out = try nonNull(out, "out")
        var attrs = try readAttributes(nAttrs, attrNames, attrValues)
        // "max_state_floats" (from loading a checkpoint) caps what building the model may allocate.
        let model: any GANModel
        if let budget = attrs.removeValue(forKey: "max_state_floats") {
            try require(budget >= 0 && budget <= Double(Int.max / 2), "max_state_floats: expected a non-negative count")
            model = try AllocationBudget.with(Int(budget), "\(kind) model") { try makeModel(kind: kind, attrs: attrs, seed: seed) }
        } else {
            model = try makeModel(kind: kind, attrs: attrs, seed: seed)
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelBox(model)).toOpaque())
    }
}

@_cdecl("sg_model_release")
public func sg_model_release(_ m: OpaquePointer?) {
    guard let m else { return }
    Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(m)).release()
}

private func names(_ m: OpaquePointer?, _ pick: (ModelBox) -> UnsafeMutablePointer<CChar>) -> UnsafePointer<CChar>? {
    guard let box = try? ModelBox.from(m) else {
        LastError.set("model: expected a non-NULL pointer")
        return nil
    }
    return UnsafePointer(pick(box))
}

@_cdecl("sg_model_loss_names")
public func sg_model_loss_names(_ m: OpaquePointer?) -> UnsafePointer<CChar>? { names(m) { $0.lossNames } }

@_cdecl("sg_model_net_names")
public func sg_model_net_names(_ m: OpaquePointer?) -> UnsafePointer<CChar>? { names(m) { $0.netNames } }

@_cdecl("sg_model_state_names")
public func sg_model_state_names(_ m: OpaquePointer?) -> UnsafePointer<CChar>? { names(m) { $0.stateNames } }

@_cdecl("sg_model_counter_names")
public func sg_model_counter_names(_ m: OpaquePointer?) -> UnsafePointer<CChar>? { names(m) { $0.counterNames } }

/// One training step for the C ABI; with `shouldStop`, run as a `StepTransaction` (except under data parallelism,
/// where the ranks must take every step together).
private func trainStep(_ m: OpaquePointer?, _ nInputs: Int32, _ inputs: UnsafePointer<OpaquePointer?>?,
                       _ losses: UnsafeMutablePointer<Double>?, _ capacity: Int32, shouldStop: (() -> Bool)?) throws {
    let model = try ModelBox.from(m).model
    let batches = try readTensors(inputs, nInputs, "inputs").map { $0! }
    let losses = try nonNull(losses, "losses")
    try require(Int(capacity) >= model.lossNames.count, "losses: holds \(capacity) values, the model reports \(model.lossNames.count)")
    let values = if let shouldStop, model.dataParallel == nil {
        try StepTransaction.run(model, shouldCancel: shouldStop) { try model.distributedTrainStep(batches) }
    } else {
        try model.distributedTrainStep(batches)
    }
    for (i, v) in values.enumerated() { losses[i] = Double(v) }
}

@_cdecl("sg_model_train_step")
public func sg_model_train_step(_ m: OpaquePointer?, _ nInputs: Int32, _ inputs: UnsafePointer<OpaquePointer?>?,
                                _ losses: UnsafeMutablePointer<Double>?, _ capacity: Int32) -> Int32 {
    guarded { try trainStep(m, nInputs, inputs, losses, capacity, shouldStop: nil) }
}

@_cdecl("sg_model_train_step_interruptible")
public func sg_model_train_step_interruptible(_ m: OpaquePointer?, _ nInputs: Int32, _ inputs: UnsafePointer<OpaquePointer?>?,
                                              _ losses: UnsafeMutablePointer<Double>?, _ capacity: Int32,
                                              _ shouldStop: (@convention(c) (UnsafeMutableRawPointer?) -> Int32)?,
                                              _ context: UnsafeMutableRawPointer?) -> Int32 {
    nonisolated(unsafe) let context = context
    return guarded { try trainStep(m, nInputs, inputs, losses, capacity, shouldStop: shouldStop.map { f in { f(context) != 0 } }) }
}

@_cdecl("sg_model_forward")
public func sg_model_forward(_ m: OpaquePointer?, _ net: UnsafePointer<CChar>?, _ x: OpaquePointer?, _ training: Int32,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let model = try ModelBox.from(m).model, out = try nonNull(out, "out")
        Handle.store(try model.forward(net: try string(net, "net"), try Handle.tensor(x, "x"), training: training != 0), out)
    }
}

@_cdecl("sg_model_generate")
public func sg_model_generate(_ m: OpaquePointer?, _ n: Int32, _ seed: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let model = try ModelBox.from(m).model, out = try nonNull(out, "out")
        Handle.store(try model.generate(count: Int(n), seed: seed), out)
    }
}

@_cdecl("sg_model_state_tensor")
public func sg_model_state_tensor(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let box = try ModelBox.from(m), out = try nonNull(out, "out")
        let key = try string(name, "name")
        guard let t = box.stateByName[key] else {
            throw SwiftGANError.invalidArgument("name: the model has no state tensor '\(key)'")
        }
        Handle.store(t, out)
    }
}

@_cdecl("sg_model_get_counter")
public func sg_model_get_counter(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let model = try ModelBox.from(m).model, value = try nonNull(value, "value")
        value.pointee = try model.counter(try string(name, "name"))
    }
}

@_cdecl("sg_model_set_counter")
public func sg_model_set_counter(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: Int64) -> Int32 {
    guarded { try ModelBox.from(m).model.setCounter(try string(name, "name"), value) }
}

/// Model-specific methods: StyleGAN's mapping and synthesis.
func callMethod(_ model: any GANModel, _ method: String, inputs: [String: Tensor], attrs: [String: Double]) throws -> Tensor {
    let call = OpCall(op: method, inputs: inputs, attrs: attrs)
    func allow(_ inputNames: [String], _ attrNames: [String]) throws {
        for key in inputs.keys where !inputNames.contains(key) {
            throw SwiftGANError.invalidArgument("\(method): unknown input '\(key)' (expected \(inputNames.joined(separator: ", ")))")
        }
        for key in attrs.keys where !attrNames.contains(key) {
            throw SwiftGANError.invalidArgument("\(method): unknown argument '\(key)' (expected \(attrNames.joined(separator: ", ")))")
        }
    }
    switch (model, method) {
    case (let m as StyleGAN, "mapping"):
        try allow(["z"], ["truncation_psi", "truncation_cutoff", "ema"])
        let cutoff = attrs["truncation_cutoff"] != nil ? try call.int("truncation_cutoff") : nil
        try require(cutoff == nil || cutoff! >= 0, "truncation_cutoff: expected a non-negative layer count")
        return try m.mapping(try call.tensor("z"), psi: try call.float("truncation_psi", 1), cutoff: cutoff, ema: try call.bool("ema", true))
    case (let m as StyleGAN, "synthesis"):
        try allow(["ws"], ["noise_mode", "seed", "ema"])
        guard let noise = NoiseMode(rawValue: try call.int("noise_mode", 1)) else {
            throw SwiftGANError.invalidArgument("synthesis: argument 'noise_mode' must be 0 (random), 1 (const) or 2 (none)")
        }
        let seed = try call.double("seed", 0)
        try require(seed >= 0 && seed < 0x1p53 && seed == seed.rounded(), "synthesis: argument 'seed' must be a non-negative integer below 2^53")
        return try m.synthesis(try call.tensor("ws"), noise: noise, ema: try call.bool("ema", true), seed: UInt64(seed))
    default:
        throw SwiftGANError.invalidArgument("method: this model has no method '\(method)'")
    }
}

@_cdecl("sg_model_call")
public func sg_model_call(_ m: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ nInputs: Int32,
                          _ inputNames: UnsafePointer<UnsafePointer<CChar>?>?, _ inputs: UnsafePointer<OpaquePointer?>?,
                          _ nAttrs: Int32, _ attrNames: UnsafePointer<UnsafePointer<CChar>?>?, _ attrValues: UnsafePointer<Double>?,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let model = try ModelBox.from(m).model, out = try nonNull(out, "out")
        let name = try string(method, "method")
        let tensors = try readNamedTensors(nInputs, inputNames, inputs, allowNull: false)
        Handle.store(try callMethod(model, name, inputs: tensors, attrs: try readAttributes(nAttrs, attrNames, attrValues)), out)
    }
}
