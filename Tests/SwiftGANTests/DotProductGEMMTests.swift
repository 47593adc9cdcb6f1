import XCTest

@testable import SwiftGANCore

/// The dot-product kernel of the im2col weight gradients against a plain triple loop: partial register tiles in both
/// directions, K shorter than a vector, with a tail past whole vectors, and longer than a block of K; padded leading
/// dimensions, and C accumulated onto what it held.
final class DotProductGEMMTests: XCTestCase {
    func testProductsAddTheTripleLoopAtEverySizeAndEdge() {
        var generator = SystemRandomNumberGenerator()
        let depth = DotProductGEMM.depth
        for (m, n, k) in [(4, 6, 16), (9, 13, 37), (1, 1, 3), (8, 12, depth + 21), (13, 20, 2 * depth + 16)] {
            let (lda, ldb, ldc) = (k + 3, k + 5, n + 2)
            let a = (0..<(m * lda)).map { _ in Float.random(in: -1...1, using: &generator) }
            let b = (0..<(n * ldb)).map { _ in Float.random(in: -1...1, using: &generator) }
            let start = (0..<(m * ldc)).map { _ in Float.random(in: -1...1, using: &generator) }
            var c = start
            DotProductGEMM.addProduct(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: ldc)
            for i in 0..<m {
                for j in 0..<ldc {
                    guard j < n else {
                        XCTAssertEqual(c[i * ldc + j], start[i * ldc + j], "\(m)x\(n)x\(k): C's padding written")
                        continue
                    }
                    let dot = (0..<k).reduce(Double(0)) { $0 + Double(a[i * lda + $1]) * Double(b[j * ldb + $1]) }
                    XCTAssertEqual(
                        Double(c[i * ldc + j]), Double(start[i * ldc + j]) + dot,
                        accuracy: 1e-4 * Double(k).squareRoot(),
                        "\(m)x\(n)x\(k) (\(i), \(j))")
                }
            }
        }
    }
}
