import SwiftGANCore

/// Stochastic gradient descent with optional momentum and L2 weight decay (PyTorch's formulation).
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var step = 0
    public let momentum: Float, weightDecay: Float
    /// Momentum buffers, per parameter.
    public let buffers: [Tensor]
    public var state: [[Tensor]] { buffers.map { [$0] } }

    public init(_ parameters: [Tensor], momentum: Float = 0, weightDecay: Float = 0) throws {
        try checkParameters(parameters)
        try require(momentum >= 0 && momentum < 1, "momentum: expected a value in [0, 1), got \(momentum)")
        try require(weightDecay >= 0, "weight_decay: expected a non-negative value, got \(weightDecay)")
        self.parameters = parameters
        (self.momentum, self.weightDecay) = (momentum, weightDecay)
        buffers = try zerosLike(parameters)
    }

    public func updateParameters(lr: Float) throws {
        let first = step == 0
        step += 1
        let (mu, wd) = (momentum, weightDecay)
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            nonisolated(unsafe) let w = p.data, gd = g.data, bd = buffers[i].data
            parallelRanges(p.count) { r in
                for j in r {
                    var d = gd[j] + wd * w[j]
                    if mu > 0 {
                        bd[j] = first ? d : mu * bd[j] + d
                        d = bd[j]
                    }
                    w[j] -= lr * d
                }
            }
        }
    }
}
