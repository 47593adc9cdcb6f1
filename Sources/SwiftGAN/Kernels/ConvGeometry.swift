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

    /// Samples per GEMM: enough columns for an efficient GEMM, within a bounded column buffer.
    var samplesPerChunk: Int {
        let wanted = (16_384 + outPlane - 1) / Swift.max(outPlane, 1)
        let memoryCap = Swift.max(1, (16 << 20) / Swift.max(colRows * outPlane, 1))
        return Swift.max(1, Swift.min(batch, wanted, memoryCap))
    }

    /// im2col for samples [n0, n0+nb): col[row, s*L + p] for row = (c*kh + i)*kw + j.
    func im2col(_ x: UnsafePointer<Float>, n0: Int, nb: Int, into col: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let x = x, col = col
        let g = self
        let ld = nb * outPlane
        parallelFor(colRows, costPerItem: ld) { row in
            let j = row % g.kernelWidth, i = (row / g.kernelWidth) % g.kernelHeight, c = row / (g.kernelWidth * g.kernelHeight)
            for s in 0..<nb {
                let src = x + ((n0 + s) * g.inChannels + c) * g.inPlane
                var dst = col + row * ld + s * g.outPlane
                for oy in 0..<g.outHeight {
                    let iy = oy * g.stride - g.padding + i
                    if iy < 0 || iy >= g.inHeight {
                        dst.update(repeating: 0, count: g.outWidth)
                    } else {
                        let srow = src + iy * g.inWidth
                        var ix = j - g.padding
                        for ox in 0..<g.outWidth {
                            dst[ox] = (ix >= 0 && ix < g.inWidth) ? srow[ix] : 0
                            ix += g.stride
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
                        for oy in 0..<g.outHeight {
                            let iy = oy * g.stride - g.padding + i
                            if iy >= 0 && iy < g.inHeight {
                                let drow = dstPlane + iy * g.inWidth
                                var ix = j - g.padding
                                for ox in 0..<g.outWidth {
                                    if ix >= 0 && ix < g.inWidth { drow[ix] += src[ox] }
                                    ix += g.stride
                                }
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

    /// out = conv(image, weight) + bias. weight is [O, C*kh*kw].
    func forward(image: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 out: UnsafeMutablePointer<Float>) throws {
        let nbMax = samplesPerChunk
        let needCol = !(isPointwise && nbMax == 1)
        let col = needCol ? try Storage(uninitialized: colRows * nbMax * outPlane) : nil
        let tmp = nbMax > 1 ? try Storage(uninitialized: outChannels * nbMax * outPlane) : nil
        var n0 = 0
        while n0 < batch {
            let nb = Swift.min(nbMax, batch - n0)
            let ld = nb * outPlane
            var b: UnsafePointer<Float> = image + n0 * inChannels * inPlane
            if let col {
                if isPointwise { ConvGeometry.gather(image, channels: inChannels, plane: inPlane, n0: n0, nb: nb, into: col.pointer) }
                else { im2col(image, n0: n0, nb: nb, into: col.pointer) }
                b = UnsafePointer(col.pointer)
            }
            if let tmp {
                sgemm(m: outChannels, n: ld, k: colRows, a: weight, lda: colRows, b: b, ldb: ld, c: tmp.pointer, ldc: ld)
                ConvGeometry.scatter(tmp.pointer, channels: outChannels, plane: outPlane, n0: n0, nb: nb, bias: bias, into: out)
            } else {
                let dst = out + n0 * outChannels * outPlane
                sgemm(m: outChannels, n: ld, k: colRows, a: weight, lda: colRows, b: b, ldb: ld, c: dst, ldc: ld)
                if let bias { ConvGeometry.addBias(dst, bias, batch: 1, channels: outChannels, plane: outPlane) }
            }
            n0 += nb
        }
    }

    /// imageGrad = conv^T(outGrad, weight): the gradient of `forward` with respect to the image, which is
    /// also the forward pass of conv-transpose. weight is [O, C*kh*kw]. Overwrites imageGrad.
    func backwardData(outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                      imageGrad: UnsafeMutablePointer<Float>) throws {
        let nbMax = samplesPerChunk
        let direct = isPointwise && nbMax == 1
        if !direct { memset(imageGrad, 0, batch * inChannels * inPlane * MemoryLayout<Float>.stride) }
        let col = direct ? nil : try Storage(uninitialized: colRows * nbMax * outPlane)
        let tmp = nbMax > 1 ? try Storage(uninitialized: outChannels * nbMax * outPlane) : nil
        var n0 = 0
        while n0 < batch {
            let nb = Swift.min(nbMax, batch - n0)
            let ld = nb * outPlane
            var g: UnsafePointer<Float> = outGrad + n0 * outChannels * outPlane
            if let tmp {
                ConvGeometry.gather(outGrad, channels: outChannels, plane: outPlane, n0: n0, nb: nb, into: tmp.pointer)
                g = UnsafePointer(tmp.pointer)
            }
            if let col {
                sgemm(transA: true, m: colRows, n: ld, k: outChannels, a: weight, lda: colRows, b: g, ldb: ld,
                      c: col.pointer, ldc: ld)
                if isPointwise {
                    ConvGeometry.scatter(col.pointer, channels: inChannels, plane: inPlane, n0: n0, nb: nb, bias: nil, into: imageGrad)
                } else {
                    col2im(col.pointer, n0: n0, nb: nb, into: imageGrad)
                }
            } else {
                sgemm(transA: true, m: colRows, n: ld, k: outChannels, a: weight, lda: colRows, b: g, ldb: ld,
                      c: imageGrad + n0 * inChannels * inPlane, ldc: ld)
            }
            n0 += nb
        }
    }

    /// weightGrad [O, C*kh*kw] = outGrad x im2col(image)^T: the gradient of `forward` with respect to the weight.
    func backwardWeight(image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>,
                        weightGrad: UnsafeMutablePointer<Float>) throws {
        let nbMax = samplesPerChunk
        let col = try Storage(uninitialized: colRows * nbMax * outPlane)
        let tmp = nbMax > 1 ? try Storage(uninitialized: outChannels * nbMax * outPlane) : nil
        var n0 = 0
        while n0 < batch {
            let nb = Swift.min(nbMax, batch - n0)
            let ld = nb * outPlane
            if isPointwise { ConvGeometry.gather(image, channels: inChannels, plane: inPlane, n0: n0, nb: nb, into: col.pointer) }
            else { im2col(image, n0: n0, nb: nb, into: col.pointer) }
            var g: UnsafePointer<Float> = outGrad + n0 * outChannels * outPlane
            if let tmp {
                ConvGeometry.gather(outGrad, channels: outChannels, plane: outPlane, n0: n0, nb: nb, into: tmp.pointer)
                g = UnsafePointer(tmp.pointer)
            }
            sgemm(transB: true, m: outChannels, n: colRows, k: ld, a: g, lda: ld, b: col.pointer, ldb: ld,
                  beta: n0 == 0 ? 0 : 1, c: weightGrad, ldc: colRows)
            n0 += nb
        }
        if batch == 0 { memset(weightGrad, 0, outChannels * colRows * MemoryLayout<Float>.stride) }
    }
}
