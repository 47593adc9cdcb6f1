import Glibc
import SwiftGANCore

/// The C names of the convolution algorithms (static storage, for the process's lifetime).
nonisolated(unsafe) private let algorithmNames: [ConvAlgorithm: UnsafePointer<CChar>] = Dictionary(
    uniqueKeysWithValues: ConvAlgorithm.allCases.map { ($0, UnsafePointer(strdup($0.rawValue)!)) })

@_cdecl("sg_conv_algorithms")
public func sg_conv_algorithms(
    _ xShape: UnsafePointer<Int64>?, _ xNdim: Int32, _ weightShape: UnsafePointer<Int64>?,
    _ weightNdim: Int32, _ stride: Int32, _ padding: Int32, _ outputPadding: Int32,
    _ transposed: Int32, _ names: UnsafeMutablePointer<UnsafePointer<CChar>?>?
) -> Int32 {
    guarded {
        let names = try nonNull(names, "names")
        let x = try readShape(xShape, xNdim, "x_shape"), weight = try readShape(weightShape, weightNdim, "weight_shape")
        let algorithms = try convolutionAlgorithms(
            x: x, weight: weight, stride: Int(stride), padding: Int(padding),
            outputPadding: Int(outputPadding), transposed: transposed != 0)
        for (i, algorithm) in [algorithms.forward, algorithms.inputGradient, algorithms.weightGradient].enumerated() {
            names[i] = algorithmNames[algorithm]
        }
    }
}
