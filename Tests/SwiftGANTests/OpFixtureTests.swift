import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// Every case of Tests/Fixtures/ops: forward output and every input gradient match PyTorch within 1e-4.
final class OpFixtureTests: XCTestCase {
    /// Runs the fixture's op on its inputs (leaves that require grad), as the Swift API spells it.
    func run(_ f: Fixture, _ inputs: [String: Tensor]) throws -> Tensor {
        let x = inputs["x"]
        switch f.spec["op"] as! String {
        case "conv2d":
            return try conv2d(
                x!, weight: inputs["weight"]!, bias: inputs["bias"], stride: f.int("stride", 1),
                padding: f.int("padding", 0))
        case "conv_transpose2d":
            return try convTranspose2d(
                x!, weight: inputs["weight"]!, bias: inputs["bias"], stride: f.int("stride", 1),
                padding: f.int("padding", 0), outputPadding: f.int("output_padding", 0))
        case "batch_norm":
            return try batchNorm(
                x!, weight: inputs["weight"], bias: inputs["bias"], training: f.bool("training", false),
                eps: f.float("eps", 1e-5))
        case "instance_norm": return try instanceNorm(x!, eps: f.float("eps", 1e-5))
        case "linear": return try linear(x!, weight: inputs["weight"]!, bias: inputs["bias"])
        case "relu": return try relu(x!)
        case "leaky_relu": return try leakyRelu(x!, negativeSlope: f.float("slope", 0.01))
        case "tanh": return try tanh(x!)
        case "sigmoid": return try sigmoid(x!)
        case "softplus": return try softplus(x!)
        case "avg_pool2d": return try avgPool2d(x!, kernelSize: f.int("kernel", 2))
        case "upsample":
            return f.spec["mode"] as! String == "bilinear"
                ? try upsampleBilinear2d(x!, scale: f.int("scale", 2), alignCorners: f.bool("align_corners", false))
                : try upsampleNearest2d(x!, scale: f.int("scale", 2))
        case "clamp":
            return try clamp(
                x!, min: f.float("min", -.greatestFiniteMagnitude), max: f.float("max", .greatestFiniteMagnitude))
        case "permute": return try permute(x!, f.spec["dims"] as! [Int])
        case "reflection_pad2d":
            return try reflectionPad2d(x!, padding: Array(repeating: f.int("padding", 0), count: 4))
        case "adain": return try adain(x!, style: inputs["style"]!)
        case "modulated_conv2d":
            return try modulatedConv2d(
                x!, weight: inputs["weight"]!, style: inputs["style"]!, demodulate: f.bool("demodulate", true),
                padding: f.int("padding", 0), eps: f.float("eps", 1e-8))
        case "minibatch_stddev": return try minibatchStddev(x!, group: f.int("group", 4), eps: f.float("eps", 1e-8))
        case "bce_with_logits": return try bceWithLogits(x!, target: f.float("target", 1))
        case "mse": return try mseLoss(x!, inputs["y"]!)
        case "l1": return try l1Loss(x!, inputs["y"]!)
        case "r1_penalty": return try r1PenaltyTinyD(inputs)
        case let op: throw SwiftGANError.invalidArgument("no test mapping for op \(op)")
        }
    }

    /// The double-backward case: mean_b ||d sum(D(x)) / dx_b||^2 for D = conv(s2, p1) + b1 -> lrelu(0.2) -> conv ->
    /// mean.
    func r1PenaltyTinyD(_ inputs: [String: Tensor]) throws -> Tensor {
        let x = inputs["x"]!
        var h = try leakyRelu(
            try conv2d(x, weight: inputs["w1"]!, bias: inputs["b1"]!, stride: 2, padding: 1), negativeSlope: 0.2)
        h = try mean(try conv2d(h, weight: inputs["w2"]!), axes: [1, 2, 3])
        let gx = try Autograd.grad([try sum(h)], wrt: [x], createGraph: true)[0]!
        return try reshape(try mean(try sum(try square(gx), axes: [1, 2, 3])), [1])
    }

    /// The shared fixtures (ops/) and those this project computed with PyTorch itself (computed/).
    func testEveryOpFixture() throws {
        let names =
            try Fixture.names(in: "ops").map { "ops/\($0)" } + Fixture.names(in: "computed").map { "computed/\($0)" }
        XCTAssertGreaterThanOrEqual(names.count, 31)
        for name in names {
            let f = try Fixture("\(name).safetensors")
            var inputs: [String: Tensor] = [:]
            for (key, t) in f.tensors where key.hasPrefix("in.") {
                let leaf = try t.copy()
                try leaf.setRequiresGrad(true)
                inputs[String(key.dropFirst(3))] = leaf
            }
            let out = try run(f, inputs)
            XCTAssertLessThan(relativeError(out, f["out"]), 1e-4, "\(name): forward")
            let gradNames = f.tensors.keys.filter { $0.hasPrefix("grad.") }.sorted()
            XCTAssertFalse(gradNames.isEmpty, name)
            let wrt = gradNames.map { inputs[String($0.dropFirst(5))]! }
            let grads = try Autograd.grad([out], seeds: [f["grad_out"]], wrt: wrt)
            for (gname, g) in zip(gradNames, grads) {
                // No path to an input (b1 of r1 reaches the penalty only through a piecewise-constant mask): zero.
                let value = try g ?? Tensor(zeros: f[gname].shape)
                XCTAssertLessThan(relativeError(value, f[gname]), 1e-4, "\(name): \(gname)")
            }
        }
    }
}
