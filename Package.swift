// swift-tools-version:6.0
import PackageDescription

/// Release builds drop runtime checks: every memory-guarding check in the engine is an explicit `guard`.
let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

/// The targets are the engine's layers, each depending only on those below it, so a lower layer cannot reach a
/// higher one: Core (tensors, kernels, autodiff, ops, the per-thread execution context), then NN (layers) and Optim
/// (optimizers), then Models (DCGAN, CycleGAN, StyleGAN, their configs, data parallelism), with Distributed (the MPI
/// communicator) beside them, and on top the C ABI.
let package = Package(
    name: "swiftgan",
    products: [
        // The shared library that the CPython extension links: the engine plus its C ABI.
        .library(name: "swiftgan", type: .dynamic, targets: ["SwiftGANC"])
    ],
    targets: [
        // OpenBLAS's cblas.h (and a few C vector helpers) as a Swift module.
        .systemLibrary(name: "CShim", path: "CShim"),
        .target(name: "SwiftGANCore", dependencies: ["CShim"], swiftSettings: optimize),
        .target(name: "SwiftGANNN", dependencies: ["SwiftGANCore"], swiftSettings: optimize),
        .target(name: "SwiftGANOptim", dependencies: ["CShim", "SwiftGANCore"], swiftSettings: optimize),
        .target(
            name: "SwiftGANModels", dependencies: ["SwiftGANCore", "SwiftGANNN", "SwiftGANOptim"],
            swiftSettings: optimize),
        .target(name: "SwiftGANDistributed", dependencies: ["SwiftGANCore"], swiftSettings: optimize),
        // The @_cdecl implementations of CShim/include/swiftgan.h.
        .target(name: "SwiftGANC", dependencies: ["SwiftGANModels", "SwiftGANDistributed"], swiftSettings: optimize),
        .testTarget(
            name: "SwiftGANTests", dependencies: ["SwiftGANModels", "SwiftGANDistributed"],
            path: "Tests/SwiftGANTests"),
    ]
)
