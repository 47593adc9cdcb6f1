import SwiftGANCore

/// x + body(x), with the body's state under `name` (CycleGAN's ResnetBlock: "conv_block.N.*").
public final class Residual: Layer {
    public let name: String
    public let body: any Layer

    public init(_ name: String, _ body: any Layer) {
        self.name = name
        self.body = body
    }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try add(x, try body(x, training: training))
    }
    public var parameters: [(String, Tensor)] { body.parameters.map { ("\(name).\($0.0)", $0.1) } }
    public var buffers: [(String, Tensor)] { body.buffers.map { ("\(name).\($0.0)", $0.1) } }
}
