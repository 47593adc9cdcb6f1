import CShim

/// Eight-lane vector loads and stores on raw float buffers, and splitting rows into even and odd columns: the
/// building blocks of the Winograd transforms and the phase split.

/// Eight floats from p (the first n of them when n < 8, the rest zero), unaligned.
@inline(__always) func load8(_ p: UnsafePointer<Float>, _ n: Int = 8) -> SIMD8<Float> {
    if n == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    var v = SIMD8<Float>(), i = 0
    if n >= 4 {  // half a vector at once (4x4 planes)
        v.lowHalf = UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
        i = 4
    }
    while i < n {
        v[i] = p[i]
        i += 1
    }
    return v
}

/// Stores the first n lanes of v at p, unaligned.
@inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int = 8) {
    if n == 8 { return UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
    var i = 0
    if n >= 4 {  // half a vector at once (4x4 planes, a panel's last 4 rows)
        UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: SIMD4<Float>.self)
        i = 4
    }
    while i < n {
        p[i] = v[i]
        i += 1
    }
}

/// Transposes an 8x8 block: out(j, column j of the rows row(0) ... row(7)). Three rounds of splitting neighbouring
/// rows into their even and odd lanes.
@inline(__always) func transpose8(_ row: (Int) -> SIMD8<Float>, _ out: (Int, SIMD8<Float>) -> Void) {
    @inline(__always) func split(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
        let ab = SIMD16(lowHalf: a, highHalf: b)
        return (ab.evenHalf, ab.oddHalf)
    }
    var (a0, a1, a2, a3, a4, a5, a6, a7) = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
    for _ in 0..<3 {
        let ((e0, o0), (e1, o1), (e2, o2), (e3, o3)) = (split(a0, a1), split(a2, a3), split(a4, a5), split(a6, a7))
        (a0, a1, a2, a3, a4, a5, a6, a7) = (e0, e1, e2, e3, o0, o1, o2, o3)
    }
    out(0, a0)
    out(1, a1)
    out(2, a2)
    out(3, a3)
    out(4, a4)
    out(5, a5)
    out(6, a6)
    out(7, a7)
}

/// a * b + c: one fused multiply-add where the target CPU has FMA, a multiply and an add where it has not (C may
/// contract the expression, Swift never does; Swift's `addingProduct` would call `fmaf` per lane without FMA).
@inline(__always) func multiplyAdd(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
    sg_multiply_add8(a, b, c)
}

/// Splits line[0..<count] by the parity of col + shift: element col goes to even[(col + shift) / 2] when col + shift
/// is even, else to odd[(col + shift) / 2]. Sixteen at a time, as the even and odd halves of one vector.
@inline(__always) func deinterleave(
    _ line: UnsafePointer<Float>, _ count: Int, shift: Int,
    even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>
) {
    // Even columns 2m land in a[m + shift / 2], odd columns 2m + 1 in b[m + (shift + 1) / 2].
    let (a, b) = shift & 1 == 0 ? (even, odd) : (odd, even)
    let (oa, ob) = (shift >> 1, (shift + 1) >> 1)
    var m = 0
    while 2 * m + 16 <= count {
        let v = UnsafeRawPointer(line + 2 * m).loadUnaligned(as: SIMD16<Float>.self)
        store8(v.evenHalf, a + oa + m)
        store8(v.oddHalf, b + ob + m)
        m += 8
    }
    for col in (2 * m)..<count {
        if col & 1 == 0 { a[oa + col / 2] = line[col] } else { b[ob + col / 2] = line[col] }
    }
}

/// line[col] = (col even ? even : odd)[col / 2] for col below count: the inverse of `deinterleave` with shift 0;
/// with `adding`, line[col] += that instead.
@inline(__always) func interleave(
    _ even: UnsafePointer<Float>, _ odd: UnsafePointer<Float>, _ count: Int,
    into line: UnsafeMutablePointer<Float>, adding: Bool = false
) {
    var m = 0
    while 2 * m + 16 <= count {
        var v = SIMD16<Float>()
        v.evenHalf = load8(even + m)
        v.oddHalf = load8(odd + m)
        let p = UnsafeMutableRawPointer(line + 2 * m)
        p.storeBytes(of: adding ? p.loadUnaligned(as: SIMD16<Float>.self) + v : v, as: SIMD16<Float>.self)
        m += 8
    }
    if 2 * m + 8 <= count {
        var v = SIMD8<Float>()
        v.evenHalf = UnsafeRawPointer(even + m).loadUnaligned(as: SIMD4<Float>.self)
        v.oddHalf = UnsafeRawPointer(odd + m).loadUnaligned(as: SIMD4<Float>.self)
        let p = UnsafeMutableRawPointer(line + 2 * m)
        p.storeBytes(of: adding ? p.loadUnaligned(as: SIMD8<Float>.self) + v : v, as: SIMD8<Float>.self)
        m += 4
    }
    for col in (2 * m)..<count {
        let value = (col & 1 == 0 ? even : odd)[col / 2]
        line[col] = adding ? line[col] + value : value
    }
}

