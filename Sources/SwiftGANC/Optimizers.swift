import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// An sg_optimizer* is a retained Unmanaged<OptimizerBox>.
final class OptimizerBox {
    let optimizer: any Optimizer
    init(_ optimizer: any Optimizer) { self.optimizer = optimizer }
    static func from(_ p: OpaquePointer?) throws -> any Optimizer {
        Unmanaged<OptimizerBox>.fromOpaque(UnsafeRawPointer(try nonNull(p, "optimizer"))).takeUnretainedValue()
            .optimizer
    }
}

@_cdecl("sg_optimizer_create")
public func sg_optimizer_create(
    _ kind: UnsafePointer<CChar>?, _ nParams: Int32, _ params: UnsafePointer<OpaquePointer?>?,
    _ nAttrs: Int32, _ attrNames: UnsafePointer<UnsafePointer<CChar>?>?, _ attrValues: UnsafePointer<Double>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let kind = try string(kind, "kind")
        let out = try nonNull(out, "out")
        let parameters = try readTensors(params, nParams, "params").map { $0! }
        let attrs = try readAttributes(nAttrs, attrNames, attrValues)
        let call = OpCall(op: kind, inputs: [:], attrs: attrs)
        let optimizer: any Optimizer
        switch kind {
        case "adam":
            try checkNames(attrs, ["lr", "beta1", "beta2", "eps", "weight_decay"], kind)
            optimizer = try Adam(
                parameters, beta1: try call.double("beta1", 0.9), beta2: try call.double("beta2", 0.999),
                eps: try call.float("eps", 1e-8), weightDecay: try call.float("weight_decay", 0))
        case "sgd":
            try checkNames(attrs, ["lr", "momentum", "weight_decay"], kind)
            optimizer = try SGD(
                parameters, momentum: try call.float("momentum", 0), weightDecay: try call.float("weight_decay", 0))
        default:
            throw SwiftGANError.invalidArgument("kind: expected 'adam' or 'sgd', got '\(kind)'")
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(OptimizerBox(optimizer)).toOpaque())
    }
}

private func checkNames(_ attrs: [String: Double], _ allowed: [String], _ kind: String) throws {
    for k in attrs.keys where !allowed.contains(k) {
        throw SwiftGANError.invalidArgument(
            "\(kind): unknown argument '\(k)' (expected \(allowed.joined(separator: ", ")))")
    }
}

@_cdecl("sg_optimizer_release")
public func sg_optimizer_release(_ o: OpaquePointer?) {
    guard let o else { return }
    Unmanaged<OptimizerBox>.fromOpaque(UnsafeRawPointer(o)).release()
}

@_cdecl("sg_optimizer_step")
public func sg_optimizer_step(_ o: OpaquePointer?, _ lr: Double) -> Int32 {
    guarded {
        try require(lr.isFinite && lr >= 0, "lr: expected a finite non-negative learning rate, got \(lr)")
        let optimizer = try OptimizerBox.from(o)
        try tapeLock.hold { try optimizer.update(lr: Float(lr)) }
    }
}

@_cdecl("sg_optimizer_zero_grad")
public func sg_optimizer_zero_grad(_ o: OpaquePointer?) -> Int32 {
    guarded {
        let optimizer = try OptimizerBox.from(o)
        try tapeLock.hold { optimizer.zeroGrad() }
    }
}

@_cdecl("sg_optimizer_get_step")
public func sg_optimizer_get_step(_ o: OpaquePointer?) -> Int64 {
    (try? OptimizerBox.from(o)).map { Int64($0.step) } ?? -1
}

@_cdecl("sg_optimizer_set_step")
public func sg_optimizer_set_step(_ o: OpaquePointer?, _ step: Int64) -> Int32 {
    guarded {
        try require(step >= 0 && step < 1 << 53, "step: expected a non-negative step count, got \(step)")
        try OptimizerBox.from(o).step = Int(step)
    }
}

@_cdecl("sg_optimizer_slots")
public func sg_optimizer_slots(_ o: OpaquePointer?) -> Int32 {
    (try? OptimizerBox.from(o)).map { Int32($0.slots) } ?? -1
}

@_cdecl("sg_optimizer_state")
public func sg_optimizer_state(
    _ o: OpaquePointer?, _ index: Int32, _ slot: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let opt = try OptimizerBox.from(o)
        try require(
            index >= 0 && Int(index) < opt.parameters.count, "index: expected 0..<\(opt.parameters.count), got \(index)"
        )
        try require(slot >= 0 && Int(slot) < opt.slots, "slot: expected 0..<\(opt.slots), got \(slot)")
        Handle.store(opt.state[Int(index)][Int(slot)], try nonNull(out, "out"))
    }
}

@_cdecl("sg_ema_update")
public func sg_ema_update(
    _ n: Int32, _ ema: UnsafePointer<OpaquePointer?>?, _ params: UnsafePointer<OpaquePointer?>?, _ decay: Double
) -> Int32 {
    guarded {
        let (ema, params) = (
            try readTensors(ema, n, "ema").map { $0! }, try readTensors(params, n, "params").map { $0! }
        )
        try tapeLock.hold { try emaUpdate(ema, params, decay: Float(decay)) }
    }
}
