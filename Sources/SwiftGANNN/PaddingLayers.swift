import SwiftGANCore

/// Padding as a layer (it holds no state but takes an index in a Sequential, as in PyTorch).
public final class ReflectionPad2d: Layer {
    public let padding: Int
    public init(_ padding: Int) { self.padding = padding }
    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try reflectionPad2d(x, padding: [padding, padding, padding, padding])
    }
}
