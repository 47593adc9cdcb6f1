import SwiftGANCore

/// The models the C ABI builds by name, each from its config (`ModelConfig`) and a seed.
public enum ModelKind: String, CaseIterable, Sendable {
    case dcgan, cyclegan, stylegan

    /// The model's configuration type.
    var configType: any ModelConfig.Type {
        switch self {
        case .dcgan: return DCGAN.Config.self
        case .cyclegan: return CycleGAN.Config.self
        case .stylegan: return StyleGAN.Config.self
        }
    }

    /// The kind called `name`, or an error listing the kinds.
    public init(named name: String) throws {
        guard let kind = ModelKind(rawValue: name) else {
            throw SwiftGANError.invalidArgument(
                "kind: unknown model '\(name)'; expected "
                    + ModelKind.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            )
        }
        self = kind
    }

    /// The seed's field, common to every model: declared here once and appended to each model's schema.
    static let seedField: JSONValue = .object([
        ("name", .string("seed")), ("type", .string("int")), ("default", .number("0")),
        ("doc", .string("seeds the initial weights, the training noise and the order of the batches in fit")),
        ("accepts", .string("0 to 18446744073709551615")), ("minimum", .number("0")),
        ("maximum", .number("18446744073709551615")),
    ])

    /// The schema of the model's keyword arguments: its config's fields, then `seed`.
    public var schema: JSONValue {
        guard case .array(let fields) = configType.schema else { return configType.schema }
        return .array(fields + [ModelKind.seedField])
    }

    /// A model built from a JSON object of config fields and `seed` (absent ones take their defaults).
    public func make(_ json: JSONValue) throws -> any GANModel {
        let name = configType.modelName
        guard case .object(var members) = json else {
            throw SwiftGANError.invalidType("\(name) config: expected a JSON object, got \(json.pythonType)")
        }
        var seed: UInt64 = 0
        if let index = members.firstIndex(where: { $0.0 == "seed" }) {
            let value = members.remove(at: index).1
            guard case .number(let text) = value, value.isInteger else {
                throw SwiftGANError.invalidType("\(name): argument 'seed' must be an int, got \(value.pythonType)")
            }
            guard let parsed = UInt64(text) else {
                throw SwiftGANError.invalidArgument("seed: expected an int from 0 to 2**64 - 1, got \(text)")
            }
            seed = parsed
        }
        switch self {
        case .dcgan: return try DCGAN(try DCGAN.Config.decode(.object(members)), seed: seed)
        case .cyclegan: return try CycleGAN(try CycleGAN.Config.decode(.object(members)), seed: seed)
        case .stylegan: return try StyleGAN(try StyleGAN.Config.decode(.object(members)), seed: seed)
        }
    }
}
