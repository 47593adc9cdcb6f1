import SwiftGANCore
import SwiftGANNN

/// A ResnetGenerator on images of any size with bounded memory and no seams: the full-resolution layers before and
/// after the residual blocks run on overlapping tiles, and the residual blocks on the whole image at a quarter of
/// its resolution. InstanceNorm normalizes with whole-image statistics, gathered tile by tile before any tile is
/// normalized with them (one pass per InstanceNorm layer of a tiled part), so the result is the untiled network's up
/// to float rounding.
///
/// A tile's activations are exact inside the tile when the tile carries a margin of its neighbours at least as wide
/// as the layers' reach (what they compute at the margin's outer edge, with padding where the image goes on, never
/// reaches the tile); at the image's edges the margin is cut off, so that the layers' own padding sees the edge.
struct TiledTranslation {
    let generator: Sequential
    /// Output tile side in full-resolution pixels (a multiple of `alignment`).
    let tile: Int

    /// Full-resolution pixels per pixel of the coarsest activation: tiles and margins are multiples of it.
    static let alignment = 4

    /// generator(x) for x [N, C, H, W]; every sample on its own (InstanceNorm's statistics are per sample).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let layers = generator.layers
        guard let first = layers.firstIndex(where: { $0 is Residual }),
            let last = layers.lastIndex(where: { $0 is Residual })
        else { return try generator(x, training: false) }
        let (head, body, tail) = (Array(layers[..<first]), layers[first...last], Array(layers[(last + 1)...]))
        let (height, width) = (x.shape[2], x.shape[3]), bodyScale = Segment(head, inputScale: 1).outputScale
        var outputs: [Tensor] = []
        for n in 0..<x.shape[0] {
            var h = try run(
                head, on: try narrow(x, dim: 0, start: n, length: 1), scale: 1, height: height, width: width)
            for layer in body { h = try layer(h, training: false) }
            outputs.append(try run(tail, on: h, scale: bodyScale, height: height, width: width))
        }
        return outputs.count == 1 ? outputs[0] : try cat(outputs, dim: 0)
    }

    /// `layers` applied to `input` (one sample at `scale` full-resolution pixels per pixel of an image `height` x
    /// `width`), tile by tile: one pass per InstanceNorm layer to gather its statistics, then one that writes.
    private func run(_ layers: [any Layer], on input: Tensor, scale: Int, height: Int, width: Int) throws -> Tensor {
        let segment = Segment(layers, inputScale: scale)
        var statistics: [Int: (mean: Tensor, invstd: Tensor)] = [:]
        for target in segment.norms {
            var sums = Moments(channels: try segment.channels(before: target, input: input))
            for region in regions(height, width) {
                let (activation, interior) = try segment.apply(
                    to: input, region, halo: segment.halo, until: target, statistics: statistics)
                sums.add(activation, interior)
            }
            let norm = layers[target] as! InstanceNorm2d
            statistics[target] = try sums.statistics(eps: norm.eps)
        }
        var output: Tensor? = nil
        for region in regions(height, width) {
            let (activation, interior) = try segment.apply(
                to: input, region, halo: segment.halo, until: layers.count, statistics: statistics)
            if output == nil {
                output = try Tensor(
                    zeros: [1, activation.shape[1], height / segment.outputScale, width / segment.outputScale])
            }
            paste(activation, interior, into: output!, at: region.scaled(by: segment.outputScale))
        }
        return output!
    }

    /// The tiles of a height x width image: tile x tile regions, the last ones in a row or column smaller.
    private func regions(_ height: Int, _ width: Int) -> [Region] {
        stride(from: 0, to: height, by: tile).flatMap { top in
            stride(from: 0, to: width, by: tile).map { left in
                Region(
                    top: top, left: left, height: Swift.min(tile, height - top), width: Swift.min(tile, width - left))
            }
        }
    }
}

/// A rectangle of pixels.
struct Region {
    var top: Int, left: Int, height: Int, width: Int

    /// The rectangle in the coordinates of an activation with `scale` full-resolution pixels per pixel.
    func scaled(by scale: Int) -> Region {
        Region(top: top / scale, left: left / scale, height: height / scale, width: width / scale)
    }
}

/// A run of layers without residual blocks, with the resolution of every activation and the layers' reach.
private struct Segment {
    let layers: [any Layer]
    /// scales[i]: full-resolution pixels per pixel of layer i's input (the last entry: of the output).
    let scales: [Int]
    /// Indices of the InstanceNorm layers.
    let norms: [Int]
    /// How far (in full-resolution pixels) an output depends on the input: a bound, rounded up to the alignment.
    let halo: Int

