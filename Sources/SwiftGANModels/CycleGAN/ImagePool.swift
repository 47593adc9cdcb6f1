import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// The history of generated images that CycleGAN's discriminators see (Shrivastava et al. 2017): until the pool
/// is full every image is stored and returned; afterwards each image, with probability 1/2, is swapped for a
/// random stored one. Its contents are part of the model state, so a resumed run draws the same images.
final class ImagePool {
    let capacity: Int
    /// [capacity, C, H, W]; the first `count` entries are filled.
    let images: Tensor
    var count = 0

    init(capacity: Int, imageShape: [Int]) throws {
        self.capacity = capacity
        images = try Tensor(zeros: [Swift.max(capacity, 1)] + imageShape)
    }

    /// The batch the discriminator trains on in place of `batch` (detached).
    func query(_ batch: Tensor, rng: inout RandomGenerator) throws -> Tensor {
        guard capacity > 0 else { return batch.detached() }
        let size = images.count / images.shape[0]
        try require(
            batch.count / batch.shape[0] == size,
            "image pool: images of shape \(Shape.describe(Array(batch.shape.dropFirst()))) do not match the pool's "
                + Shape.describe(Array(images.shape.dropFirst()))
        )
        let out = try batch.detached().copy()
        let draws = try rng.uniform([batch.shape[0], 2])
        for i in 0..<batch.shape[0] {
            let image = out.data + i * size
            if count < capacity {
                try StepTransaction.preserve(images, offset: count * size, count: size)
                (images.data + count * size).update(from: image, count: size)
                count += 1
            } else if draws.data[2 * i] > 0.5 {
                let slot = Swift.min(Int(draws.data[2 * i + 1] * Float(capacity)), capacity - 1)
                try StepTransaction.preserve(images, offset: slot * size, count: size)
                let stored = images.data + slot * size
                for j in 0..<size { (stored[j], image[j]) = (image[j], stored[j]) }
            }
        }
        return out
    }
}
