import SwiftGANCore

/// Optimizers update parameters in place from their `.grad`, outside the tape.
public protocol Optimizer: AnyObject {
    /// The parameters, in a fixed order.
    var parameters: [Tensor] { get }
    /// Updates taken so far.
    var step: Int { get set }
    /// Per-parameter state tensors (for example Adam's m and v), `slots` per parameter, for checkpoints.
    var state: [[Tensor]] { get }
    /// The optimizer's rule: one update of every parameter with a gradient, at learning rate `lr`.
    func updateParameters(lr: Float) throws
}

extension Optimizer {
    /// Number of state tensors per parameter.
    public var slots: Int { state.first?.count ?? 0 }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// One update at learning rate `lr`. In a data-parallel step (a communicator in the thread's
    /// `ExecutionContext`) the gradients are first averaged over every rank, so all ranks take the same update.
    public func update(lr: Float) throws {
        if let communicator = ExecutionContext.current.communicator {
            try averageGradients(parameters, over: communicator)
        }
        WeightEpoch.advance()
        try updateParameters(lr: lr)
    }
}

/// Checks that each parameter is a leaf that requires grad.
func checkParameters(_ parameters: [Tensor]) throws {
    for (i, p) in parameters.enumerated() {
        try require(p.isLeaf && p.requiresGrad, "params[\(i)]: optimizers update leaf tensors that require grad")
    }
}

/// Zero-initialized state tensors shaped like the parameters.
func zerosLike(_ parameters: [Tensor]) throws -> [Tensor] { try parameters.map { try Tensor(zeros: $0.shape) } }
