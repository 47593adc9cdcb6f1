/// Where an op input's gradient goes: the op that produced the input, or the input itself when it is a leaf that
/// requires grad, or nowhere. Edges point at nodes, not tensors, so an intermediate value that no derivative needs
/// is freed as soon as the forward pass is done with it.
struct Edge {
    let node: GradFn?
    let leaf: Tensor?

    init(_ t: Tensor) {
        node = t.gradFn
        leaf = t.gradFn == nil && t.requiresGrad ? t : nil
    }

    /// The key gradients accumulate under.
    var id: ObjectIdentifier? { node.map(ObjectIdentifier.init) ?? leaf.map(ObjectIdentifier.init) }
}

/// How an op's output gradient turns into its inputs' gradients.
///
/// `backward(gradOutput, needed)` returns one gradient per input (nil where `needed` is false or the input gets
/// none). It is written with differentiable ops, so when the tape records during backward (`createGraph`), the
/// gradients can be differentiated again. It captures only what the derivative needs; running backward without
/// retaining the graph drops it, and with it those saved values.
final class GradFn {
    let name: StaticString
    let edges: [Edge]
    let inputShapes: [[Int]]
    var backward: ((Tensor, [Bool]) throws -> [Tensor?])?

    init(name: StaticString, inputs: [Tensor], backward: ((Tensor, [Bool]) throws -> [Tensor?])?) {
        self.name = name
        edges = inputs.map(Edge.init)
        inputShapes = inputs.map(\.shape)
        self.backward = backward
    }
}

/// Records `output` as produced by `name` from `inputs`, when recording is on and an input requires grad.
@discardableResult
func record(
    _ output: Tensor, _ name: StaticString, _ inputs: [Tensor],
    _ backward: @escaping (Tensor, [Bool]) throws -> [Tensor?]
) -> Tensor {
    guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return output }
    output.requiresGrad = true
    output.gradFn = GradFn(name: name, inputs: inputs, backward: backward)
    return output
}

/// Like `record`, for an op whose derivative needs its own output (tanh, sigmoid, exp, ...). The output's values are
/// saved and handed back to `backward` as a tensor on the tape (produced by this op, so it can be differentiated
/// again), without the op holding its output object: that would be a reference cycle.
@discardableResult
func recordWithOutput(
    _ output: Tensor, _ name: StaticString, _ inputs: [Tensor],
    _ backward: @escaping (Tensor, [Bool], Tensor) throws -> [Tensor?]
) -> Tensor {
    guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return output }
    let (storage, shape) = (output.storage, output.shape)
    let fn = GradFn(name: name, inputs: inputs, backward: nil)
    fn.backward = { [unowned fn] g, need in
        let saved = Tensor(shape: shape, storage: storage, requiresGrad: true)
        saved.gradFn = fn
        return try backward(g, need, saved)
    }
    output.requiresGrad = true
    output.gradFn = fn
    return output
}

/// Reverse-mode differentiation over the tape.
public enum Autograd {
    /// Gradients of `sum_i <outputs[i], seeds[i]>` with respect to `inputs` (nil where an input has no
    /// influence). A nil seed means 1 and needs a one-element output. With `createGraph` the gradients are
    /// recorded, so they can be differentiated again; the graph is then kept.
    public static func grad(
        _ outputs: [Tensor], seeds: [Tensor?]? = nil, wrt inputs: [Tensor],
        createGraph: Bool = false, retainGraph: Bool? = nil
    ) throws -> [Tensor?] {
        let keys = inputs.map { Edge($0).id }
        let targets = Set(keys.compactMap { $0 })
        let grads = try run(
            outputs, seeds: seeds, isTarget: { targets.contains($0) }, createGraph: createGraph,
            retainGraph: retainGraph ?? createGraph)
        return keys.map { $0.flatMap { grads[$0] } }
    }

    /// Accumulates the gradient of `<output, seed>` into `.grad` of every leaf that requires grad.
    public static func backward(
        _ output: Tensor, seed: Tensor? = nil, createGraph: Bool = false,
        retainGraph: Bool? = nil
    ) throws {
        var leaves: [ObjectIdentifier: Tensor] = [:]
        let grads = try run(
            [output], seeds: [seed], isTarget: { _ in false }, leaf: { leaves[ObjectIdentifier($0)] = $0 },
            createGraph: createGraph, retainGraph: retainGraph ?? createGraph)
        try GradMode.with(enabled: createGraph) {
            for (id, g) in grads {
                guard let leaf = leaves[id] else { continue }
                leaf.grad = try leaf.grad.map { try add($0, g) } ?? (createGraph ? g : g.detached())
            }
        }
    }

