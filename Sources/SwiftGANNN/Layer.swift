import SwiftGANCore

/// Anything that owns tensors under the reference implementations' names, so their state dicts load unchanged.
public protocol Module: AnyObject {
    /// Learnable tensors by name, e.g. ("weight", w), in a fixed order.
    var parameters: [(String, Tensor)] { get }
    /// Non-learnable state (running statistics, constants) by name.
    var buffers: [(String, Tensor)] { get }
}

/// A module with a one-tensor forward pass.
public protocol Layer: Module {
    /// The forward pass; `training` selects batch statistics (and their running updates) in normalization layers.
    func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor
}

extension Module {
    public var parameters: [(String, Tensor)] { [] }
    public var buffers: [(String, Tensor)] { [] }
    /// Parameters and buffers together: the layer's state dict.
    public var state: [(String, Tensor)] { parameters + buffers }
    /// Number of learnable values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.1.count } }
}

/// A layer that computes itself together with the layers after it in fewer passes over memory than one by one, with
/// the same result up to float rounding: where nothing records gradients (inference), and some also while recording.
public protocol FusingLayer: Layer {
    /// This layer and the first n layers of `next` applied to x (`training` as in `callAsFunction`), with n; nil when
    /// they do not fuse. Called only while nothing records.
    func fused(_ x: Tensor, training: Bool, with next: ArraySlice<any Layer>) throws -> (output: Tensor, layers: Int)?
    /// As `fused`, while gradients record: the fused op records its own gradients.
    func fusedWhileRecording(
        _ x: Tensor, training: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)?
}

extension FusingLayer {
    /// Most fusions are for inference only.
    public func fusedWhileRecording(
        _ x: Tensor, training: Bool, with next: ArraySlice<any Layer>
    ) throws -> (output: Tensor, layers: Int)? { nil }
}

/// Layers applied in order; their state is named "<index>.<name>", as in torch.nn.Sequential. A `FusingLayer` may
/// take the layers after it along.
public final class Sequential: Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try callAsFunction(x, training: training, layers: layers.count)
    }

    /// Applies only the first `count` layers (for example a discriminator without its final sigmoid).
    public func callAsFunction(_ x: Tensor, training: Bool, layers count: Int) throws -> Tensor {
        var (h, i) = (x, 0)
        while i < count {
            if let layer = layers[i] as? any FusingLayer,
                let (output, taken) =
                    try GradMode.isEnabled
                    ? layer.fusedWhileRecording(h, training: training, with: layers[(i + 1)..<count])
                    : layer.fused(h, training: training, with: layers[(i + 1)..<count])
            {
                (h, i) = (output, i + 1 + taken)
                continue
            }
            h = try layers[i](h, training: training)
            i += 1
        }
        return h
    }

    public var parameters: [(String, Tensor)] { prefixed { $0.parameters } }
    public var buffers: [(String, Tensor)] { prefixed { $0.buffers } }

    private func prefixed(_ names: (any Layer) -> [(String, Tensor)]) -> [(String, Tensor)] {
        layers.enumerated().flatMap { i, layer in names(layer).map { ("\(i).\($0.0)", $0.1) } }
    }
}

/// A layer whose state names carry a prefix ("main" in pytorch/examples DCGAN: "main.0.weight").
public final class Named: Layer {
    public let name: String
    public let body: any Layer

    public init(_ name: String, _ body: any Layer) {
        self.name = name
        self.body = body
    }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor { try body(x, training: training) }
    public var parameters: [(String, Tensor)] { prefixed(name, body.parameters) }
    public var buffers: [(String, Tensor)] { prefixed(name, body.buffers) }
}

/// State entries under a prefix: "prefix.name".
public func prefixed(_ prefix: String, _ entries: [(String, Tensor)]) -> [(String, Tensor)] {
    entries.map { ("\(prefix).\($0.0)", $0.1) }
}

/// The state of several named modules, each under its name.
public func namedState(
    _ modules: [(String, (any Module)?)], _ pick: (any Module) -> [(String, Tensor)]
) -> [(String, Tensor)] {
    modules.flatMap { name, m in m.map { prefixed(name, pick($0)) } ?? [] }
}
