import XCTest

@testable import SwiftGANCore
@testable import SwiftGANModels

/// Model configs declared once with @Param: their schema, decoding with checks that name the field, and encoding.
final class ConfigTests: XCTestCase {
    func testSchemaListsEveryFieldInOrderWithItsDefault() throws {
        let names = DCGAN.Config.fields.map(\.name)
        XCTAssertEqual(names, ["image_size", "channels", "nz", "ngf", "ndf", "lr", "betas"])
        XCTAssertEqual(
            CycleGAN.Config.fields.map(\.name).filter { $0.hasPrefix("lambda") },
            ["lambda_A", "lambda_B", "lambda_identity"])
        XCTAssertTrue(StyleGAN.Config.fields.map(\.name).contains("mapping_lr_multiplier"))
        guard case .array(let fields) = ModelKind.stylegan.schema else { return XCTFail("schema is not a list") }
        let byName = Dictionary(
            uniqueKeysWithValues: fields.compactMap { field -> (String, [(String, JSONValue)])? in
                guard case .object(let members) = field, case .string(let name) = members[0].1 else { return nil }
                return (name, members)
            })
        XCTAssertEqual(byName.count, StyleGAN.Config.fields.count + 1)  // and the seed
        let resolution = Dictionary(uniqueKeysWithValues: byName["resolution"]!)
        XCTAssertEqual(resolution["type"], .string("int"))
        XCTAssertEqual(resolution["default"], .number("32"))
        XCTAssertEqual(resolution["accepts"], .string("a power of two from 4 to 1024"))
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: byName["r1_gamma"]!)["default"], .null)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: byName["lr"]!)["default"], .number("0.002"))
        XCTAssertEqual(
            Dictionary(uniqueKeysWithValues: byName["betas"]!)["default"], .array([.number("0.0"), .number("0.99")]))
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: byName["seed"]!)["type"], .string("int"))
    }

    func testDecodingFillsDefaultsChecksAndRoundTrips() throws {
        let c = try StyleGAN.Config.decode(
            try JSONValue.parse(#"{"resolution": 16, "r1_interval": 4, "lr": 1}"#, "config"))
        XCTAssertEqual(c.resolution, 16)
        XCTAssertEqual(c.r1Interval, 4)
        XCTAssertEqual(c.lr, 1)
        XCTAssertEqual(c.zDim, 256)
        XCTAssertNil(c.r1Gamma)
        XCTAssertEqual(c.gamma, 0.0002 * 16 * 16 / 32)
        let again = try StyleGAN.Config.decode(c.json)
        XCTAssertEqual(again.json, c.json)
        XCTAssertEqual(try DCGAN.Config.decode(.object([])).json, DCGAN.Config().json)
    }

    func testBadConfigsNameTheField() throws {
        func message(_ text: String) -> String {
            do {
                _ = try DCGAN.Config.decode(try JSONValue.parse(text, "config"))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message(#"{"image_size": 20}"#), "image_size: expected 16, 32, 64 or 128, got 20")
        XCTAssertEqual(message(#"{"image_size": 32.0}"#), "DCGAN: argument 'image_size' must be an int, got float")
        XCTAssertEqual(message(#"{"lr": "fast"}"#), "DCGAN: argument 'lr' must be a float, got str")
        XCTAssertEqual(message(#"{"lr": -1}"#), "lr: expected a non-negative number, got -1")
        XCTAssertEqual(message(#"{"betas": [0.5, 1.5]}"#), "betas: expected values in [0, 1), got [0.5, 1.5]")
        XCTAssertEqual(message(#"{"betas": 0.5}"#), "DCGAN: argument 'betas' must be a pair of floats, got float")
        XCTAssertTrue(message(#"{"ngf": 4, "nfg": 4}"#).hasPrefix("DCGAN: unknown config 'nfg' (expected image_size,"))
        XCTAssertTrue(message(#"{"ngf": 4"#).hasPrefix("config: invalid JSON"))
        XCTAssertEqual(
            message(#"{"channels": 100000000000000000000}"#), "channels: expected 1 to 64, got 100000000000000000000")
        XCTAssertThrowsError(try StyleGAN.Config.decode(try JSONValue.parse(#"{"augment_p": 0.2}"#, "config")))
        XCTAssertThrowsError(try StyleGAN.Config.decode(try JSONValue.parse(#"{"version": 1, "pl_weight": 2}"#, "c")))
        XCTAssertNoThrow(try StyleGAN.Config.decode(try JSONValue.parse(#"{"version": 1, "pl_weight": null}"#, "c")))
    }

    func testModelKindsBuildFromJSONWithASeed() throws {
        let json = try JSONValue.parse(
            #"{"image_size": 16, "channels": 1, "ngf": 4, "ndf": 4, "seed": 18446744073709551615}"#, "c")
        let model = try ModelKind.dcgan.make(json)
        XCTAssertEqual(model.rng.seed, UInt64.max)
        XCTAssertThrowsError(try ModelKind.dcgan.make(try JSONValue.parse(#"{"seed": -1}"#, "c")))
        XCTAssertThrowsError(try ModelKind(named: "biggan"))
    }
}
