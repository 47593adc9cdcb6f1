import XCTest

@testable import SwiftGANCore

/// The vector helpers the Winograd transforms build on, against plain loops.
final class VectorTests: XCTestCase {
    /// Splitting a line into four phases: every column lands where the contract says, at every length (whole and
    /// partial 32-column blocks) and shift; entries before the first column are untouched, and those after the last
    /// are untouched or zero.
    func testDeinterleaveIntoFourPhasesPlacesEveryColumn() {
        for count in [1, 3, 8, 31, 32, 33, 45, 64, 70, 128] {
            for shift in 0...5 {
                let line = (0..<count).map { Float($0 + 1) }
                let stride = (count + shift + 3) / 4 + 9
                var phases = [Float](repeating: -1, count: 4 * stride)
                deinterleave(line, count, shift: shift, phases: 4, into: &phases, stride: stride)
                var expected = [Float?](repeating: nil, count: 4 * stride)
                for col in 0..<count { expected[(col + shift) % 4 * stride + (col + shift) / 4] = line[col] }
                for (index, value) in phases.enumerated() {
                    if let want = expected[index] {
                        XCTAssertEqual(value, want, "count \(count), shift \(shift), entry \(index)")
                    } else {
                        let afterLast = index % stride > (count - 1 + shift) / 4 - 1
                        XCTAssert(value == -1 || afterLast && value == 0, "count \(count), shift \(shift), \(index)")
                    }
                }
            }
        }
    }

    /// Merging even and odd columns into a line (written or added) at lengths that end in every kind of block (16, 8
    /// and single columns); nothing past the line is written.
    func testInterleaveWritesAndAddsEveryColumn() {
        for count in [1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 33] {
            let even = (0..<(count + 1) / 2).map { Float(2 * $0 + 1) }, odd = (0..<count / 2).map { Float(2 * $0 + 2) }
            for adding in [false, true] {
                var line = [Float](repeating: 100, count: count + 8)
                interleave(even, odd, count, into: &line, adding: adding)
                for col in 0..<(count + 8) {
                    let expected = col < count ? Float(col + 1) + (adding ? 100 : 0) : 100
                    XCTAssertEqual(line[col], expected, "count \(count), adding \(adding), column \(col)")
                }
            }
        }
    }

    /// A partial store writes exactly the first n lanes, for every n.
    func testStoreWritesExactlyTheFirstLanes() {
        let v = SIMD8<Float>(1, 2, 3, 4, 5, 6, 7, 8)
        for n in 0...8 {
            var line = [Float](repeating: -1, count: 10)
            line.withUnsafeMutableBufferPointer { store8(v, $0.baseAddress! + 1, n) }
            XCTAssertEqual(line, [-1] + (0..<9).map { $0 < n ? Float($0 + 1) : -1 }, "n \(n)")
        }
    }

    /// A partial load reads exactly the first n floats and zeroes the other lanes, for every n.
    func testLoadReadsExactlyTheFirstFloats() {
        let line: [Float] = [-1, 1, 2, 3, 4, 5, 6, 7, 8, -1]
        for n in 0...8 {
            let v = line.withUnsafeBufferPointer { load8($0.baseAddress! + 1, n) }
            XCTAssertEqual((0..<8).map { v[$0] }, (0..<8).map { $0 < n ? Float($0 + 1) : 0 }, "n \(n)")
        }
    }
}
