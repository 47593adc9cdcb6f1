import Dispatch
import Glibc
import CShim

/// The engine's one threading knob: the width of every parallel loop, GEMMs included. OpenBLAS itself runs
/// single-threaded inside those loops (see `sgemm`), so its worker threads never compete with the engine's.
public enum Threads {
    nonisolated(unsafe) private static var current: Int = {
        openblas_set_num_threads(1)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// Threads in use (defaults to the number of online cores).
    public static var count: Int { current }

    /// Sets the number of threads for every parallel part of the engine.
    public static func set(_ n: Int) throws {
        try require(n >= 1 && n <= 1024, "num_threads: expected an integer from 1 to 1024, got \(n)")
        current = n
    }
}

/// Runs `body(i)` for every i in 0..<count, split into contiguous chunks over the engine's threads.
/// Runs inline when the work is small (`count * costPerItem` below about 32k operations) or one thread is set.
@inline(__always)
func parallelFor(_ count: Int, costPerItem: Int = 1, _ body: (Int) -> Void) {
    let threads = Threads.count
    if threads == 1 || count < 2 || count * costPerItem < 32_768 {
        for i in 0..<count { body(i) }
        return
    }
    let chunks = Swift.min(threads, count)
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let start = c * count / chunks, end = (c + 1) * count / chunks
            for i in start..<end { body(i) }
        }
    }
}

/// Runs `body(range)` over contiguous slices of 0..<count in parallel (for SIMD-friendly inner loops).
@inline(__always)
func parallelRanges(_ count: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let chunks = Swift.max(1, Swift.min(Threads.count, count / minChunk))
    if chunks == 1 { body(0..<count); return }
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            body((c * count / chunks)..<((c + 1) * count / chunks))
        }
    }
}
