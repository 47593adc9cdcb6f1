import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// Sizes no machine can hold are refused with `outOfMemory` before anything is allocated (a Swift array that
/// cannot be allocated aborts the process instead).
final class HugeSizeTests: XCTestCase {
    private func assertOutOfMemory(_ body: @autoclosure () throws -> Tensor, _ what: String) {
        XCTAssertThrowsError(try body(), what) { error in
            guard case SwiftGANError.outOfMemory = error else { return XCTFail("\(what): \(error)") }
        }
    }

    func testShapesBeyondTheLimitAreOutOfMemoryAndNegativeOnesInvalid() throws {
        assertOutOfMemory(try Tensor(uninitialized: [1 << 40, 1 << 40]), "2**80 elements")
        assertOutOfMemory(try Tensor(zeros: [1 << 33]), "2**33 elements")
        XCTAssertThrowsError(try Tensor(uninitialized: [2, -1])) { error in
            guard case SwiftGANError.invalidArgument = error else { return XCTFail("\(error)") }
        }
        let available = try XCTUnwrap(Storage.availableBytes())
        XCTAssertThrowsError(try Storage.checkAllocation(available / 4 + (1 << 26), "more than is available")) {
            error in
            guard case SwiftGANError.outOfMemory = error else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try Storage.checkAllocation(1 << 20, "4 MB"))
    }

    func testResamplesCheckTheirOutputBeforeBuildingIndexTables() throws {
        let x = try Tensor(zeros: [1, 1, 1, 1])
        assertOutOfMemory(try zeroPad2d(x, padding: [0, 0, (1 << 31) - 1, (1 << 31) - 1]), "zero pad")
        assertOutOfMemory(try zeroPad2d(x, padding: [1 << 30, 1 << 30, 1 << 30, 1 << 30]), "zero pad both sides")
        assertOutOfMemory(try upsampleNearest2d(try Tensor(zeros: [1, 1, 1 << 22, 1]), scale: 64), "upsample")
        let pooled = try avgPool2d(try Tensor(zeros: [1, 1, 4, 4]), kernelSize: (1 << 31) - 2, padding: (1 << 30) - 1)
        XCTAssertEqual(pooled.shape, [1, 1, 1, 1])  // visits the 16 input taps, not 2**31 of them
    }

    func testAllocationBudgetCapsOnlyItsThread() throws {
        // Storage inside the budget is fine; the first request past it throws; other threads are not capped.
        try AllocationBudget.with(1_000, "budgeted") {
            XCTAssertNoThrow(try Tensor(zeros: [600]))
            assertOutOfMemory(try Tensor(zeros: [600]), "past the budget")
            let outcome = Outcome(), group = DispatchGroup()
            DispatchQueue.global().async(group: group) {
                do { _ = try Tensor(zeros: [10_000]) } catch { outcome.error = error }
            }
            group.wait()
            XCTAssertNil(outcome.error)
        }
        XCTAssertNoThrow(try Tensor(zeros: [10_000]))  // the cap ends with the call
    }
}

/// What another thread's call threw, if anything.
private final class Outcome: @unchecked Sendable {
    var error: Error?
}
