import XCTest

@testable import SwiftGANCore
@testable import SwiftGANModels

/// The published fixtures (Tests/Fixtures/pretrained: files written by NVlabs' and rosinality's own code) computed by
/// the engine: ws within 1e-5 and images and D's logits within 1e-4 of max |reference|. The tensors come from the
/// `*_state.safetensors` files that swiftgan's Python reader made of them (scripts/make_swift_pretrained_fixtures.py),
/// since the unpickler lives in Python.
final class PretrainedTests: XCTestCase {
    /// A trainable StyleGAN of the config in `name`'s state file, holding its tensors (and those of `extra`'s).
    func model(_ name: String, alsoFrom extra: String? = nil) throws -> StyleGAN {
        let file = try Fixture("pretrained/\(name)_state.safetensors")
        guard case .object(let members) = try JSONValue.parse(file.metadata["config"]!, "config") else {
            throw SwiftGANError.invalidArgument("config: not an object")
        }
        // The reader writes None where a published file leaves a setting open; the config keeps its default there
        // unless the field itself takes None.
        let optional = Set(StyleGAN.Config.fields.filter { $0.field.typeName.hasSuffix("None") }.map(\.name))
        let config = try StyleGAN.Config.decode(.object(members.filter { $0.1 != .null || optional.contains($0.0) }))
        let model = try StyleGAN(config, seed: 0)
        var tensors = file.tensors
        if let extra { tensors.merge(try Fixture("pretrained/\(extra)_state.safetensors").tensors) { mine, _ in mine } }
        for (name, t) in model.stateTensors {
            guard let source = tensors[name] else { continue }
            XCTAssertEqual(source.count, t.count, name)
            t.data.update(from: source.data, count: t.count)
        }
        XCTAssertTrue(model.stateTensors.contains { $0.0 == "G_ema.synthesis.b4.const" && tensors[$0.0] != nil })
        return model
    }

    func relative(_ got: Tensor, _ reference: Tensor) -> Float {
        XCTAssertEqual(got.count, reference.count)
        let scale = reference.values.map(Swift.abs).max()!
        return zip(got.values, reference.values).map { Swift.abs($0 - $1) }.max()! / scale
    }

    /// ws, images (constant noise, psi 1; and per-layer ws) and D's logits of one fixture against its references.
    func checkParity(_ model: StyleGAN, _ reference: String, wKey: String = "w_psi1") throws {
        let ref = try Fixture("pretrained/\(reference)_ref.safetensors")
        let labels = ref.tensors["c"]
        let ws = try model.mapping(ref["z"], labels: labels)
        let w = ref[wKey].rank == 2 ? try narrow(ws, dim: 1, start: 0, length: 1) : ws
        XCTAssertLessThan(relative(w, ref[wKey]), 1e-5, "\(reference) ws")
        XCTAssertLessThan(relative(try model.synthesis(ws), ref["img_psi1_const"]), 1e-4, "\(reference) images")
        XCTAssertLessThan(
            relative(try model.synthesis(ref["ws_rand"]), ref["img_ws_rand"]), 1e-4, "\(reference) ws_rand")
        let logits = try model.discriminate(ref["d_img"], labels: ref.tensors["d_c"])
        XCTAssertLessThan(relative(logits, ref["d_logits"]), 1e-4, "\(reference) D")
    }

    func testNVlabsSnapshot() throws {
        try checkParity(try model("nvlabs_snapshot_64"), "nvlabs_snapshot_64")
    }

    func testNVlabsResnetConditionalAndOrig() throws {
        try checkParity(try model("nvlabs_resnet_cond_32"), "nvlabs_resnet_cond_32")
        try checkParity(try model("nvlabs_orig_16"), "nvlabs_orig_16")
    }

    func testRosinality() throws {
        // convert_weight.py's file has G_ema with latent_avg; train.py's has D.
        try checkParity(try model("rosinality_64_convert_legacy", alsoFrom: "rosinality_64_train"), "rosinality_64")
    }
}
