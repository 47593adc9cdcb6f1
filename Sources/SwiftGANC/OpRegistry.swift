import Glibc
import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// The arguments of one `sg_op` call: named tensors and numeric attributes, read with checks that name the
/// argument and what was expected.
struct OpCall {
    let op: String
    let inputs: [String: Tensor]
    let attrs: [String: Double]

    func tensor(_ name: String) throws -> Tensor {
        guard let t = inputs[name] else {
            throw SwiftGANError.invalidArgument("\(op): missing required input '\(name)'")
        }
        return t
    }
    func optional(_ name: String) -> Tensor? { inputs[name] }
    /// The tensors name.0, name.1, ... in order.
    func list(_ name: String) throws -> [Tensor] {
        var out: [Tensor] = []
        while let t = inputs["\(name).\(out.count)"] { out.append(t) }
        try require(
            out.count == inputs.keys.filter { $0.hasPrefix(name + ".") }.count,
            "\(op): inputs '\(name).N' must be numbered 0, 1, 2, ... without gaps")
        return out
    }
    func int(_ name: String, _ fallback: Int? = nil) throws -> Int {
        guard let v = attrs[name] else {
            guard let fallback else {
                throw SwiftGANError.invalidArgument("\(op): missing required attribute '\(name)'")
            }
            return fallback
        }
        try require(
            v.isFinite && v == v.rounded() && Swift.abs(v) <= 2_147_483_647.0,
            "\(op): argument '\(name)' must be an integer, got \(v)")
        return Int(v)
    }
    func ints(_ name: String, count: Int, _ fallback: [Int]) throws -> [Int] {
        if attrs["\(name).0"] == nil {
            if attrs[name] != nil { return Array(repeating: try int(name), count: count) }
            return fallback
        }
        return try (0..<count).map { try int("\(name).\($0)") }
    }
    /// The list name.0, name.1, ... or nil when absent.
    func intList(_ name: String) throws -> [Int]? {
        var out: [Int] = []
        while attrs["\(name).\(out.count)"] != nil { out.append(try int("\(name).\(out.count)")) }
        return out.isEmpty ? nil : out
    }
    func double(_ name: String, _ fallback: Double) throws -> Double {
        guard let v = attrs[name] else { return fallback }
        try require(v.isFinite, "\(op): argument '\(name)' must be a finite number, got \(v)")
        return v
    }
    func float(_ name: String, _ fallback: Float) throws -> Float { Float(try double(name, Double(fallback))) }
    func bool(_ name: String, _ fallback: Bool) throws -> Bool {
        guard let v = attrs[name] else { return fallback }
        try require(v == 0 || v == 1, "\(op): argument '\(name)' must be a boolean (0 or 1), got \(v)")
        return v == 1
    }
    func reduction() throws -> Reduction {
        let r = try int("reduction", 1)
        guard let red = Reduction(rawValue: r) else {
            throw SwiftGANError.invalidArgument(
                "\(op): argument 'reduction' must be 0 (none), 1 (mean) or 2 (sum), got \(r)")
        }
        return red
    }
}

/// One registered op: its input and attribute names (a trailing ".*" marks a numbered list) and its body.
struct OpSpec {
    let inputs: [String]
    let attrs: [String]
    let run: (OpCall) throws -> Tensor

    /// Whether `name` is one of `declared`, or a numbered entry of a declared list.
    static func accepts(_ declared: [String], _ name: String) -> Bool {
        declared.contains { d in
            if d.hasSuffix(".*") {
                let base = d.dropLast(1)
                return name.hasPrefix(base) && Int(name.dropFirst(base.count)) != nil
            }
            return d == name
        }
    }
}

