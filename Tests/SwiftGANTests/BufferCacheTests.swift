import Glibc
import XCTest

@testable import SwiftGANCore

/// The cache of freed buffers: reuse by size (its own, else the smallest larger one), the least recently freed evicted
/// first, and its limit.
final class BufferCacheTests: XCTestCase {
    private var savedLimit = 0

    override func setUp() {
        savedLimit = BufferCache.limitBytes
        BufferCache.clear()  // with Scratch's idle buffers, so that these tests see only their own
    }

    override func tearDown() {
        BufferCache.limitBytes = savedLimit
        BufferCache.clear()
    }

    private func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        malloc(count * MemoryLayout<Float>.stride)!.bindMemory(to: Float.self, capacity: count)
    }

    /// Buffers of 4 MB and more start on a huge page (where huge pages are requested, not given to every allocation);
    /// smaller ones on a cache line.
    func testLargeBuffersStartOnAHugePage() throws {
        BufferCache.limitBytes = 0  // fresh allocations, not cached ones
        let large = try Storage(uninitialized: Storage.hugePageBytes / MemoryLayout<Float>.stride + 5)
        XCTAssertEqual(Int(bitPattern: large.pointer) % Storage.hugePageSize, 0)
        large.pointer[large.count - 1] = 1  // the whole buffer is usable
        let small = try Storage(uninitialized: 1000)
        XCTAssertEqual(Int(bitPattern: small.pointer) % 64, 0)
    }

    func testReusesBySizeAndEvictsTheLeastRecentlyFreed() {
        let small = BufferCache.minimumCount, large = 2 * BufferCache.minimumCount
        BufferCache.limitBytes = 4 * large * MemoryLayout<Float>.stride
        let first = buffer(large), second = buffer(small), third = buffer(large)
        XCTAssertTrue(BufferCache.give(first, large))
        XCTAssertTrue(BufferCache.give(second, small))
        XCTAssertTrue(BufferCache.give(third, large))
        XCTAssertEqual(BufferCache.bytes, (2 * large + small) * MemoryLayout<Float>.stride)
        XCTAssertNil(BufferCache.take(large + 1), "none is large enough")
        XCTAssertEqual(BufferCache.take(small)?.0, second, "its own size first, though larger ones are cached")
        XCTAssertTrue(BufferCache.give(second, small))
        XCTAssertEqual(BufferCache.take(large)?.0, third, "the most recently freed of a size comes back first")
        XCTAssertTrue(BufferCache.give(third, large))
        let larger = BufferCache.take(small + 1)
        XCTAssertEqual(larger?.0, third, "else the smallest larger size")
        XCTAssertEqual(larger?.capacity, large)
        XCTAssertTrue(BufferCache.give(third, large))

        // Large buffers past the limit of four: the least recently freed go first (first, then the small one).
        XCTAssertTrue(BufferCache.give(buffer(large), large))
        XCTAssertEqual(BufferCache.bytes, (3 * large + small) * MemoryLayout<Float>.stride)
        XCTAssertTrue(BufferCache.give(buffer(large), large))
        XCTAssertEqual(BufferCache.bytes, (3 * large + small) * MemoryLayout<Float>.stride, "first was evicted")
        XCTAssertTrue(BufferCache.give(buffer(large), large))
        XCTAssertEqual(BufferCache.bytes, 4 * large * MemoryLayout<Float>.stride)
        XCTAssertEqual(BufferCache.take(small)?.capacity, large, "then the small one, the least recently freed left")

        let tiny = buffer(small - 1)
        XCTAssertFalse(BufferCache.give(tiny, small - 1), "buffers below the minimum are not kept")
        free(tiny)
        let huge = buffer(8 * large)
        XCTAssertFalse(BufferCache.give(huge, 8 * large), "a buffer beyond the whole limit is not kept")
        BufferCache.clear()
        BufferCache.limitBytes = 16 * large * MemoryLayout<Float>.stride
        XCTAssertTrue(BufferCache.give(huge, 8 * large))
        XCTAssertNil(BufferCache.take(large), "a buffer more than maxOversize times larger is not taken")
        XCTAssertEqual(BufferCache.take(2 * large)?.capacity, 8 * large)
        free(huge)
    }

    func testClearingAlsoReleasesTheKernelsIdleScratchBuffers() throws {
        let count = 3 * BufferCache.minimumCount + 5  // a size no other scratch user asks for
        BufferCache.limitBytes = 64 * count * MemoryLayout<Float>.stride
        try Scratch.with(count) { $0[0] = 1 }
        XCTAssertEqual(BufferCache.bytes, 0, "an idle scratch buffer stays with Scratch")
        Scratch.clear()
        XCTAssertEqual(BufferCache.bytes, count * MemoryLayout<Float>.stride, "dropped, it comes to the cache")
        try Scratch.with(count) { $0[0] = 1 }  // takes it from the cache, and Scratch keeps it again
        XCTAssertEqual(BufferCache.bytes, 0)
        BufferCache.clear()
        Scratch.clear()
        XCTAssertEqual(BufferCache.bytes, 0, "BufferCache.clear() had already released Scratch's idle buffer")
    }

    func testLoweringTheLimitFreesTheOldestAndZeroTurnsCachingOff() throws {
        let count = BufferCache.minimumCount, bytes = count * MemoryLayout<Float>.stride
        BufferCache.limitBytes = 8 * bytes
        var kept = try (0..<3).map { _ in try Storage(uninitialized: count) }
        XCTAssertEqual(BufferCache.bytes, 0)
        kept.removeAll()
        XCTAssertEqual(BufferCache.bytes, 3 * bytes, "freed storage is kept")
        _ = try Storage(uninitialized: count)
        XCTAssertEqual(BufferCache.bytes, 3 * bytes, "a new storage of the same size takes one and gives it back")
        BufferCache.limitBytes = 2 * bytes
        XCTAssertEqual(BufferCache.bytes, 2 * bytes)
        BufferCache.bounded {
            XCTAssertEqual(BufferCache.bytes, 2 * bytes, "within the bounded limit")
            BufferCache.limitBytes = BufferCache.boundedLimitBytes * 2
            let big = BufferCache.boundedLimitBytes / MemoryLayout<Float>.stride + count
            _ = try? Storage(uninitialized: big)
            XCTAssertEqual(BufferCache.bytes, 2 * bytes, "a buffer past the bounded limit is not kept while it runs")
        }
        let big = BufferCache.boundedLimitBytes / MemoryLayout<Float>.stride + count
        _ = try Storage(uninitialized: big)
        XCTAssertEqual(BufferCache.bytes, 3 * bytes + BufferCache.boundedLimitBytes, "and is after")
        BufferCache.limitBytes = 0
        XCTAssertEqual(BufferCache.bytes, 0)
        _ = try Storage(uninitialized: count)
        XCTAssertEqual(BufferCache.bytes, 0, "a zero limit keeps nothing")
    }
}
