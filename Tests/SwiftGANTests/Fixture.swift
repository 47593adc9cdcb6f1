import Foundation

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// A safetensors file of ../Fixtures: its float32 tensors, its metadata and the JSON "spec" in it.
struct Fixture {
    let tensors: [String: Tensor]
    let metadata: [String: String]
    let spec: [String: Any]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    init(_ relativePath: String) throws {
        let data = try Data(contentsOf: Fixture.root.appendingPathComponent(relativePath))
        let headerLength = Int(data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        var tensors: [String: Tensor] = [:]
        var spec: [String: Any] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            let entry = value as! [String: Any]
            if name == "__metadata__" {
                metadata = entry.compactMapValues { $0 as? String }
                if let s = entry["spec"] as? String {
                    spec = try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
                }
                continue
            }
            guard entry["dtype"] as? String == "F32" else { continue }
            let shape = entry["shape"] as! [Int]
            let offsets = entry["data_offsets"] as! [Int]
            let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
            let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            tensors[name] = try Tensor(values, shape: shape)
        }
        self.tensors = tensors
        self.metadata = metadata
        self.spec = spec
    }

    /// Names of the fixture files in a folder.
    static func names(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
            .filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) }.sorted()
    }

    subscript(_ name: String) -> Tensor { tensors[name]! }
    func int(_ key: String, _ fallback: Int) -> Int { (spec[key] as? Int) ?? fallback }
    func float(_ key: String, _ fallback: Float) -> Float { (spec[key] as? Double).map(Float.init) ?? fallback }
    func bool(_ key: String, _ fallback: Bool) -> Bool { (spec[key] as? Bool) ?? fallback }
}

/// max |a - b| / max |b|: the relative error the project's tolerances are stated in.
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    var err: Float = 0, scale: Float = 0
    for i in 0..<a.count {
        err = max(err, Swift.abs(a.data[i] - b.data[i]))
        scale = max(scale, Swift.abs(b.data[i]))
    }
    return scale == 0 ? err : err / scale
}