/// Splits line[0..<count] into m = 2, 3 or 4 phases by (col + shift) mod m: element col goes to
/// phases[p * stride + (col + shift) / m] with p = (col + shift) mod m. For m = 4, a line whose count is not a multiple
/// of 32 also gets zeros after its last element in each phase, up to `stride`. Three phases (F(3, 4)'s tiles, on
/// PatchGAN's short rows) go one element at a time.
@inline(__always) func deinterleave(
    _ line: UnsafePointer<Float>, _ count: Int, shift: Int, phases m: Int, into phases: UnsafeMutablePointer<Float>,
    stride: Int
) {
    if m == 2 { return deinterleave(line, count, shift: shift, even: phases, odd: phases + stride) }
    if m != 4 {
        for col in 0..<count { phases[(col + shift) % m * stride + (col + shift) / m] = line[col] }
        return
    }
    // 32 columns at a time: columns col + q + 4j (j < 8) are the quarter q of the vector (the even/odd halves of its
    // even/odd halves) and land in phase (q + shift) mod 4 as one run. The last, partial, block is read from a copy
    // padded with zeros.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { window in
        let window = window.baseAddress!
        var col = 0
        while col < count {
            let source: UnsafePointer<Float>
            if col + 32 <= count {
                source = line + col
            } else {
                window.update(from: line + col, count: count - col)
                (window + count - col).update(repeating: 0, count: 32 - count + col)
                source = UnsafePointer(window)
            }
            let v = UnsafeRawPointer(source).loadUnaligned(as: SIMD32<Float>.self)
            let (even, odd) = (v.evenHalf, v.oddHalf)
            @inline(__always) func store(_ quarter: SIMD8<Float>, _ q: Int) {
                let at = (col + q + shift) >> 2
                store8(quarter, phases + ((q + shift) & 3) * stride + at, Swift.max(0, Swift.min(8, stride - at)))
            }
            store(even.evenHalf, 0)
            store(odd.evenHalf, 1)
            store(even.oddHalf, 2)
            store(odd.oddHalf, 3)
            col += 32
        }
    }
}

/// line[col] = phases[(col mod m) * stride + col / m] for col below count (m = 2, 3 or 4): the inverse of
/// `deinterleave` with shift 0.
@inline(__always) func interleave(
    phases: UnsafePointer<Float>, m: Int, stride: Int, _ count: Int, into line: UnsafeMutablePointer<Float>
) {
    if m == 2 { return interleave(phases, phases + stride, count, into: line) }
    if m != 4 {
        for col in 0..<count { line[col] = phases[col % m * stride + col / m] }
        return
    }
    var col = 0
    while col + 32 <= count {
        let at = col >> 2
        var (even, odd) = (SIMD16<Float>(), SIMD16<Float>())
        (even.evenHalf, odd.evenHalf) = (load8(phases + at), load8(phases + stride + at))
        (even.oddHalf, odd.oddHalf) = (load8(phases + 2 * stride + at), load8(phases + 3 * stride + at))
        var v = SIMD32<Float>()
        (v.evenHalf, v.oddHalf) = (even, odd)
        UnsafeMutableRawPointer(line + col).storeBytes(of: v, as: SIMD32<Float>.self)
        col += 32
    }
    while col < count {
        line[col] = phases[(col & 3) * stride + col >> 2]
        col += 1
    }
}

/// dst[k] = src[k] for k below count, cleared where mask[k] is 0 (mask nil: all kept; masks are all-ones or zero).
@inline(__always) func maskedCopy(
    _ src: UnsafePointer<Float>, _ mask: UnsafePointer<UInt32>?, into dst: UnsafeMutablePointer<Float>, _ count: Int
) {
    guard let mask else { return dst.update(from: src, count: count) }
    var k = 0
    while k + 8 <= count {
        let bits =
            UnsafeRawPointer(src + k).loadUnaligned(as: SIMD8<UInt32>.self)
            & UnsafeRawPointer(mask + k).loadUnaligned(as: SIMD8<UInt32>.self)
        UnsafeMutableRawPointer(dst + k).storeBytes(of: bits, as: SIMD8<UInt32>.self)
        k += 8
    }
    while k < count {
        dst[k] = mask[k] == 0 ? 0 : src[k]
        k += 1
    }
}

/// dst[k] += src[k] for k below count where mask[k] is not 0 (mask nil: everywhere).
@inline(__always) func maskedAdd(
    _ src: UnsafePointer<Float>, _ mask: UnsafePointer<UInt32>?, into dst: UnsafeMutablePointer<Float>, _ count: Int
) {
    guard let mask else { return addFloats(src, into: dst, count) }
    var k = 0
    while k + 8 <= count {
        let bits =
            UnsafeRawPointer(src + k).loadUnaligned(as: SIMD8<UInt32>.self)
            & UnsafeRawPointer(mask + k).loadUnaligned(as: SIMD8<UInt32>.self)
        store8(load8(dst + k) + unsafeBitCast(bits, to: SIMD8<Float>.self), dst + k)
        k += 8
    }
    while k < count {
        if mask[k] != 0 { dst[k] += src[k] }
        k += 1
    }
}

/// dst[k] += src[k] for k below count.
@inline(__always) func addFloats(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, _ count: Int) {
    var k = 0
    while k + 8 <= count {
        store8(load8(dst + k) + load8(src + k), dst + k)
        k += 8
    }
    while k < count {
        dst[k] += src[k]
        k += 1
    }
}

/// Runs body(i) for i = 0, 8, 16, ... below count.
@inline(__always) func forEachVector(_ count: Int, _ body: (Int) -> Void) {
    var i = 0
    while i < count {
        body(i)
        i += 8
    }
}