    /// Runs the backward pass. Nodes leading to a target (or, with `leaf`, to any leaf: every leaf edge then counts
    /// as a target and is reported) are visited in reverse topological order; returns the gradients of the targets.
    private static func run(
        _ outputs: [Tensor], seeds: [Tensor?]?, isTarget: (ObjectIdentifier) -> Bool,
        leaf: ((Tensor) -> Void)? = nil, createGraph: Bool, retainGraph: Bool
    ) throws -> [ObjectIdentifier: Tensor] {
        guard seeds == nil || seeds!.count == outputs.count else {
            throw SwiftGANError.invalidArgument("grad_outputs: expected \(outputs.count) entries, got \(seeds!.count)")
        }
        // Topological order of the nodes, found without recursion; `needed` marks what leads to a target.
        var needed: [ObjectIdentifier: Bool] = [:]
        var order: [GradFn] = []
        func visitLeaf(_ t: Tensor) -> Bool {
            let id = ObjectIdentifier(t)
            if let known = needed[id] { return known }
            leaf?(t)
            let result = leaf != nil || isTarget(id)
            needed[id] = result
            return result
        }
        var stack: [(GradFn, Bool)] = []
        for out in outputs {
            if let fn = out.gradFn { stack.append((fn, false)) } else if out.requiresGrad { _ = visitLeaf(out) }
        }
        while let (fn, expanded) = stack.popLast() {
            let id = ObjectIdentifier(fn)
            if expanded {
                var leads = isTarget(id)
                for e in fn.edges {
                    if let n = e.node { leads = needed[ObjectIdentifier(n)] == true || leads }
                    if let l = e.leaf { leads = visitLeaf(l) || leads }
                }
                needed[id] = leads
                order.append(fn)
                continue
            }
            if needed[id] != nil { continue }
            guard fn.backward != nil else {
                throw SwiftGANError.invalidArgument(
                    "backward through a graph a second time: its saved values were freed (use retain_graph)")
            }
            needed[id] = false  // visiting; final value set when expanded
            stack.append((fn, true))
            for e in fn.edges { if let n = e.node, needed[ObjectIdentifier(n)] == nil { stack.append((n, false)) } }
        }

        var grads: [ObjectIdentifier: Tensor] = [:]
        try GradMode.with(enabled: createGraph) {
            for (i, out) in outputs.enumerated() {
                let seed: Tensor
                if let s = seeds?[i] {
                    guard s.shape == out.shape else {
                        throw SwiftGANError.invalidArgument(
                            "grad_outputs[\(i)]: expected shape \(Shape.describe(out.shape)), "
                                + "got \(Shape.describe(s.shape))"
                        )
                    }
                    seed = s
                } else {
                    guard out.count == 1 else {
                        throw SwiftGANError.invalidArgument(
                            "grad can be implicitly created only for one-element outputs, "
                                + "got \(Shape.describe(out.shape))"
                        )
                    }
                    seed = try Tensor(repeating: 1, shape: out.shape)
                }
                if let id = Edge(out).id { try accumulate(&grads, id, seed, shape: out.shape) }
            }
            for fn in order.reversed() {
                let id = ObjectIdentifier(fn)
                guard needed[id] == true, let backward = fn.backward, let g = grads[id] else { continue }
                let mask = fn.edges.map { e in e.id.map { needed[$0] == true } ?? false }
                let inputGrads = try backward(g, mask)
                for (i, e) in fn.edges.enumerated() {
                    guard mask[i], let key = e.id, let ig = inputGrads[i] else { continue }
                    try accumulate(&grads, key, ig, shape: fn.inputShapes[i])
                }
                if !isTarget(id) { grads[id] = nil }
                if !retainGraph { fn.backward = nil }
            }
        }
        return grads
    }

    private static func accumulate(
        _ grads: inout [ObjectIdentifier: Tensor], _ id: ObjectIdentifier, _ g: Tensor, shape: [Int]
    ) throws {
        guard g.shape == shape else {
            throw SwiftGANError.internalError(
                "gradient shape \(Shape.describe(g.shape)) does not match tensor \(Shape.describe(shape))")
        }
        grads[id] = try grads[id].map { try add($0, g) } ?? g
    }
}
