import Glibc

/// The geometry of a 2-D convolution from an "image" [N, C, H, W] to an output [N, O, Ho, Wo] with a square
/// stride and symmetric zero padding. Conv-transpose uses the same geometry with the roles swapped.
///
/// Every kernel runs as im2col/col2im around one `sgemm` per chunk of samples: the batch is folded into the
/// GEMM's N dimension so small spatial layers still make large GEMMs.
struct ConvGeometry: Equatable {
    var batch: Int, inChannels: Int, inHeight: Int, inWidth: Int
    var outChannels: Int, outHeight: Int, outWidth: Int
    var kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int

    /// Rows of the column matrix: C * kh * kw.
    var colRows: Int { inChannels * kernelHeight * kernelWidth }
    /// Output pixels per sample and channel.
    var outPlane: Int { outHeight * outWidth }
    var inPlane: Int { inHeight * inWidth }
    var imageShape: [Int] { [batch, inChannels, inHeight, inWidth] }
    var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    /// A 1x1, stride-1, unpadded conv needs no im2col: the image already is the column matrix.
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }
    /// A kernel that covers the whole unpadded image is a fully connected layer: out [N, O] = image [N, CK] W^T.
    /// (DCGAN's last discriminator layer and its generator's first layer.)
    var isFullyConnected: Bool { padding == 0 && kernelHeight == inHeight && kernelWidth == inWidth }

    /// GEMM width to aim for, and the most floats a column buffer may hold (experiment knobs).
    nonisolated(unsafe) static var targetColumns = Int(String(cString: getenv("SG_COLS") ?? strdup("16384"))) ?? 16384
    nonisolated(unsafe) static var columnBudget = Int(String(cString: getenv("SG_BUDGET") ?? strdup("16777216"))) ?? 16 << 20

    /// Samples per GEMM: enough columns for an efficient GEMM, within a bounded column buffer.
    var samplesPerChunk: Int {
        let wanted = (ConvGeometry.targetColumns + outPlane - 1) / Swift.max(outPlane, 1)
        let memoryCap = Swift.max(1, ConvGeometry.columnBudget / Swift.max(colRows * outPlane, 1))
        return Swift.max(1, Swift.min(batch, wanted, memoryCap))
    }

    /// The output columns ox whose input column ox * stride - padding + j lies inside the image.
    @inline(__always) func validColumns(_ j: Int) -> Range<Int> {
        let lo = Swift.max(0, (padding - j + stride - 1) / stride)
        let hi = Swift.min(outWidth, (inWidth - 1 + padding - j) / stride + 1)
        return lo..<Swift.max(lo, hi)
    }

    /// im2col for samples [n0, n0+nb): col[row, s*L + p] for row = (c*kh + i)*kw + j.
    func im2col(_ x: UnsafePointer<Float>, n0: Int, nb: Int, into col: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let x = x, col = col
        let g = self
        let ld = nb * outPlane
        parallelFor(colRows, costPerItem: ld) { row in
            let j = row % g.kernelWidth, i = (row / g.kernelWidth) % g.kernelHeight, c = row / (g.kernelWidth * g.kernelHeight)
            let valid = g.validColumns(j), shift = j - g.padding, s = g.stride
            for sample in 0..<nb {
                let src = x + ((n0 + sample) * g.inChannels + c) * g.inPlane
                var dst = col + row * ld + sample * g.outPlane
                for oy in 0..<g.outHeight {
                    let iy = oy * s - g.padding + i
                    if iy < 0 || iy >= g.inHeight {
                        dst.update(repeating: 0, count: g.outWidth)
                    } else {
                        let srow = src + iy * g.inWidth + shift
                        if valid.lowerBound > 0 { dst.update(repeating: 0, count: valid.lowerBound) }
                        if s == 1 {
                            (dst + valid.lowerBound).update(from: srow + valid.lowerBound, count: valid.count)
                        } else {
                            for ox in valid { dst[ox] = srow[ox * s] }
                        }
                        if valid.upperBound < g.outWidth {
                            (dst + valid.upperBound).update(repeating: 0, count: g.outWidth - valid.upperBound)
                        }
                    }
                    dst += g.outWidth
                }
            }
        }
    }

    /// col2im for samples [n0, n0+nb): adds col back into the (zeroed) image gradient.
    func col2im(_ col: UnsafePointer<Float>, n0: Int, nb: Int, into x: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let x = x, col = col
        let g = self
        let ld = nb * outPlane
        let k = kernelHeight * kernelWidth
        parallelFor(inChannels, costPerItem: k * ld) { c in
            for s in 0..<nb {
                let dstPlane = x + ((n0 + s) * g.inChannels + c) * g.inPlane
                for i in 0..<g.kernelHeight {
                    for j in 0..<g.kernelWidth {
                        var src = col + ((c * g.kernelHeight + i) * g.kernelWidth + j) * ld + s * g.outPlane
                        let valid = g.validColumns(j), st = g.stride
                        for oy in 0..<g.outHeight {
                            let iy = oy * st - g.padding + i
                            if iy >= 0 && iy < g.inHeight {
                                let drow = dstPlane + iy * g.inWidth + j - g.padding
                                for ox in valid { drow[ox * st] += src[ox] }
                            }
                            src += g.outWidth
                        }
                    }
                }
            }
        }
    }

    /// Copies samples [n0, n0+nb) of an [N, C, P] tensor into a [C, nb*P] matrix.
    static func gather(_ t: UnsafePointer<Float>, channels: Int, plane: Int, n0: Int, nb: Int,
                       into m: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let t = t, m = m
        parallelFor(channels, costPerItem: nb * plane) { c in
            for s in 0..<nb {
                (m + c * nb * plane + s * plane).update(from: t + ((n0 + s) * channels + c) * plane, count: plane)
            }
        }
    }

    /// Copies a [C, nb*P] matrix into samples [n0, n0+nb) of an [N, C, P] tensor, adding bias[c] if given.
    static func scatter(_ m: UnsafePointer<Float>, channels: Int, plane: Int, n0: Int, nb: Int,
                        bias: UnsafePointer<Float>?, into t: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let t = t, m = m, bias = bias
        parallelFor(channels, costPerItem: nb * plane) { c in
            let b = bias?[c] ?? 0
            for s in 0..<nb {
                let dst = t + ((n0 + s) * channels + c) * plane, src = m + c * nb * plane + s * plane
                for p in 0..<plane { dst[p] = src[p] + b }
            }
        }
    }

    /// Adds bias[c] to every pixel of channel c of an [N, C, P] tensor.
    static func addBias(_ t: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int) {
        nonisolated(unsafe) let t = t, bias = bias
        parallelFor(batch * channels, costPerItem: plane) { nc in
            let b = bias[nc % channels], p = t + nc * plane
            for i in 0..<plane { p[i] += b }
        }
    }

    /// Runs body(n0, nb, col, tmp) for each chunk of samples, with scratch buffers sized for a full chunk:
    /// `col` for the column matrix (nil unless `needsColumns`) and `tmp` for an [O, nb*L] block (nil when a chunk
    /// is a single sample, whose output block is already in place).
    private func forEachChunk(needsColumns: Bool,
                              _ body: (Int, Int, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void) throws {
        let nbMax = samplesPerChunk
        try Scratch.with(needsColumns ? colRows * nbMax * outPlane : 0) { col in
            try Scratch.with(nbMax > 1 ? outChannels * nbMax * outPlane : 0) { tmp in
                for n0 in Swift.stride(from: 0, to: batch, by: nbMax) {
                    body(n0, Swift.min(nbMax, batch - n0), needsColumns ? col : nil, nbMax > 1 ? tmp : nil)
                }
            }
        }
    }

    /// Writes the column matrix of samples [n0, n0+nb) into col.
    private func columns(_ image: UnsafePointer<Float>, n0: Int, nb: Int, into col: UnsafeMutablePointer<Float>) {
        if isPointwise { ConvGeometry.gather(image, channels: inChannels, plane: inPlane, n0: n0, nb: nb, into: col) }
        else { im2col(image, n0: n0, nb: nb, into: col) }
    }

    /// out = conv(image, weight) + bias. weight is [O, C*kh*kw].
    func forward(image: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 out: UnsafeMutablePointer<Float>) throws {
        if isFullyConnected {
            sgemm(transB: true, m: batch, n: outChannels, k: colRows, a: image, lda: colRows, b: weight, ldb: colRows, c: out, ldc: outChannels)
            if let bias { ConvGeometry.addBias(out, bias, batch: batch, channels: outChannels, plane: 1) }
            return
        }
        try forEachChunk(needsColumns: !(isPointwise && samplesPerChunk == 1)) { n0, nb, col, tmp in
            let ld = nb * outPlane
            var b = image + n0 * inChannels * inPlane
            if let col {
                columns(image, n0: n0, nb: nb, into: col)
                b = UnsafePointer(col)
            }
            if let tmp {
                sgemm(m: outChannels, n: ld, k: colRows, a: weight, lda: colRows, b: b, ldb: ld, c: tmp, ldc: ld)
                ConvGeometry.scatter(tmp, channels: outChannels, plane: outPlane, n0: n0, nb: nb, bias: bias, into: out)
            } else {
                let dst = out + n0 * outChannels * outPlane
                sgemm(m: outChannels, n: ld, k: colRows, a: weight, lda: colRows, b: b, ldb: ld, c: dst, ldc: ld)
                if let bias { ConvGeometry.addBias(dst, bias, batch: 1, channels: outChannels, plane: outPlane) }
            }
        }
    }

    /// imageGrad = conv^T(outGrad, weight): the gradient of `forward` with respect to the image, which is
    /// also the forward pass of conv-transpose. weight is [O, C*kh*kw]. Overwrites imageGrad.
    func backwardData(outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                      imageGrad: UnsafeMutablePointer<Float>) throws {
        if isFullyConnected {
            return sgemm(m: batch, n: colRows, k: outChannels, a: outGrad, lda: outChannels, b: weight, ldb: colRows,
                         c: imageGrad, ldc: colRows)
        }
        let direct = isPointwise && samplesPerChunk == 1
        if !direct { memset(imageGrad, 0, batch * inChannels * inPlane * MemoryLayout<Float>.stride) }
        try forEachChunk(needsColumns: !direct) { n0, nb, col, tmp in
            let ld = nb * outPlane
            var g = outGrad + n0 * outChannels * outPlane
            if let tmp {
                ConvGeometry.gather(outGrad, channels: outChannels, plane: outPlane, n0: n0, nb: nb, into: tmp)
                g = UnsafePointer(tmp)
            }
            let dst = col ?? imageGrad + n0 * inChannels * inPlane
            sgemm(transA: true, m: colRows, n: ld, k: outChannels, a: weight, lda: colRows, b: g, ldb: ld, c: dst, ldc: ld)
            guard let col else { return }
            if isPointwise {
                ConvGeometry.scatter(col, channels: inChannels, plane: inPlane, n0: n0, nb: nb, bias: nil, into: imageGrad)
            } else {
                col2im(col, n0: n0, nb: nb, into: imageGrad)
            }
        }
    }

    /// weightGrad [O, C*kh*kw] = outGrad x im2col(image)^T: the gradient of `forward` with respect to the weight.
    func backwardWeight(image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>,
                        weightGrad: UnsafeMutablePointer<Float>) throws {
        if isFullyConnected {
            return sgemm(transA: true, m: outChannels, n: colRows, k: batch, a: outGrad, lda: outChannels, b: image, ldb: colRows,
                         c: weightGrad, ldc: colRows)
        }
        memset(weightGrad, 0, outChannels * colRows * MemoryLayout<Float>.stride)
        try forEachChunk(needsColumns: true) { n0, nb, col, tmp in
            let ld = nb * outPlane
            columns(image, n0: n0, nb: nb, into: col!)
            var g = outGrad + n0 * outChannels * outPlane
            if let tmp {
                ConvGeometry.gather(outGrad, channels: outChannels, plane: outPlane, n0: n0, nb: nb, into: tmp)
                g = UnsafePointer(tmp)
            }
            sgemm(transB: true, m: outChannels, n: colRows, k: ld, a: g, lda: ld, b: col!, ldb: ld,
                  beta: 1, c: weightGrad, ldc: colRows)
        }
    }

    /// `forward` (without bias) and `backwardWeight` of the same image, sharing one im2col per chunk:
    /// conv-transpose's backward needs both.
    func forwardAndBackwardWeight(image: UnsafePointer<Float>, weight: UnsafePointer<Float>, outGrad: UnsafePointer<Float>,
                                  out: UnsafeMutablePointer<Float>, weightGrad: UnsafeMutablePointer<Float>) throws {
        if isFullyConnected || isPointwise {
            try forward(image: image, weight: weight, bias: nil, out: out)
            return try backwardWeight(image: image, outGrad: outGrad, weightGrad: weightGrad)
        }
        memset(weightGrad, 0, outChannels * colRows * MemoryLayout<Float>.stride)
        try Scratch.with(samplesPerChunk > 1 ? outChannels * samplesPerChunk * outPlane : 0) { gathered in
            try forEachChunk(needsColumns: true) { n0, nb, col, tmp in
                let ld = nb * outPlane
                im2col(image, n0: n0, nb: nb, into: col!)
                var g = outGrad + n0 * outChannels * outPlane
                if let tmp {
                    sgemm(m: outChannels, n: ld, k: colRows, a: weight, lda: colRows, b: col!, ldb: ld, c: tmp, ldc: ld)
                    ConvGeometry.scatter(tmp, channels: outChannels, plane: outPlane, n0: n0, nb: nb, bias: nil, into: out)
                    ConvGeometry.gather(outGrad, channels: outChannels, plane: outPlane, n0: n0, nb: nb, into: gathered)
                    g = UnsafePointer(gathered)
                } else {
                    sgemm(m: outChannels, n: ld, k: colRows, a: weight, lda: colRows, b: col!, ldb: ld,
                          c: out + n0 * outChannels * outPlane, ldc: ld)
                }
                sgemm(transB: true, m: outChannels, n: colRows, k: ld, a: g, lda: ld, b: col!, ldb: ld,
                      beta: 1, c: weightGrad, ldc: colRows)
            }
        }
    }
}
