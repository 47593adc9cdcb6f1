/// How an op's output gradient turns into its inputs' gradients.
///
/// `backward(gradOutput, needed)` returns one gradient per input (nil where `needed` is false or the input
/// gets none). It is written with differentiable ops, so when the tape records during backward
/// (`createGraph`), the gradients can be differentiated again.
final class GradFn {
    let name: StaticString
    let inputs: [Tensor]
    let backward: (Tensor, [Bool]) throws -> [Tensor?]

    init(name: StaticString, inputs: [Tensor], backward: @escaping (Tensor, [Bool]) throws -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Records `output` as produced by `name` from `inputs`, when recording is on and an input requires grad.
@discardableResult
func record(_ output: Tensor, _ name: StaticString, _ inputs: [Tensor],
            _ backward: @escaping (Tensor, [Bool]) throws -> [Tensor?]) -> Tensor {
    guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return output }
    output.requiresGrad = true
    output.gradFn = GradFn(name: name, inputs: inputs, backward: backward)
    return output
}

/// Reverse-mode differentiation over the tape.
public enum Autograd {
    /// Gradients of `sum_i <outputs[i], seeds[i]>` with respect to `inputs` (nil where an input has no
    /// influence). A nil seed means 1 and needs a one-element output. With `createGraph` the gradients are
    /// recorded, so they can be differentiated again; the graph is then kept.
    public static func grad(_ outputs: [Tensor], seeds: [Tensor?]? = nil, wrt inputs: [Tensor],
                            createGraph: Bool = false, retainGraph: Bool? = nil) throws -> [Tensor?] {
        let targets = Set(inputs.map(ObjectIdentifier.init))
        let grads = try run(outputs, seeds: seeds, isTarget: { targets.contains(ObjectIdentifier($0)) },
                            createGraph: createGraph, retainGraph: retainGraph ?? createGraph)
        return inputs.map { grads[ObjectIdentifier($0)] }
    }

    /// Accumulates the gradient of `<output, seed>` into `.grad` of every leaf that requires grad.
    public static func backward(_ output: Tensor, seed: Tensor? = nil, createGraph: Bool = false,
                                retainGraph: Bool? = nil) throws {
        var leaves: [ObjectIdentifier: Tensor] = [:]
        let grads = try run([output], seeds: [seed], isTarget: { t in
            guard t.isLeaf else { return false }
            leaves[ObjectIdentifier(t)] = t
            return true
        }, createGraph: createGraph, retainGraph: retainGraph ?? createGraph)
        try GradMode.with(enabled: createGraph) {
            for (id, g) in grads {
                guard let leaf = leaves[id] else { continue }
                leaf.grad = try leaf.grad.map { try add($0, g) } ?? (createGraph ? g : g.detached())
            }
        }
    }

    private static func run(_ outputs: [Tensor], seeds: [Tensor?]?, isTarget: (Tensor) -> Bool,
                            createGraph: Bool, retainGraph: Bool) throws -> [ObjectIdentifier: Tensor] {
        guard seeds == nil || seeds!.count == outputs.count else {
            throw SwiftGANError.invalidArgument("grad_outputs: expected \(outputs.count) entries, got \(seeds!.count)")
        }
        // Topological order of the tensors that lead to a target, found without recursion.
        var needed: [ObjectIdentifier: Bool] = [:]
        var order: [Tensor] = []
        var stack: [(Tensor, Bool)] = outputs.map { ($0, false) }
        while let (t, expanded) = stack.popLast() {
            let id = ObjectIdentifier(t)
            if expanded {
                let fromInputs = t.gradFn?.inputs.contains { needed[ObjectIdentifier($0)] == true } ?? false
                needed[id] = isTarget(t) || fromInputs
                order.append(t)
                continue
            }
            if needed[id] != nil || !t.requiresGrad { if needed[id] == nil { needed[id] = false }; continue }
            if t.graphFreed {
                throw SwiftGANError.invalidArgument(
                    "backward through a graph a second time: its intermediate values were freed (use retain_graph)")
            }
            needed[id] = false  // visiting; final value set when expanded
            stack.append((t, true))
            for input in t.gradFn?.inputs ?? [] where needed[ObjectIdentifier(input)] == nil {
                stack.append((input, false))
            }
        }

        var grads: [ObjectIdentifier: Tensor] = [:]
        try GradMode.with(enabled: createGraph) {
            for (i, out) in outputs.enumerated() {
                let seed: Tensor
                if let s = seeds?[i] {
                    guard s.shape == out.shape else {
                        throw SwiftGANError.invalidArgument(
                            "grad_outputs[\(i)]: expected shape \(Shape.describe(out.shape)), got \(Shape.describe(s.shape))")
                    }
                    seed = s
                } else {
                    guard out.count == 1 else {
                        throw SwiftGANError.invalidArgument(
                            "grad can be implicitly created only for one-element outputs, got \(Shape.describe(out.shape))")
                    }
                    seed = try Tensor(repeating: 1, shape: out.shape)
                }
                try accumulate(&grads, out, seed)
            }
            for t in order.reversed() {
                let id = ObjectIdentifier(t)
                guard needed[id] == true, let fn = t.gradFn, let g = grads[id] else { continue }
                let mask = fn.inputs.map { needed[ObjectIdentifier($0)] == true }
                let inputGrads = try fn.backward(g, mask)
                for (input, ig) in zip(fn.inputs, inputGrads) where ig != nil && needed[ObjectIdentifier(input)] == true {
                    try accumulate(&grads, input, ig!)
                }
                if !isTarget(t) { grads[id] = nil }
                if !retainGraph {
                    t.gradFn = nil
                    t.graphFreed = true
                }
            }
        }
        return grads
    }

    private static func accumulate(_ grads: inout [ObjectIdentifier: Tensor], _ t: Tensor, _ g: Tensor) throws {
        guard g.shape == t.shape else {
            throw SwiftGANError.internalError(
                "gradient shape \(Shape.describe(g.shape)) does not match tensor \(Shape.describe(t.shape))")
        }
        let id = ObjectIdentifier(t)
        grads[id] = try grads[id].map { try add($0, g) } ?? g
    }
}