    init(_ layers: [any Layer], inputScale: Int) {
        self.layers = layers
        var scales = [inputScale], reach = 0
        for layer in layers {
            var scale = scales.last!
            if let conv = layer as? Conv2d {
                reach += conv.weight.shape[2] * scale
                scale *= conv.stride
            } else if let conv = layer as? ConvTranspose2d {
                scale /= conv.stride
                reach += conv.weight.shape[2] * scales.last!
            }
            scales.append(scale)
        }
        self.scales = scales
        norms = layers.indices.filter { layers[$0] is InstanceNorm2d }
        let a = TiledTranslation.alignment
        halo = (reach + a - 1) / a * a
    }

    /// Full-resolution pixels per pixel of the output.
    var outputScale: Int { scales.last! }

    /// Channels of layer `index`'s input.
    func channels(before index: Int, input: Tensor) throws -> Int {
        var channels = input.shape[1]
        for layer in layers[..<index] {
            if let conv = layer as? Conv2d { channels = conv.weight.shape[0] }
            if let conv = layer as? ConvTranspose2d { channels = conv.weight.shape[1] }
        }
        return channels
    }

    /// The input of layer `until` (or the output, for `until` = layers.count) for the part of `input` around
    /// `region` (full-resolution), with `halo` pixels of margin where the image goes on, and where `region` lies in
    /// it. InstanceNorm layers normalize with `statistics`.
    func apply(
        to input: Tensor, _ region: Region, halo: Int, until: Int, statistics: [Int: (mean: Tensor, invstd: Tensor)]
    ) throws -> (Tensor, Region) {
        let s = scales[0], (height, width) = (input.shape[2] * s, input.shape[3] * s)
        let top = Swift.max(0, region.top - halo), left = Swift.max(0, region.left - halo)
        let bottom = Swift.min(height, region.top + region.height + halo)
        let right = Swift.min(width, region.left + region.width + halo)
        var h = try narrow(
            try narrow(input, dim: 2, start: top / s, length: (bottom - top) / s), dim: 3, start: left / s,
            length: (right - left) / s)
        for (i, layer) in layers[..<until].enumerated() {
            if let (mean, invstd) = statistics[i] {
                h = try mul(try sub(h, mean), invstd)
            } else {
                h = try layer(h, training: false)
            }
        }
        let inside = Region(top: region.top - top, left: region.left - left, height: region.height, width: region.width)
        return (h, inside.scaled(by: scales[until]))
    }
}

/// Per-channel sums of an activation's values and squares over tile interiors, in double precision.
private struct Moments {
    var sum: [Double], squares: [Double], count = 0

    init(channels: Int) {
        (sum, squares) = ([Double](repeating: 0, count: channels), [Double](repeating: 0, count: channels))
    }

    /// Adds the values of `region` of the [1, C, h, w] activation.
    mutating func add(_ activation: Tensor, _ region: Region) {
        let (h, w) = (activation.shape[2], activation.shape[3])
        for c in 0..<sum.count {
            var (s, q) = (0.0, 0.0)
            for y in region.top..<(region.top + region.height) {
                let row = activation.data + (c * h + y) * w + region.left
                for x in 0..<region.width {
                    let v = Double(row[x])
                    s += v
                    q += v * v
                }
            }
            sum[c] += s
            squares[c] += q
        }
        count += region.height * region.width
    }

    /// The mean and 1 / sqrt(biased variance + eps) per channel, as [1, C, 1, 1] tensors.
    func statistics(eps: Float) throws -> (mean: Tensor, invstd: Tensor) {
        let n = Double(count), c = sum.count
        let mean = sum.map { $0 / n }
        let invstd = zip(squares, mean).map { q, m in
            Float(1 / (Swift.max(q / n - m * m, 0) + Double(eps)).squareRoot())
        }
        return (try Tensor(mean.map { Float($0) }, shape: [1, c, 1, 1]), try Tensor(invstd, shape: [1, c, 1, 1]))
    }
}

/// Copies `region` of the [1, C, h, w] activation into the [1, C, H, W] output at `at` (same size).
private func paste(_ activation: Tensor, _ region: Region, into output: Tensor, at: Region) {
    let (h, w, height, width) = (activation.shape[2], activation.shape[3], output.shape[2], output.shape[3])
    for c in 0..<activation.shape[1] {
        for y in 0..<region.height {
            let src = activation.data + (c * h + region.top + y) * w + region.left
            (output.data + (c * height + at.top + y) * width + at.left).update(from: src, count: region.width)
        }
    }
}
