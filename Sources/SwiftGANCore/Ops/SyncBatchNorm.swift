/// Synchronized batch normalization (as torch.nn.SyncBatchNorm): in training, the batch statistics and the sums
/// of the backward pass are taken over every rank's batch, so N ranks with batches of B compute exactly what one
/// process computes on the whole batch of N * B (up to the order of float sums).
///
/// Off by default: like the reference implementations, data-parallel training normalizes each rank's shard
/// with its own statistics. A data-parallel step with `syncBatchNorm` sets it in the thread's `ExecutionContext`
/// (`ExecutionContext.withCommunicator`); `batchNorm` in training mode then routes here.

/// Training-mode batch norm of `x` [N, C, ...] with statistics over all ranks' batches (two passes: the global
/// mean, then the squared deviations from it), updating the running statistics with the global ones.
func syncBatchNormTraining(
    _ x: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
    momentum: Float, eps: Float, communicator: any Communicator
) throws -> Tensor {
    let c = x.shape[1]
    let layout = NormLayout(batch: x.shape[0], channels: c, plane: x.count / (x.shape[0] * c), perSample: false)
    let total = Double(layout.groupSize * communicator.size)
    try require(
        total > 1, "batch_norm: expected more than 1 value per channel when training, got \(Shape.describe(x.shape))")
    nonisolated(unsafe) let xd = x.data
    // Per-channel sums in double; planes summed in float with SIMD as the single-process kernel does.
    let channelSums = { (body: @escaping (Int) -> Double) -> [Double] in
        var sums = [Double](repeating: 0, count: c)
        sums.withUnsafeMutableBufferPointer { s in
            nonisolated(unsafe) let s = s.baseAddress!
            parallelFor(c, costPerItem: layout.groupSize) { ch in
                var acc: Double = 0
                for p in layout.planes(ch) { acc += body(p) }
                s[ch] = acc
            }
        }
        return sums
    }
    var sums = channelSums { p in Double(sum(xd + p * layout.plane, layout.plane)) }
    try communicator.allreduceSum(&sums)
    let mean = sums.map { Float($0 / total) }
    var deviations = channelSums { p in Double(squaredDeviations(xd + p * layout.plane, mean[p % c], layout.plane)) }
    try communicator.allreduceSum(&deviations)
    let variance = deviations.map { Float($0 / total) }
    let invstd = variance.map { 1 / ($0 + eps).squareRoot() }

    let out = try Tensor(uninitialized: x.shape)
    layout.normalize(x.data, mean: mean, invstd: invstd, weight: weight?.data, bias: bias?.data, out: out.data)
    let unbias = Float(total / (total - 1))
    if let rm = runningMean { for i in 0..<c { rm.data[i] = (1 - momentum) * rm.data[i] + momentum * mean[i] } }
    if let rv = runningVar {
        for i in 0..<c { rv.data[i] = (1 - momentum) * rv.data[i] + momentum * variance[i] * unbias }
    }

    let inputs = [x] + [weight, bias].compactMap { $0 }
    let hasBias = bias != nil
    return record(out, "syncBatchNorm", inputs) { g, need in
        guard !GradMode.isEnabled else {
            throw SwiftGANError.invalidArgument(
                "sync_batchnorm: gradients of gradients (create_graph) are not supported")
        }
        nonisolated(unsafe) let gd = g.data
        // Local sums of g and g * xhat per channel, then their sums over all ranks.
        var local = channelSums { p in Double(sum(gd + p * layout.plane, layout.plane)) }
        local += channelSums { p in
            Double(centeredDot(gd + p * layout.plane, xd + p * layout.plane, mean[p % c], layout.plane))
                * Double(invstd[p % c])
        }
        var global = local
        try communicator.allreduceSum(&global)
        let gx = try Tensor(uninitialized: x.shape)
        nonisolated(unsafe) let gxd = gx.data
        let meanG = (0..<c).map { Float(global[$0] / total) }, meanGX = (0..<c).map { Float(global[c + $0] / total) }
        nonisolated(unsafe) let w = weight?.data
        parallelFor(layout.batch * c, costPerItem: layout.plane) { p in
            let ch = p % c, m = mean[ch], s = invstd[ch]
            let a = (w?[ch] ?? 1) * s
            let gp = gd + p * layout.plane, xp = xd + p * layout.plane, dst = gxd + p * layout.plane
            for i in 0..<layout.plane { dst[i] = a * (gp[i] - meanG[ch] - (xp[i] - m) * s * meanGX[ch]) }
        }
        // The affine parameters' gradients stay local sums: the gradient reducer averages them like any other.
        var grads: [Tensor?] = [need[0] ? gx : nil]
        if weight != nil {
            grads.append(need[grads.count] ? try Tensor(local[c...].map { Float($0) }, shape: [c]) : nil)
        }
        if hasBias { grads.append(need[grads.count] ? try Tensor(local[..<c].map { Float($0) }, shape: [c]) : nil) }
        return grads
    }
}
