import Glibc

/// A counter-based random generator (Philox4x32-10). Value i of a draw depends only on (seed, offset, i), so
/// draws are bit-reproducible for any thread count, and the state is two integers that a checkpoint can save.
public struct RandomGenerator: Sendable, Equatable {
    /// The key.
    public var seed: UInt64
    /// Blocks of 4 values consumed so far.
    public var offset: UInt64
    /// Data parallelism: this generator is shard `shardIndex` of `shardCount`. Every draw of n values then returns
    /// values shardIndex * n ..< (shardIndex + 1) * n of the draw of shardCount * n values that one unsharded
    /// generator would make, and advances the offset as that draw does. So ranks drawing per-rank batches get
    /// exactly the slices of the global batch's draw, and their offsets stay equal. (0, 1): no sharding.
    public var shardIndex: UInt64 = 0, shardCount: UInt64 = 1

    /// (shardIndex, shardCount).
    public var shard: (index: UInt64, count: UInt64) {
        get { (shardIndex, shardCount) }
        set { (shardIndex, shardCount) = newValue }
    }

    public init(seed: UInt64, offset: UInt64 = 0) {
        self.seed = seed
        self.offset = offset
    }

    /// The four 32-bit words of block `counter`.
    @inline(__always)
    static func philox(seed: UInt64, counter: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32), c2: UInt32 = 0,
            c3: UInt32 = 0
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0), p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let (hi0, lo0) = (UInt32(truncatingIfNeeded: p0 >> 32), UInt32(truncatingIfNeeded: p0))
            let (hi1, lo1) = (UInt32(truncatingIfNeeded: p1 >> 32), UInt32(truncatingIfNeeded: p1))
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// A uniform float in [0, 1) from 24 random bits.
    @inline(__always) static func unit(_ w: UInt32) -> Float { Float(w >> 8) * 0x1p-24 }

    /// Fills `count` values, four per block, and advances the offset past the blocks used.
    private mutating func fill(
        _ out: UnsafeMutablePointer<Float>, _ count: Int,
        _ block: @escaping (UInt32, UInt32, UInt32, UInt32) -> (Float, Float, Float, Float)
    ) {
        guard shardCount == 1 else { return fillShard(out, count, block) }
        let blocks = (count + 3) / 4
        let (seed, base) = (self.seed, self.offset)
        nonisolated(unsafe) let out = out
        parallelFor(blocks, costPerItem: 64) { b in
            let (w0, w1, w2, w3) = RandomGenerator.philox(seed: seed, counter: base &+ UInt64(b))
            let v = block(w0, w1, w2, w3)
            let i = b * 4
            out[i] = v.0
            if i + 1 < count { out[i + 1] = v.1 }
            if i + 2 < count { out[i + 2] = v.2 }
            if i + 3 < count { out[i + 3] = v.3 }
        }
        offset &+= UInt64(blocks)
    }

    /// `fill` for shard `shardIndex`: values start ..< start + count of a draw of shardCount * count values.
    private mutating func fillShard(
        _ out: UnsafeMutablePointer<Float>, _ count: Int,
        _ block: @escaping (UInt32, UInt32, UInt32, UInt32) -> (Float, Float, Float, Float)
    ) {
        let start = Int(shardIndex) * count, first = start / 4
        let blocks = (start + count + 3) / 4 - first
        let (seed, base) = (self.seed, self.offset)
        nonisolated(unsafe) let out = out
        parallelFor(blocks, costPerItem: 64) { b in
            let (w0, w1, w2, w3) = RandomGenerator.philox(seed: seed, counter: base &+ UInt64(first + b))
            let v = block(w0, w1, w2, w3)
            for lane in 0..<4 {
                let j = (first + b) * 4 + lane - start
                if j >= 0 && j < count { out[j] = lane == 0 ? v.0 : lane == 1 ? v.1 : lane == 2 ? v.2 : v.3 }
            }
        }
        offset &+= UInt64((Int(shardCount) * count + 3) / 4)
    }

    /// Uniform values in [low, high).
    public mutating func uniform(_ shape: [Int], low: Float = 0, high: Float = 1) throws -> Tensor {
        let t = try Tensor(uninitialized: shape)
        fill(t.data, t.count) { a, b, c, d in
            let u = (RandomGenerator.unit(a), RandomGenerator.unit(b), RandomGenerator.unit(c), RandomGenerator.unit(d))
            return (
                low + (high - low) * u.0, low + (high - low) * u.1, low + (high - low) * u.2, low + (high - low) * u.3
            )
        }
        return t
    }

    /// Normal values (Box-Muller).
    public mutating func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) throws -> Tensor {
        let t = try Tensor(uninitialized: shape)
        fill(t.data, t.count) { a, b, c, d in
            @inline(__always) func pair(_ u: UInt32, _ v: UInt32) -> (Float, Float) {
                let r = (-2 * Glibc.logf(Float((u >> 8) + 1) * 0x1p-24)).squareRoot()
                let theta = 2 * Float.pi * RandomGenerator.unit(v)
                return (r * Glibc.cosf(theta), r * Glibc.sinf(theta))
            }
            let (z0, z1) = pair(a, b), (z2, z3) = pair(c, d)
            return (mean + std * z0, mean + std * z1, mean + std * z2, mean + std * z3)
        }
        return t
    }
}
