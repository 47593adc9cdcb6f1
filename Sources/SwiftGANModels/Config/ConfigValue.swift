import SwiftGANCore

/// What a config field can hold: `Int`, `Float`, `Double`, `Bool`, `String`, `Pair` (Adam's betas), and an optional of
/// any of them (None: a default that depends on other fields). Each knows its JSON form and its Python type name.
public protocol ConfigValue: Codable, Sendable {
    /// The Python type, as the schema and error messages name it ("int", "float", "tuple[float, float]", ...).
    static var typeName: String { get }
    /// The value as JSON.
    var json: JSONValue { get }
    /// The value `json` holds, or nil when it holds another type.
    static func from(_ json: JSONValue) -> Self?
    /// The numbers a constraint checks (none for text; both for a pair; none for an absent optional).
    var numbers: [Double] { get }
    /// The words a constraint checks (a string's value; none for numbers).
    var words: [String] { get }
}

extension ConfigValue {
    public var words: [String] { [] }
}

extension Int: ConfigValue {
    public static var typeName: String { "int" }
    public var json: JSONValue { .number(self) }
    public static func from(_ json: JSONValue) -> Int? {
        guard case .number(let text) = json, json.isInteger else { return nil }
        return Int(text) ?? (text.hasPrefix("-") ? Int.min : Int.max)  // out of range: refused by the constraint
    }
    public var numbers: [Double] { [Double(self)] }
}

extension Float: ConfigValue {
    public static var typeName: String { "float" }
    public var json: JSONValue { .number(self) }
    public static func from(_ json: JSONValue) -> Float? {
        guard case .number(let text) = json else { return nil }
        return Float(text)
    }
    public var numbers: [Double] { [Double(self)] }
}

extension Bool: ConfigValue {
    public static var typeName: String { "bool" }
    public var json: JSONValue { .bool(self) }
    public static func from(_ json: JSONValue) -> Bool? {
        guard case .bool(let value) = json else { return nil }
        return value
    }
    public var numbers: [Double] { [] }
}

extension String: ConfigValue {
    public static var typeName: String { "str" }
    public var json: JSONValue { .string(self) }
    public static func from(_ json: JSONValue) -> String? {
        guard case .string(let value) = json else { return nil }
        return value
    }
    public var numbers: [Double] { [] }
    public var words: [String] { [self] }
}

extension Array: ConfigValue where Element == Int {
    public static var typeName: String { "list[int]" }
    public var json: JSONValue { .array(map(\.json)) }
    public static func from(_ json: JSONValue) -> [Int]? {
        guard case .array(let items) = json else { return nil }
        let values = items.compactMap(Int.from)
        return values.count == items.count ? values : nil
    }
    public var numbers: [Double] { map(Double.init) }
}

extension Optional: ConfigValue where Wrapped: ConfigValue {
    public static var typeName: String { "\(Wrapped.typeName) | None" }
    public var json: JSONValue { map(\.json) ?? .null }
    public static func from(_ json: JSONValue) -> Wrapped?? {
        if json == .null { return .some(.none) }
        return Wrapped.from(json).map { .some($0) }
    }
    public var numbers: [Double] { self?.numbers ?? [] }
    public var words: [String] { self?.words ?? [] }
}

extension Double: ConfigValue {
    public static var typeName: String { "float" }
    public var json: JSONValue { .number(self) }
    public static func from(_ json: JSONValue) -> Double? {
        guard case .number(let text) = json else { return nil }
        return Double(text)
    }
    public var numbers: [Double] { [self] }
}

/// Two floats in double precision, such as Adam's (beta1, beta2): a list of two numbers in JSON, a tuple in Python.
public struct Pair: ConfigValue, Equatable {
    public var first: Double, second: Double

    public init(_ first: Double, _ second: Double) { (self.first, self.second) = (first, second) }

    public static var typeName: String { "tuple[float, float]" }
    public var json: JSONValue { .array([.number(first), .number(second)]) }
    public static func from(_ json: JSONValue) -> Pair? {
        guard case .array(let items) = json, items.count == 2, let a = Double.from(items[0]),
            let b = Double.from(items[1])
        else { return nil }
        return Pair(a, b)
    }
    public var numbers: [Double] { [first, second] }
}

