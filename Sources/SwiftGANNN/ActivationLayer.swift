import SwiftGANCore

/// An elementwise activation as a layer (it holds no state but takes an index in a Sequential, as in PyTorch).
public final class Activation: Layer {
    public enum Kind: Sendable {
        case relu, leakyRelu(Float), tanh, sigmoid
    }
    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        switch kind {
        case .relu: return try relu(x)
        case .leakyRelu(let slope): return try leakyRelu(x, negativeSlope: slope)
        case .tanh: return try tanh(x)
        case .sigmoid: return try sigmoid(x)
        }
    }
}
