import Glibc
import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// An sg_model* is a retained Unmanaged<ModelBox>: the model, its lock, and its name lists as C strings.
final class ModelBox {
    let model: any GANModel
    /// Held by every call on the model (see `CallLock`).
    let lock = CallLock(
        busy: "this model is in the middle of a training step on this thread (a signal handler "
            + "cannot use it until the step has finished or been stopped)")
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

    /// Runs `body` on the model behind `p`, holding it.
    static func with<T>(_ p: OpaquePointer?, _ body: (ModelBox) throws -> T) throws -> T {
        let box = try from(p)
        return try box.lock.hold { try body(box) }
    }
}

/// The schema of each kind as JSON text (static storage, made on first use).
nonisolated(unsafe) private let schemaTexts: [ModelKind: UnsafeMutablePointer<CChar>] = Dictionary(
    uniqueKeysWithValues: ModelKind.allCases.map { ($0, strdup($0.schema.text)!) })

@_cdecl("sg_model_config_schema")
public func sg_model_config_schema(
    _ kind: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?
)
    -> Int32
{
    guarded {
        let out = try nonNull(out, "out")
        out.pointee = UnsafePointer(schemaTexts[try ModelKind(named: try string(kind, "kind"))]!)
    }
}

@_cdecl("sg_model_create")
public func sg_model_create(
    _ kind: UnsafePointer<CChar>?, _ config: UnsafePointer<CChar>?, _ maxStateFloats: Int64,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let kind = try ModelKind(named: try string(kind, "kind")), out = try nonNull(out, "out")
        let json = try JSONValue.parse(try string(config, "config"), "config")
        // A cap from loading a checkpoint: building the model may allocate at most about what the file holds.
        let model: any GANModel
        if maxStateFloats >= 0 {
            model = try AllocationBudget.with(Int(maxStateFloats), "\(kind.rawValue) model") { try kind.make(json) }
        } else {
            model = try kind.make(json)
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
private func trainStep(
    _ m: OpaquePointer?, _ nInputs: Int32, _ inputs: UnsafePointer<OpaquePointer?>?,
    _ losses: UnsafeMutablePointer<Double>?, _ capacity: Int32, shouldStop: (() -> Bool)?
) throws {
    let batches = try readTensors(inputs, nInputs, "inputs").map { $0! }
    let losses = try nonNull(losses, "losses")
    try ModelBox.with(m) { box in
        let model = box.model
        try require(
            Int(capacity) >= model.lossNames.count,
            "losses: holds \(capacity) values, the model reports \(model.lossNames.count)")
        let values =
            if let shouldStop, model.dataParallel == nil {
                try StepTransaction.run(model, shouldCancel: shouldStop) { try model.distributedTrainStep(batches) }
            } else {
                try model.distributedTrainStep(batches)
            }
        for (i, v) in values.enumerated() { losses[i] = Double(v) }
    }
}

@_cdecl("sg_model_train_step")
public func sg_model_train_step(
    _ m: OpaquePointer?, _ nInputs: Int32, _ inputs: UnsafePointer<OpaquePointer?>?,
    _ losses: UnsafeMutablePointer<Double>?, _ capacity: Int32
) -> Int32 {
    guarded { try trainStep(m, nInputs, inputs, losses, capacity, shouldStop: nil) }
}

@_cdecl("sg_model_train_step_interruptible")
public func sg_model_train_step_interruptible(
    _ m: OpaquePointer?, _ nInputs: Int32, _ inputs: UnsafePointer<OpaquePointer?>?,
    _ losses: UnsafeMutablePointer<Double>?, _ capacity: Int32,
    _ shouldStop: (@convention(c) (UnsafeMutableRawPointer?) -> Int32)?,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    nonisolated(unsafe) let context = context
    return guarded {
        try trainStep(m, nInputs, inputs, losses, capacity, shouldStop: shouldStop.map { f in { f(context) != 0 } })
    }
}

@_cdecl("sg_model_forward")
public func sg_model_forward(
    _ m: OpaquePointer?, _ net: UnsafePointer<CChar>?, _ x: OpaquePointer?, _ training: Int32,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let out = try nonNull(out, "out")
        try ModelBox.with(m) { box in
            Handle.store(
                try box.model.forward(
                    net: try string(net, "net"), try Handle.tensor(x, "x"),
                    training: training != 0), out)
        }
    }
}

@_cdecl("sg_model_generate")
public func sg_model_generate(
    _ m: OpaquePointer?, _ n: Int32, _ seed: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let out = try nonNull(out, "out")
        try ModelBox.with(m) { box in Handle.store(try box.model.generate(count: Int(n), seed: seed), out) }
    }
}

