import CShim
import Glibc
import Synchronization

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
    parallelChunks(count, costPerItem: costPerItem) { for i in $0 { body(i) } }
}

/// `parallelFor` with a scratch buffer of `floats` floats for each item, shared by the items of one chunk: one
/// temporary allocation per chunk, not per item (above a kilobyte, each is a malloc and a free).
@inline(__always)
func parallelFor(
    _ count: Int, costPerItem: Int = 1, scratch floats: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void
) {
    parallelChunks(count, costPerItem: costPerItem) { items in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: floats) { buffer in
            for i in items { body(i, buffer.baseAddress!) }
        }
    }
}

/// The chunks of `parallelFor`: body(items) for contiguous slices of 0..<count, one per thread, or all of it inline
/// when the work is small or one thread is set.
@inline(__always)
private func parallelChunks(_ count: Int, costPerItem: Int, _ body: (Range<Int>) -> Void) {
    let threads = Threads.count
    if threads == 1 || count < 2 || count * costPerItem < 32_768 { return body(0..<count) }
    let chunks = Swift.min(threads, count)
    WorkerPool.shared.run(chunks) { c in body((c * count / chunks)..<((c + 1) * count / chunks)) }
}

/// Runs `body(range)` over contiguous slices of 0..<count in parallel (for SIMD-friendly inner loops).
@inlinable @inline(__always)
public func parallelRanges(_ count: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let chunks = Swift.max(1, Swift.min(Threads.count, count / minChunk))
    if chunks == 1 {
        body(0..<count)
        return
    }
    WorkerPool.shared.run(chunks) { c in body((c * count / chunks)..<((c + 1) * count / chunks)) }
}

/// The threads behind the parallel loops: `Threads.count - 1` workers and the calling thread share each loop's chunks.
///
/// A training step runs several hundred short loops. Workers that went to sleep after each one would take a wake-up
/// (several microseconds, more on a busy host) to join the next, so a worker spins for a while (`spinSeconds`) after
/// each loop before it sleeps. One loop runs at a time: a loop started inside another loop's chunk, or from a second
/// thread while one runs, runs its chunks on the calling thread.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
    @usableFromInline static let shared = WorkerPool()

    /// How long an idle worker spins before it sleeps.
    private static let spinSeconds = 0.0002

    /// The published loop: generation << 32 | chunk count << 16 | next unclaimed chunk. A thread claims chunk i by
    /// advancing the word from i to i + 1; a word of another generation, or with no chunk left, claims nothing. One
    /// word holds all three, so a claim that succeeds belongs to the loop that is running (its caller is still
    /// waiting).
    private let cursor = Atomic<Int>(0)
    /// Chunks of the running loop not finished yet.
    private let unfinished = Atomic<Int>(0)
    /// Whether a loop is running.
    private let busy = Atomic<Bool>(false)
    /// Workers asleep on `wake` (or about to be).
    private let sleepers = Atomic<Int>(0)
    /// Workers that may join loops (`Threads.count - 1`).
    private let participants = Atomic<Int>(0)
    /// The running loop's body; set before its generation is published.
    nonisolated(unsafe) private var body: ((Int) -> Void)?
    private var generation = 0
    private var started = 0
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()

    private init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        // A forked child has only the forking thread: it starts workers of its own when it needs them.
        pthread_atfork(nil, nil) { WorkerPool.shared.resetAfterFork() }
    }

    /// Runs body(c) for c in 0..<chunks (at most 65,535) on the calling thread and the workers; returns when all are
    /// done.
    @usableFromInline
    func run(_ chunks: Int, _ body: (Int) -> Void) {
        guard chunks > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for c in 0..<chunks { body(c) }
            return
        }
        startWorkers(Threads.count - 1)
        withoutActuallyEscaping(body) { body in
            self.body = body
            unfinished.store(chunks, ordering: .relaxed)
            generation = (generation + 1) & 0x7fff_ffff
            let word = generation << 32 | chunks << 16
            cursor.store(word, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            work(generation)
            while unfinished.load(ordering: .acquiring) > 0 { sg_cpu_relax() }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs chunks of loop `generation` until none is left.
    private func work(_ generation: Int) {
        var word = cursor.load(ordering: .acquiring)
        while word >> 32 == generation {
            let (chunks, next) = ((word >> 16) & 0xffff, word & 0xffff)
            guard next < chunks else { return }
            let (claimed, seen) = cursor.compareExchange(expected: word, desired: word + 1, ordering: .acquiring)
            if !claimed {
                word = seen
                continue
            }
            body!(next)
            unfinished.subtract(1, ordering: .releasing)
            word = cursor.load(ordering: .acquiring)
        }
    }

    /// Starts workers until `count` exist, and lets `count` of them join loops.
    private func startWorkers(_ count: Int) {
        participants.store(count, ordering: .relaxed)
        guard started < count else { return }
        pthread_mutex_lock(&mutex)
        while started < count {
            let id = started
            var thread = pthread_t()
            let context = Unmanaged.passRetained(Box(id)).toOpaque()
            guard
                pthread_create(
                    &thread, nil,
                    { raw in
                        let id = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().id
                        WorkerPool.shared.workerLoop(id)
                    }, context) == 0
            else {
                Unmanaged<Box>.fromOpaque(context).release()
                break  // fewer workers: the loops still finish, on the threads there are
            }
            pthread_detach(thread)
            started += 1
        }
        participants.store(Swift.min(count, started), ordering: .relaxed)
        pthread_mutex_unlock(&mutex)
    }

    private final class Box {
        let id: Int
        init(_ id: Int) { self.id = id }
    }

    /// A worker: waits for each new loop (spinning, then asleep) and takes its share of the chunks.
    private func workerLoop(_ id: Int) -> Never {
        var seen = cursor.load(ordering: .acquiring) >> 32
        while true {
            var word = cursor.load(ordering: .acquiring)
            let deadline = now() + WorkerPool.spinSeconds
            var spins = 0
            while word >> 32 == seen {
                spins += 1
                if spins & 255 == 0 && now() > deadline {
                    pthread_mutex_lock(&mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while cursor.load(ordering: .sequentiallyConsistent) >> 32 == seen {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(&mutex)
                } else {
                    sg_cpu_relax()
                }
                word = cursor.load(ordering: .acquiring)
            }
            seen = word >> 32
            if id < participants.load(ordering: .relaxed) { work(seen) }
        }
    }

    private func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private func resetAfterFork() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        started = 0
        sleepers.store(0, ordering: .relaxed)
        busy.store(false, ordering: .relaxed)
        body = nil
    }
}
