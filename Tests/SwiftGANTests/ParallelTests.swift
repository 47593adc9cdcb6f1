import Glibc
import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// The worker pool behind `parallelFor`: every index runs exactly once, whatever the thread count, inside another
/// loop's chunk (nested loops run on the calling thread) and from several threads at once (one loop runs on the pool,
/// the others on their callers).
final class ParallelTests: XCTestCase {
    /// Runs `parallelFor(count)` and returns how often each index ran.
    private static func counts(_ count: Int, nested: Int = 0) -> [Int] {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: count * Swift.max(1, nested))
        hits.initialize(repeating: 0, count: count * Swift.max(1, nested))
        defer { hits.deallocate() }
        nonisolated(unsafe) let h = hits
        parallelFor(count, costPerItem: 1 << 20) { i in
            if nested == 0 {
                h[i] += 1
                return
            }
            parallelFor(nested, costPerItem: 1 << 20) { j in h[i * nested + j] += 1 }
        }
        return Array(UnsafeBufferPointer(start: hits, count: count * Swift.max(1, nested)))
    }

    func testEveryIndexRunsOnceForAnyThreadCount() throws {
        let threads = Threads.count
        defer { try? Threads.set(threads) }
        for n in [1, 2, 3, 7, 2] {
            try Threads.set(n)
            for count in [2, 3, 5, 64, 1000] {
                XCTAssertEqual(
                    ParallelTests.counts(count), Array(repeating: 1, count: count), "\(n) threads, \(count) items")
            }
            XCTAssertEqual(ParallelTests.counts(9, nested: 5), Array(repeating: 1, count: 45), "\(n) threads, nested")
        }
    }

    func testLoopsFromSeveralThreadsAtOnce() throws {
        let threads = Threads.count
        defer { try? Threads.set(threads) }
        try Threads.set(3)
        let callers = 4, rounds = 300
        let failures = UnsafeMutablePointer<Int>.allocate(capacity: callers)
        failures.initialize(repeating: 0, count: callers)
        defer { failures.deallocate() }
        nonisolated(unsafe) let f = failures
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for round in 0..<rounds
            where ParallelTests.counts(3 + (caller + round) % 40)
                != Array(repeating: 1, count: 3 + (caller + round) % 40)
            {
                f[caller] += 1
            }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: failures, count: callers)), Array(repeating: 0, count: callers))
    }
}
