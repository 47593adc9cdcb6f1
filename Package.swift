// swift-tools-version:6.0
import PackageDescription

/// Release builds drop runtime checks: every memory-guarding check in the engine is an explicit `guard`.
let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "swiftgan",
    products: [
        // The shared library that the CPython extension links: the engine plus its C ABI.
        .library(name: "swiftgan", type: .dynamic, targets: ["SwiftGANC"]),
    ],
    targets: [
        // OpenBLAS's cblas.h as a Swift module.
        .systemLibrary(name: "CShim", path: "CShim"),
        // The engine: tensors, kernels, autodiff, ops, optimizers.
        .target(name: "SwiftGAN", dependencies: ["CShim"], swiftSettings: optimize),
        // The @_cdecl implementations of CShim/include/swiftgan.h.
        .target(name: "SwiftGANC", dependencies: ["SwiftGAN"], swiftSettings: optimize),
        .testTarget(name: "SwiftGANTests", dependencies: ["SwiftGAN"], path: "Tests/SwiftGANTests"),
    ]
)
