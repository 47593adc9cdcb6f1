import SwiftGANCore

/// A model's configuration, declared once: each field is a stored property wrapped in `@Param`, which holds its
/// default (the property's initial value), a one-line doc and the values it accepts. The field's name everywhere
/// outside Swift (Python keyword arguments, CLI options, checkpoints, the C ABI's JSON) is the property's name in
/// snake_case (`zDim` is `z_dim`) unless `@Param` gives another. Everything else is derived from the declaration:
/// the schema (`schema`, exported by `sg_model_config_schema`), decoding from JSON with every type and constraint
/// checked (`decode`), and encoding (`json`). Adding a hyperparameter is one `@Param` line; the model then reads it.
public protocol ModelConfig: Codable, Sendable {
    /// The defaults.
    init()
    /// The model's name in error messages ("DCGAN").
    static var modelName: String { get }
    /// Checks that involve several fields (each field's own type and constraint are checked by `decode`).
    func validate() throws
}

/// One config field, type-erased: what the schema, the decoder and the encoder read from a `@Param`.
public protocol ConfigField: Sendable {
    var doc: String { get }
    var constraint: Constraint? { get }
    /// The name, when it is not the property's name in snake_case.
    var name: String? { get }
    var typeName: String { get }
    var jsonValue: JSONValue { get }
    /// This field with the value `json` holds, checked for type and constraint; `model` and `key` name it in errors.
    func with(_ json: JSONValue, model: String, key: String) throws -> any ConfigField
}

/// A config field: a stored property with its default, a one-line doc, and (for numbers) the values it accepts.
@propertyWrapper
public struct Param<Value: ConfigValue>: ConfigField, Codable {
    public var wrappedValue: Value
    public let doc: String
    public let constraint: Constraint?
    public let name: String?

    /// `@Param("feature maps at resolution r ...", .atLeast(1)) var channelBase = 4096`.
    public init(wrappedValue: Value, _ doc: String, _ constraint: Constraint? = nil, name: String? = nil) {
        (self.wrappedValue, self.doc, self.constraint, self.name) = (wrappedValue, doc, constraint, name)
    }

    public var typeName: String { Value.typeName }
    public var jsonValue: JSONValue { wrappedValue.json }

    public func with(_ json: JSONValue, model: String, key: String) throws -> any ConfigField {
        guard let value = Value.from(json) else {
            let message = "\(model): argument '\(key)' must be \(Param.article(Value.typeName)), got \(json.pythonType)"
            // A pair given as something else is a wrong value rather than a wrong kind (the Python API's ValueError).
            if Value.self == Pair.self { throw SwiftGANError.invalidArgument(message) }
            throw SwiftGANError.invalidType(message)
        }
        if let constraint, let bad = value.numbers.first(where: { !constraint.contains($0) }) {
            let shown = value.numbers.count > 1 ? json.text : (json.isInteger ? json.text : String(bad))
            throw SwiftGANError.invalidArgument("\(key): expected \(constraint.description), got \(shown)")
        }
        if let constraint, let bad = value.words.first(where: { !constraint.contains(word: $0) }) {
            throw SwiftGANError.invalidArgument("\(key): expected \(constraint.description), got '\(bad)'")
        }
        var copy = self
        copy.wrappedValue = value
        return copy
    }

    private static func article(_ type: String) -> String {
        switch type {
        case "int": return "an int"
        case "tuple[float, float]": return "a pair of floats"
        case "list[int]": return "a list of ints"
        default: return type.hasSuffix("| None") ? "\(article(String(type.dropLast(7)))) or None" : "a \(type)"
        }
    }

    /// Decoding builds fields from the defaults (see `ModelConfig.decode`); any other decoder reads the bare value,
    /// which would lose the doc and constraint.
    public init(from decoder: Decoder) throws {
        throw SwiftGANError.internalError("a model config decodes only through ModelConfig.decode")
    }