/// Every op that `sg_op` can run, by name. See docs/ops.md.
nonisolated(unsafe) let opRegistry: [String: OpSpec] = {
    var r: [String: OpSpec] = [:]
    func unary(_ name: String, _ f: @escaping (Tensor) throws -> Tensor) {
        r[name] = OpSpec(inputs: ["x"], attrs: []) { try f(try $0.tensor("x")) }
    }
    func binary(_ name: String, _ f: @escaping (Tensor, Tensor) throws -> Tensor) {
        r[name] = OpSpec(inputs: ["a", "b"], attrs: []) { try f(try $0.tensor("a"), try $0.tensor("b")) }
    }
    r["linear"] = OpSpec(inputs: ["x", "weight", "bias"], attrs: []) {
        try linear(try $0.tensor("x"), weight: try $0.tensor("weight"), bias: $0.optional("bias"))
    }
    r["matmul"] = OpSpec(inputs: ["a", "b"], attrs: []) { try matmul(try $0.tensor("a"), try $0.tensor("b")) }
    r["conv2d"] = OpSpec(inputs: ["x", "weight", "bias"], attrs: ["stride", "padding"]) {
        try conv2d(
            try $0.tensor("x"), weight: try $0.tensor("weight"), bias: $0.optional("bias"),
            stride: try $0.int("stride", 1), padding: try $0.int("padding", 0))
    }
    r["conv_transpose2d"] = OpSpec(inputs: ["x", "weight", "bias"], attrs: ["stride", "padding", "output_padding"]) {
        try convTranspose2d(
            try $0.tensor("x"), weight: try $0.tensor("weight"), bias: $0.optional("bias"),
            stride: try $0.int("stride", 1), padding: try $0.int("padding", 0),
            outputPadding: try $0.int("output_padding", 0))
    }
    r["batch_norm"] = OpSpec(
        inputs: ["x", "running_mean", "running_var", "weight", "bias"],
        attrs: ["training", "momentum", "eps"]
    ) {
        try batchNorm(
            try $0.tensor("x"), runningMean: $0.optional("running_mean"), runningVar: $0.optional("running_var"),
            weight: $0.optional("weight"), bias: $0.optional("bias"), training: try $0.bool("training", false),
            momentum: try $0.float("momentum", 0.1), eps: try $0.float("eps", 1e-5))
    }
    r["instance_norm"] = OpSpec(inputs: ["x", "weight", "bias"], attrs: ["eps"]) {
        try instanceNorm(
            try $0.tensor("x"), weight: $0.optional("weight"), bias: $0.optional("bias"), eps: try $0.float("eps", 1e-5)
        )
    }
    unary("relu", relu)
    unary("tanh", tanh)
    unary("sigmoid", sigmoid)
    unary("softplus", softplus)
    unary("sqrt", sqrt)
    unary("rsqrt", rsqrt)
    unary("exp", exp)
    unary("log", log)
    unary("square", square)
    unary("abs", abs)
    unary("neg", neg)
    r["leaky_relu"] = OpSpec(inputs: ["x"], attrs: ["negative_slope"]) {
        try leakyRelu(try $0.tensor("x"), negativeSlope: try $0.float("negative_slope", 0.01))
    }
    binary("add", add)
    binary("sub", sub)
    binary("mul", mul)
    binary("div", div)
    r["sum"] = OpSpec(inputs: ["x"], attrs: ["dim.*", "keepdim"]) {
        try sum(try $0.tensor("x"), axes: try $0.intList("dim"), keepDim: try $0.bool("keepdim", false))
    }
    r["mean"] = OpSpec(inputs: ["x"], attrs: ["dim.*", "keepdim"]) {
        try mean(try $0.tensor("x"), axes: try $0.intList("dim"), keepDim: try $0.bool("keepdim", false))
    }
    r["permute"] = OpSpec(inputs: ["x"], attrs: ["dims.*"]) {
        try permute(try $0.tensor("x"), try $0.intList("dims") ?? [])
    }
    r["clamp"] = OpSpec(inputs: ["x"], attrs: ["min", "max"]) {
        try clamp(
            try $0.tensor("x"), min: try $0.float("min", -.greatestFiniteMagnitude),
            max: try $0.float("max", .greatestFiniteMagnitude))
    }
    r["reshape"] = OpSpec(inputs: ["x"], attrs: ["shape.*"]) {
        try reshape(try $0.tensor("x"), try $0.intList("shape") ?? [])
    }
    r["cat"] = OpSpec(inputs: ["x.*"], attrs: ["dim"]) { try cat(try $0.list("x"), dim: try $0.int("dim", 0)) }
    r["narrow"] = OpSpec(inputs: ["x"], attrs: ["dim", "start", "length"]) {
        try narrow(try $0.tensor("x"), dim: try $0.int("dim"), start: try $0.int("start"), length: try $0.int("length"))
    }
    r["zero_pad2d"] = OpSpec(inputs: ["x"], attrs: ["padding", "padding.*"]) {
        try zeroPad2d(try $0.tensor("x"), padding: try $0.ints("padding", count: 4, [0, 0, 0, 0]))
    }
    r["reflection_pad2d"] = OpSpec(inputs: ["x"], attrs: ["padding", "padding.*"]) {
        try reflectionPad2d(try $0.tensor("x"), padding: try $0.ints("padding", count: 4, [0, 0, 0, 0]))
    }
    r["upsample_nearest2d"] = OpSpec(inputs: ["x"], attrs: ["scale"]) {
        try upsampleNearest2d(try $0.tensor("x"), scale: try $0.int("scale", 2))
    }
    r["upsample_bilinear2d"] = OpSpec(inputs: ["x"], attrs: ["scale", "align_corners"]) {
        try upsampleBilinear2d(
            try $0.tensor("x"), scale: try $0.int("scale", 2),
            alignCorners: try $0.bool("align_corners", false))
    }
    r["avg_pool2d"] = OpSpec(inputs: ["x"], attrs: ["kernel_size", "stride", "padding"]) {
        let k = try $0.int("kernel_size")
        return try avgPool2d(
            try $0.tensor("x"), kernelSize: k, stride: try $0.int("stride", k), padding: try $0.int("padding", 0))
    }
    r["upfirdn2d"] = OpSpec(inputs: ["x", "filter"], attrs: ["up", "down", "padding", "padding.*", "gain"]) {
        try upfirdn2d(
            try $0.tensor("x"), filter: try $0.tensor("filter"), up: try $0.int("up", 1), down: try $0.int("down", 1),
            padding: try $0.ints("padding", count: 4, [0, 0, 0, 0]), gain: try $0.float("gain", 1))
    }
    r["adain"] = OpSpec(inputs: ["x", "style"], attrs: ["eps"]) {
        try adain(try $0.tensor("x"), style: try $0.tensor("style"), eps: try $0.float("eps", 1e-8))
    }
    r["modulated_conv2d"] = OpSpec(inputs: ["x", "weight", "style"], attrs: ["demodulate", "padding", "eps"]) {
        try modulatedConv2d(
            try $0.tensor("x"), weight: try $0.tensor("weight"), style: try $0.tensor("style"),
            demodulate: try $0.bool("demodulate", true), padding: try $0.int("padding", 0),
            eps: try $0.float("eps", 1e-8))
    }
    r["minibatch_stddev"] = OpSpec(inputs: ["x"], attrs: ["group", "num_channels", "eps"]) {
        try minibatchStddev(
            try $0.tensor("x"), group: try $0.int("group", 4), numChannels: try $0.int("num_channels", 1),
            eps: try $0.float("eps", 1e-8))
    }
    r["bce_with_logits"] = OpSpec(inputs: ["x", "target"], attrs: ["target", "reduction"]) {
        if let t = $0.optional("target") {
            return try bceWithLogits(try $0.tensor("x"), target: t, reduction: try $0.reduction())
        }
        return try bceWithLogits(try $0.tensor("x"), target: try $0.float("target", 1), reduction: try $0.reduction())
    }
    r["mse"] = OpSpec(inputs: ["x", "y"], attrs: ["reduction"]) {
        try mseLoss(try $0.tensor("x"), try $0.tensor("y"), reduction: try $0.reduction())
    }
    r["l1"] = OpSpec(inputs: ["x", "y"], attrs: ["reduction"]) {
        try l1Loss(try $0.tensor("x"), try $0.tensor("y"), reduction: try $0.reduction())
    }
    return r
}()

