import Glibc
import SwiftGANCore
import SwiftGANModels

/// An sg_projector* is a retained Unmanaged<ProjectorBox>: a StyleGAN2 projection, its lock and its tensor names.
final class ProjectorBox {
    let projector: Projector
    /// Held by every call on the projection, as `ModelBox.lock` is by calls on a model.
    let lock = CallLock(busy: "this projection is in the middle of a step on this thread")
    /// "ws,image,noise.<name>,..." (the noise maps under their names in the synthesis network).
    let tensorNames: UnsafeMutablePointer<CChar>

    init(_ projector: Projector) {
        self.projector = projector
        tensorNames = strdup((["ws", "image"] + projector.noiseMaps.map { "noise.\($0.0)" }).joined(separator: ","))!
    }

    deinit { free(tensorNames) }

    static func from(_ p: OpaquePointer?) throws -> ProjectorBox {
        Unmanaged<ProjectorBox>.fromOpaque(UnsafeRawPointer(try nonNull(p, "projector"))).takeUnretainedValue()
    }

    /// Runs `body` on the projection behind `p`, holding it.
    static func with<T>(_ p: OpaquePointer?, _ body: (Projector) throws -> T) throws -> T {
        let box = try from(p)
        return try box.lock.hold { try body(box.projector) }
    }
}

/// The projection options from C attributes (see swiftgan.h), every name checked.
func projectorOptions(_ attrs: [String: Double]) throws -> Projector.Options {
    let call = OpCall(op: "projector", inputs: [:], attrs: attrs)
    let known = [
        "space", "distance", "initial_noise", "num_steps", "w_avg_samples", "initial_learning_rate",
        "initial_noise_factor",
        "lr_rampdown_length", "lr_rampup_length", "noise_ramp_length", "regularize_noise_weight", "seed",
    ]
    for key in attrs.keys where !known.contains(key) {
        throw SwiftGANError.invalidArgument(
            "projector: unknown argument '\(key)' (expected \(known.joined(separator: ", ")))")
    }
    var o = Projector.Options()
    guard let space = Projector.Space(rawValue: try call.int("space", o.space.rawValue)) else {
        throw SwiftGANError.invalidArgument("projector: argument 'space' must be 0 (w) or 1 (w+)")
    }
    guard let distance = Projector.Distance(rawValue: try call.int("distance", o.distance.rawValue)) else {
        throw SwiftGANError.invalidArgument("projector: argument 'distance' must be 0 (pixel) or 1 (discriminator)")
    }
    guard let noise = Projector.InitialNoise(rawValue: try call.int("initial_noise", o.initialNoise.rawValue)) else {
        throw SwiftGANError.invalidArgument("projector: argument 'initial_noise' must be 0 (random) or 1 (model)")
    }
    let seed = try call.double("seed", Double(o.seed))
    try require(
        seed >= 0 && seed < 0x1p53 && seed == seed.rounded(),
        "projector: argument 'seed' must be a non-negative integer below 2^53")
    (o.space, o.distance, o.initialNoise, o.seed) = (space, distance, noise, UInt64(seed))
    o.numSteps = try call.int("num_steps", o.numSteps)
    o.wAvgSamples = try call.int("w_avg_samples", o.wAvgSamples)
    o.initialLearningRate = try call.float("initial_learning_rate", o.initialLearningRate)
    o.initialNoiseFactor = try call.float("initial_noise_factor", o.initialNoiseFactor)
    o.lrRampdownLength = try call.float("lr_rampdown_length", o.lrRampdownLength)
    o.lrRampupLength = try call.float("lr_rampup_length", o.lrRampupLength)
    o.noiseRampLength = try call.float("noise_ramp_length", o.noiseRampLength)
    o.regularizeNoiseWeight = try call.float("regularize_noise_weight", o.regularizeNoiseWeight)
    return o
}

@_cdecl("sg_projector_create")
public func sg_projector_create(
    _ m: OpaquePointer?, _ target: OpaquePointer?, _ c: OpaquePointer?, _ nAttrs: Int32,
    _ attrNames: UnsafePointer<UnsafePointer<CChar>?>?, _ attrValues: UnsafePointer<Double>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let out = try nonNull(out, "out")
        let options = try projectorOptions(try readAttributes(nAttrs, attrNames, attrValues))
        let target = try Handle.withTensor(target, "target") { try $0.copy() }
        let labels = try c.map { try Handle.withTensor($0, "c") { try $0.copy() } }
        let projector = try ModelBox.with(m) { box in
            guard let model = box.model as? StyleGAN else {
                throw SwiftGANError.invalidArgument("model: projection needs a StyleGAN")
            }
            return try Projector(model, target: target, labels: labels, options: options)
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(ProjectorBox(projector)).toOpaque())
    }
}

@_cdecl("sg_projector_release")
public func sg_projector_release(_ p: OpaquePointer?) {
    guard let p else { return }
    Unmanaged<ProjectorBox>.fromOpaque(UnsafeRawPointer(p)).release()
}

@_cdecl("sg_projector_step")
public func sg_projector_step(
    _ p: OpaquePointer?, _ losses: UnsafeMutablePointer<Double>?,
    _ shouldStop: (@convention(c) (UnsafeMutableRawPointer?) -> Int32)?, _ context: UnsafeMutableRawPointer?
) -> Int32 {
    nonisolated(unsafe) let context = context
    return guarded {
        let losses = try nonNull(losses, "losses")
        let values = try ProjectorBox.with(p) { projector in
            guard let shouldStop else { return try projector.step() }
            return try StepTransaction.run(shouldCancel: { shouldStop(context) != 0 }, restore: {}) {
                try projector.step()
            }
        }
        (losses[0], losses[1], losses[2]) = (
            Double(values.loss), Double(values.distance), Double(values.regularization)
        )
    }
}

@_cdecl("sg_projector_steps_taken")
public func sg_projector_steps_taken(_ p: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let out = try nonNull(out, "out")
        out.pointee = Int64(try ProjectorBox.with(p) { $0.stepsTaken })
    }
}

@_cdecl("sg_projector_tensor_names")
public func sg_projector_tensor_names(_ p: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let box = try? ProjectorBox.from(p) else {
        LastError.set("projector: expected a non-NULL pointer")
        return nil
    }
    return UnsafePointer(box.tensorNames)
}

@_cdecl("sg_projector_tensor")
public func sg_projector_tensor(
    _ p: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let out = try nonNull(out, "out"), key = try string(name, "name")
        let tensor = try ProjectorBox.with(p) { projector -> Tensor in
            switch key {
            case "ws": return try projector.ws
            case "image": return try projector.image()
            default:
                guard key.hasPrefix("noise."), let map = projector.noiseMaps.first(where: { "noise.\($0.0)" == key })
                else {
                    throw SwiftGANError.invalidArgument(
                        "name: the projection has no tensor '\(key)' (expected ws, image or noise.<layer>)")
                }
                return try map.1.detached().copy()
            }
        }
        Handle.store(tensor, out)
    }
}