/// The values a numeric field accepts, with the words that describe them in the schema and in error messages.
public struct Constraint: Sendable {
    /// What the field expects: "1 to 64", "16, 32, 64 or 128", "a power of two from 8 to 256", ...
    public let description: String
    /// Bounds and choices for the schema (nil where there is none).
    public let minimum: Double?, maximum: Double?, choices: [Double]?
    /// The words a text field accepts (nil: a numeric constraint).
    public let words: [String]?
    private let accepts: @Sendable (Double) -> Bool

    /// Whether `value` is accepted.
    public func contains(_ value: Double) -> Bool { value.isFinite && accepts(value) }

    /// Whether the word `value` is accepted.
    public func contains(word value: String) -> Bool { words?.contains(value) ?? true }

    private init(
        _ description: String, minimum: Double? = nil, maximum: Double? = nil, choices: [Double]? = nil,
        words: [String]? = nil, _ accepts: @escaping @Sendable (Double) -> Bool
    ) {
        (self.description, self.minimum, self.maximum, self.choices, self.words, self.accepts) =
            (description, minimum, maximum, choices, words, accepts)
    }

    /// One of `words` (a text field).
    public static func oneOf(_ words: [String]) -> Constraint {
        let quoted = words.map { "'\($0)'" }
        let text =
            quoted.count > 1 ? quoted.dropLast().joined(separator: ", ") + " or " + quoted.last! : quoted.joined()
        return Constraint(text, words: words) { _ in false }
    }

    private static func format(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }

    /// The same values, described by `text` ("a probability" for 0 to 1).
    public func described(_ text: String) -> Constraint {
        Constraint(text, minimum: minimum, maximum: maximum, choices: choices, words: words, accepts)
    }

    /// From `low` to `high`, both included.
    public static func range(_ low: Double, _ high: Double) -> Constraint {
        Constraint("\(format(low)) to \(format(high))", minimum: low, maximum: high) { $0 >= low && $0 <= high }
    }

    /// At least `low`.
    public static func atLeast(_ low: Double) -> Constraint {
        Constraint(low == 0 ? "a non-negative number" : "a number >= \(format(low))", minimum: low) { $0 >= low }
    }

    /// Above `low` (excluded).
    public static func above(_ low: Double) -> Constraint {
        Constraint(low == 0 ? "a positive number" : "a number > \(format(low))", minimum: low) { $0 > low }
    }

    /// In [low, high): Adam's betas.
    public static func halfOpen(_ low: Double, _ high: Double) -> Constraint {
        Constraint("values in [\(format(low)), \(format(high)))", minimum: low, maximum: high) {
            $0 >= low && $0 < high
        }
    }

    /// One of `values`.
    public static func oneOf(_ values: [Double]) -> Constraint {
        let words = values.map(format)
        let text = words.count > 1 ? words.dropLast().joined(separator: ", ") + " or " + words.last! : words.joined()
        return Constraint(text, minimum: values.min(), maximum: values.max(), choices: values) { values.contains($0) }
    }

    /// A power of two from `low` to `high`.
    public static func powerOfTwo(_ low: Int, _ high: Int) -> Constraint {
        let values = (0..<63).map { 1 << $0 }.filter { $0 >= low && $0 <= high }.map(Double.init)
        return Constraint(
            "a power of two from \(low) to \(high)", minimum: Double(low), maximum: Double(high),
            choices: values
        ) { values.contains($0) }
    }

    /// A multiple of `step` from `low` to `high`.
    public static func multiple(of step: Int, from low: Int, to high: Int) -> Constraint {
        Constraint("a multiple of \(step) from \(low) to \(high)", minimum: Double(low), maximum: Double(high)) {
            $0 >= Double(low) && $0 <= Double(high) && $0.truncatingRemainder(dividingBy: Double(step)) == 0
        }
    }
}
