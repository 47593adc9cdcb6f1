@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// Deterministic test inputs.
func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) throws -> Tensor {
    var rng = RandomGenerator(seed: seed)
    let t = try rng.uniform(shape, low: low, high: high)
    try t.setRequiresGrad(true)
    return t
}

/// Checks the tape's gradients of `<f(inputs), weights>` against central finite differences (in double
/// precision sums over float evaluations). Returns the worst relative error over all inputs.
func gradientError(_ inputs: [Tensor], step: Float = 1e-2, _ f: ([Tensor]) throws -> Tensor) throws -> Float {
    let out = try f(inputs)
    let weights = try randomTensor(out.shape, seed: 99)
    func objective() throws -> Double {
        let y = try f(inputs)
        var s: Double = 0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(weights.data[i]) }
        return s
    }
    let grads = try Autograd.grad([out], seeds: [weights.detached()], wrt: inputs)
    var worst: Float = 0
    for (t, g) in zip(inputs, grads) {
        let numeric = try Tensor(zeros: t.shape)
        for i in 0..<t.count {
            let saved = t.data[i]
            t.data[i] = saved + step
            let plus = try objective()
            t.data[i] = saved - step
            let minus = try objective()
            t.data[i] = saved
            numeric.data[i] = Float((plus - minus) / Double(2 * step))
        }
        worst = Swift.max(worst, relativeError(try g ?? Tensor(zeros: t.shape), numeric))
    }
    return worst
}

/// Checks second derivatives: the gradient of `sum(grad(<f(x), w>, x)^2)` with respect to every input,
/// against finite differences of that first-order quantity.
func doubleBackwardError(_ inputs: [Tensor], step: Float = 1e-2, _ f: ([Tensor]) throws -> Tensor) throws -> Float {
    let weights = try randomTensor(try noGrad { try f(inputs) }.shape, seed: 77).detached()
    return try gradientError(inputs, step: step) { xs in
        let y = try f(xs)
        let g = try Autograd.grad([y], seeds: [weights], wrt: [xs[0]], createGraph: true)[0]!
        return try sum(try square(g))
    }
}

/// A StyleGAN2 small enough for finite differences: 8x8, 8-dim z and w, 2 mapping layers, at most 8 channels.
func tinyStyleGANConfig() -> StyleGAN.Config {
    var c = StyleGAN.Config()
    (c.resolution, c.channels, c.zDim, c.wDim, c.mappingLayers, c.channelBase, c.channelMax) = (8, 3, 8, 8, 2, 32, 8)
    (c.r1Interval, c.plInterval, c.r1Gamma) = (2, 2, 1)
    return c
}