@_cdecl("sg_model_state_tensor")
public func sg_model_state_tensor(
    _ m: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let box = try ModelBox.from(m), out = try nonNull(out, "out")
        let key = try string(name, "name")
        guard let t = box.stateByName[key] else {
            throw SwiftGANError.invalidArgument("name: the model has no state tensor '\(key)'")
        }
        out.pointee = Handle.make(t, owner: box)
    }
}

@_cdecl("sg_model_get_counter")
public func sg_model_get_counter(
    _ m: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: UnsafeMutablePointer<Int64>?
) -> Int32 {
    guarded {
        let value = try nonNull(value, "value"), name = try string(name, "name")
        try ModelBox.with(m) { box in value.pointee = try box.model.counter(name) }
    }
}

@_cdecl("sg_model_set_counter")
public func sg_model_set_counter(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: Int64) -> Int32 {
    guarded {
        let name = try string(name, "name")
        try ModelBox.with(m) { box in try box.model.setCounter(name, value) }
    }
}

/// Model-specific methods: StyleGAN's mapping and synthesis.
func callMethod(
    _ model: any GANModel, _ method: String, inputs: [String: Tensor], attrs: [String: Double]
) throws -> Tensor {
    let call = OpCall(op: method, inputs: inputs, attrs: attrs)
    func allow(_ inputNames: [String], _ attrNames: [String]) throws {
        for key in inputs.keys where !inputNames.contains(key) {
            throw SwiftGANError.invalidArgument(
                "\(method): unknown input '\(key)' (expected \(inputNames.joined(separator: ", ")))")
        }
        for key in attrs.keys where !attrNames.contains(key) {
            throw SwiftGANError.invalidArgument(
                "\(method): unknown argument '\(key)' (expected \(attrNames.joined(separator: ", ")))")
        }
    }
    switch (model, method) {
    case (let m as StyleGAN, "mapping"):
        try allow(["z", "c"], ["truncation_psi", "truncation_cutoff", "ema"])
        let cutoff = attrs["truncation_cutoff"] != nil ? try call.int("truncation_cutoff") : nil
        try require(cutoff == nil || cutoff! >= 0, "truncation_cutoff: expected a non-negative layer count")
        return try m.mapping(
            try call.tensor("z"), labels: call.optional("c"), psi: try call.float("truncation_psi", 1), cutoff: cutoff,
            ema: try call.bool("ema", true))
    case (let m as StyleGAN, "synthesis"):
        try allow(["ws"], ["noise_mode", "seed", "ema"])
        guard let noise = NoiseMode(rawValue: try call.int("noise_mode", 1)) else {
            throw SwiftGANError.invalidArgument(
                "synthesis: argument 'noise_mode' must be 0 (random), 1 (const) or 2 (none)")
        }
        let seed = try call.double("seed", 0)
        try require(
            seed >= 0 && seed < 0x1p53 && seed == seed.rounded(),
            "synthesis: argument 'seed' must be a non-negative integer below 2^53")
        return try m.synthesis(try call.tensor("ws"), noise: noise, ema: try call.bool("ema", true), seed: UInt64(seed))
    case (let m as StyleGAN, "discriminate"):
        try allow(["images", "c"], [])
        return try m.discriminate(try call.tensor("images"), labels: call.optional("c"))
    case (let m as CycleGAN, "translate"):
        try allow(["x"], ["direction", "tile"])
        let direction = try call.int("direction", 0)
        try require(direction == 0 || direction == 1, "translate: argument 'direction' must be 0 (AtoB) or 1 (BtoA)")
        return try m.translate(net: direction == 0 ? "G_A" : "G_B", try call.tensor("x"), tile: try call.int("tile"))
    default:
        throw SwiftGANError.invalidArgument("method: this model has no method '\(method)'")
    }
}

@_cdecl("sg_model_call")
public func sg_model_call(
    _ m: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ nInputs: Int32,
    _ inputNames: UnsafePointer<UnsafePointer<CChar>?>?, _ inputs: UnsafePointer<OpaquePointer?>?,
    _ nAttrs: Int32, _ attrNames: UnsafePointer<UnsafePointer<CChar>?>?, _ attrValues: UnsafePointer<Double>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let out = try nonNull(out, "out"), name = try string(method, "method")
        let tensors = try readNamedTensors(nInputs, inputNames, inputs, allowNull: false)
        let attrs = try readAttributes(nAttrs, attrNames, attrValues)
        try ModelBox.with(m) { box in Handle.store(try callMethod(box.model, name, inputs: tensors, attrs: attrs), out)
        }
    }
}
