import SwiftGANCore

/// Replaces each parameter's gradient by its mean over every rank of `communicator`: the gradients are copied into
/// one flat buffer, summed with a single allreduce, and divided by the world size (each rank's loss is a mean over
/// its own shard, so the mean over ranks is the gradient of the mean over the global batch).
///
/// Every rank must average the same parameters in the same order, which holds when all ranks run the same training
/// step; a parameter without a gradient contributes zeros and keeps no gradient.
public func averageGradients(_ parameters: [Tensor], over communicator: any Communicator) throws {
    guard communicator.size > 1 else { return }
    let total = parameters.reduce(0) { $0 + $1.count }
    let buffer = try Storage(uninitialized: total)  // engine storage: reused from step to step
    let base = buffer.pointer, scale = 1 / Float(communicator.size)
    var offset = 0
    for p in parameters {
        if let g = p.grad {
            (base + offset).update(from: g.data, count: p.count)
        } else {
            (base + offset).update(repeating: 0, count: p.count)
        }
        offset += p.count
    }
    try communicator.allreduceSum(base, count: total)
    offset = 0
    for p in parameters {
        defer { offset += p.count }
        guard p.grad != nil else { continue }
        // A fresh tensor: a gradient's storage may be shared with another tensor of the step.
        let g = try Tensor(uninitialized: p.shape)
        let src = base + offset
        for i in 0..<p.count { g.data[i] = src[i] * scale }
        p.grad = g
    }
}