/// The comma-separated op names, kept for the life of the process.
nonisolated(unsafe) let opNames: UnsafeMutablePointer<CChar> = strdup(opRegistry.keys.sorted().joined(separator: ","))!

/// Runs a registered op after checking every argument name against its spec.
func runOp(_ name: String, inputs: [String: Tensor], attrs: [String: Double]) throws -> Tensor {
    guard let spec = opRegistry[name] else {
        throw SwiftGANError.invalidArgument(
            "unknown op '\(name)'; known ops: \(opRegistry.keys.sorted().joined(separator: ", "))")
    }
    for key in inputs.keys where !OpSpec.accepts(spec.inputs, key) {
        throw SwiftGANError.invalidArgument(
            "\(name): unknown input '\(key)' (expected \(spec.inputs.joined(separator: ", ")))")
    }
    for key in attrs.keys where !OpSpec.accepts(spec.attrs, key) {
        throw SwiftGANError.invalidArgument(
            "\(name): unknown argument '\(key)'"
                + (spec.attrs.isEmpty ? " (it takes none)" : " (expected \(spec.attrs.joined(separator: ", ")))"))
    }
    return try spec.run(OpCall(op: name, inputs: inputs, attrs: attrs))
}

@_cdecl("sg_op")
public func sg_op(
    _ name: UnsafePointer<CChar>?, _ nInputs: Int32, _ inputNames: UnsafePointer<UnsafePointer<CChar>?>?,
    _ inputs: UnsafePointer<OpaquePointer?>?, _ nAttrs: Int32, _ attrNames: UnsafePointer<UnsafePointer<CChar>?>?,
    _ attrValues: UnsafePointer<Double>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let op = try string(name, "name")
        let out = try nonNull(out, "out")
        let tensors = try readNamedTensors(nInputs, inputNames, inputs, allowNull: true)
        Handle.store(try runOp(op, inputs: tensors, attrs: try readAttributes(nAttrs, attrNames, attrValues)), out)
    }
}

@_cdecl("sg_op_names")
public func sg_op_names() -> UnsafePointer<CChar> { UnsafePointer(opNames) }
