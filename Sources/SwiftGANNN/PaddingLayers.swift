import SwiftGANCore

/// Padding as a layer (it holds no state but takes an index in a Sequential, as in PyTorch). Followed by an unpadded
/// stride-1 convolution, it lets the convolution read the reflection (`reflectionPaddedConv2d`), in training too;
/// where nothing records, with the convolution's own fusions.
public final class ReflectionPad2d: FusingLayer {
    public let padding: Int
    public init(_ padding: Int) { self.padding = padding }
    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try reflectionPad2d(x, padding: [padding, padding, padding, padding])
    }

    public func fused(
        _ x: Tensor, training _: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        guard let conv = next.first as? Conv2d, conv.stride == 1, conv.padding == 0 else { return nil }
        let convolve = { (bias: Tensor?) in
            try reflectionPaddedConv2d(x, weight: conv.weight, bias: bias, padding: self.padding)
        }
        if let (output, taken) = try normalizedWithoutBias(next.dropFirst(), { try convolve(nil) }) {
            return (output, 1 + taken)
        }
        return (try convolve(conv.bias), 1)
    }

    public func fusedWhileRecording(
        _ x: Tensor, training _: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? {
        guard let conv = next.first as? Conv2d, conv.stride == 1, conv.padding == 0 else { return nil }
        return (try reflectionPaddedConv2d(x, weight: conv.weight, bias: conv.bias, padding: padding), 1)
    }
}
