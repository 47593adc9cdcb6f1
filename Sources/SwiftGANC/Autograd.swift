import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// n handles from a C array (entries may be NULL only where `allowNull`).
func readTensors(
    _ p: UnsafePointer<OpaquePointer?>?, _ n: Int32, _ argument: String, allowNull: Bool = false
) throws -> [Tensor?] {
    try require(n >= 0 && n <= 1 << 20, "\(argument): expected a count from 0 to 2^20, got \(n)")
    if n == 0 { return [] }
    let p = try nonNull(p, argument)
    return try (0..<Int(n)).map { i in
        allowNull ? Handle.optionalTensor(p[i]) : try Handle.tensor(p[i], "\(argument)[\(i)]")
    }
}

@_cdecl("sg_grad")
public func sg_grad(
    _ nOutputs: Int32, _ outputs: UnsafePointer<OpaquePointer?>?, _ gradOutputs: UnsafePointer<OpaquePointer?>?,
    _ nInputs: Int32, _ inputs: UnsafePointer<OpaquePointer?>?, _ createGraph: Int32,
    _ grads: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let outs = try readTensors(outputs, nOutputs, "outputs").map { $0! }
        let seeds = gradOutputs == nil ? nil : try readTensors(gradOutputs, nOutputs, "grad_outputs", allowNull: true)
        let ins = try readTensors(inputs, nInputs, "inputs").map { $0! }
        for (i, t) in ins.enumerated() {
            try require(t.requiresGrad, "inputs[\(i)]: does not require grad, so it has no gradient")
        }
        let grads = try nonNull(grads, "grads")
        let result = try tapeLock.hold {
            try Autograd.grad(outs, seeds: seeds, wrt: ins, createGraph: createGraph != 0)
        }
        for (i, g) in result.enumerated() { Handle.store(g, grads + i) }
    }
}

@_cdecl("sg_backward")
public func sg_backward(_ output: OpaquePointer?, _ gradOutput: OpaquePointer?, _ createGraph: Int32) -> Int32 {
    guarded {
        let out = try Handle.tensor(output, "output")
        try require(out.requiresGrad, "output: does not require grad (no input of the ops that made it requires grad)")
        try tapeLock.hold {
            try Autograd.backward(out, seed: Handle.optionalTensor(gradOutput), createGraph: createGraph != 0)
        }
    }
}