    /// The bare value.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension ModelConfig {
    /// The fields in declaration order: their names outside Swift and the fields of the defaults.
    public static var fields: [(name: String, field: any ConfigField)] {
        Mirror(reflecting: Self()).children.compactMap { child in
            guard let label = child.label, let field = child.value as? any ConfigField else { return nil }
            return (field.name ?? snakeCase(String(label.dropFirst())), field)  // "_zDim" -> "z_dim"
        }
    }

    /// The schema: one object per field, in declaration order, with its name, Python type, default, doc, and the
    /// bounds, choices and description of the values it accepts.
    public static var schema: JSONValue {
        .array(
            fields.map { name, field in
                var members: [(String, JSONValue)] = [
                    ("name", .string(name)), ("type", .string(field.typeName)),
                    ("default", field.jsonValue), ("doc", .string(field.doc)),
                ]
                if let c = field.constraint {
                    members.append(("accepts", .string(c.description)))
                    if let low = c.minimum { members.append(("minimum", .number(low))) }
                    if let high = c.maximum { members.append(("maximum", .number(high))) }
                    if let choices = c.choices { members.append(("choices", .array(choices.map { .number($0) }))) }
                    if let words = c.words { members.append(("choices", .array(words.map { .string($0) }))) }
                }
                return .object(members)
            })
    }

    /// The config a JSON object describes: absent fields take their defaults; an unknown name, a value of the wrong
    /// type or outside its constraint, or fields that do not fit together throw, naming the field.
    public static func decode(_ json: JSONValue) throws -> Self {
        guard case .object(let members) = json else {
            throw SwiftGANError.invalidType("\(modelName) config: expected a JSON object, got \(json.pythonType)")
        }
        let known = fields
        var given: [String: JSONValue] = [:]
        for (key, value) in members {
            guard known.contains(where: { $0.name == key }) else {
                throw SwiftGANError.invalidArgument(
                    "\(modelName): unknown config '\(key)' (expected \(known.map(\.name).joined(separator: ", ")))")
            }
            given[key] = value
        }
        var decoded: [String: any ConfigField] = [:]  // by Swift property name
        for (child, (name, field)) in zip(Mirror(reflecting: Self()).children, known) {
            let property = String(child.label!.dropFirst())
            decoded[property] = try given[name].map { try field.with($0, model: modelName, key: name) } ?? field
        }
        let config = try Self(from: FieldDecoder(fields: decoded))
        try config.validate()
        return config
    }

    /// Every field's value, as a JSON object in declaration order.
    public var json: JSONValue {
        .object(
            zip(Mirror(reflecting: self).children, Self.fields).compactMap { child, field in
                (child.value as? any ConfigField).map { (field.name, $0.jsonValue) }
            })
    }
}

/// "zDim" -> "z_dim", "mappingLrMultiplier" -> "mapping_lr_multiplier", "r1Gamma" -> "r1_gamma".
func snakeCase(_ name: String) -> String {
    var out = ""
    for ch in name {
        if ch.isUppercase {
            out += "_" + ch.lowercased()
        } else {
            out.append(ch)
        }
    }
    return out
}

/// The decoder behind `ModelConfig.decode`: the synthesized `init(from:)` asks it for each `@Param` by property name,
/// and gets the field already read and checked.
private struct FieldDecoder: Decoder {
    let fields: [String: any ConfigField]
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw FieldDecoder.unsupported }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw FieldDecoder.unsupported }

    static let unsupported = SwiftGANError.internalError("model configs hold only @Param fields")

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: any ConfigField]
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let field = fields[key.stringValue] as? T else { throw FieldDecoder.unsupported }
            return field
        }

        func decodeNil(forKey key: Key) throws -> Bool { false }
        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type, forKey key: Key
        ) throws
            -> KeyedDecodingContainer<NestedKey>
        { throw FieldDecoder.unsupported }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw FieldDecoder.unsupported
        }
        func superDecoder() throws -> any Decoder { throw FieldDecoder.unsupported }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw FieldDecoder.unsupported }
    }
}
