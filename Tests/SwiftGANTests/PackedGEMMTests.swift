import XCTest

@testable import SwiftGANCore

/// The packed GEMM's micro-kernel and its operand layouts against a plain triple loop, on sizes that leave partial
/// register tiles in both directions (last row panels of 1, 4, 7 and 8 rows: the 4- and 8-row kernels on their own and
/// through the edge tile), with A packed from a matrix and from its transpose, B from its transpose, and products
/// written and accumulated.
final class PackedGEMMTests: XCTestCase {
    func testProductsMatchTheTripleLoopAtEverySizeAndEdge() {
        var generator = SystemRandomNumberGenerator()
        for (m, n, k) in [
            (12, 32, 1), (25, 70, 19), (7, 5, 33), (36, 96, 64), (13, 33, 3), (16, 64, 9), (20, 45, 5), (8, 32, 17),
        ] {
            let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
            let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &generator) }
            // A packed from itself and from its transpose; rows of its last panel past M and columns of B's past N stay
            // NaN where nothing writes them: they may reach C only past its edges.
            let transposed = (0..<(m * k)).map { a[($0 % m) * k + $0 / m] }
            var aPanels = [Float](repeating: .nan, count: PackedGEMM.rowPanelsCount(m: m, k: k))
            var aPanelsFromTransposed = aPanels
            PackedGEMM.packRows(a, lda: k, m: m, k: k, into: &aPanels)
            PackedGEMM.packRows(transposed, lda: m, transposed: true, m: m, k: k, into: &aPanelsFromTransposed)
            XCTAssertEqual(aPanels, aPanelsFromTransposed, "\(m)x\(k)")
            var bPanels = [Float](repeating: .nan, count: PackedGEMM.columnPanelsCount(k: k, n: n))
            for kk in 0..<k {
                for j in 0..<n { bPanels[PackedGEMM.columnPanelOffset(k: kk, column: j, depth: k)] = b[kk * n + j] }
            }
            // B packed from its transpose (N x K, leading dimension K + 2): the same panels, zero past column N.
            let ldbt = k + 2
            let bTransposed = (0..<(n * ldbt)).map { $0 % ldbt < k ? b[($0 % ldbt) * n + $0 / ldbt] : .nan }
            var bPanelsFromTransposed = [Float](repeating: .nan, count: bPanels.count)
            PackedGEMM.packColumns(transposed: bTransposed, ldb: ldbt, k: k, n: n, into: &bPanelsFromTransposed)
            for (i, (packed, expected)) in zip(bPanelsFromTransposed, bPanels).enumerated() {
                XCTAssertEqual(packed, expected.isNaN ? 0 : expected, "\(k)x\(n) B panels at \(i)")
            }
            let ldc = n + 3
            var c = [Float](repeating: -7, count: m * ldc)
            let panels = (m + PackedGEMM.rows - 1) / PackedGEMM.rows
            PackedGEMM.multiply(m: m, n: n, k: k, a: aPanels, b: bPanels, c: &c, ldc: ldc, rowPanels: 0..<panels)
            var sums = c
            PackedGEMM.multiply(
                m: m, n: n, k: k, a: aPanels, b: bPanelsFromTransposed, c: &sums, ldc: ldc, rowPanels: 0..<panels,
                accumulate: true)
            for i in 0..<m {
                for j in 0..<n {
                    let expected = (0..<k).reduce(Float(0)) { $0 + a[i * k + $1] * b[$1 * n + j] }
                    XCTAssertEqual(c[i * ldc + j], expected, accuracy: 1e-4, "\(m)x\(n)x\(k) (\(i), \(j))")
                    XCTAssertEqual(sums[i * ldc + j], 2 * c[i * ldc + j], "\(m)x\(n)x\(k) accumulated (\(i), \(j))")
                }
                for j in n..<ldc {
                    XCTAssertEqual(c[i * ldc + j], -7, "\(m)x\(n)x\(k): C's padding written")
                    XCTAssertEqual(sums[i * ldc + j], -7, "\(m)x\(n)x\(k): C's padding accumulated")
                }
            }
        }
    }
}
