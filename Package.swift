// swift-tools-version:6.0
import PackageDescription

// Release builds drop bounds and overflow checks in the numeric modules: their hot loops
// run over unsafe buffer pointers whose extents are validated once, at the op boundary.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "woof-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "woof-dist", targets: ["woof-dist"]),
        .library(name: "WoofCore", targets: ["WoofCore"]),
        .library(name: "WoofModel", targets: ["WoofModel"]),
        .library(name: "WoofData", targets: ["WoofData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
    ],
    targets: [
        // Thin system-library targets for the C libraries.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // libjpeg-turbo plus a C shim whose error handler longjmps inside C only.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // libpng through a C shim on libpng's simplified API (no longjmp reaches Swift).
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png")]),

        // Tensors, autograd tape, ops and their gradients, safetensors, AdamW.
        .target(name: "WoofCore", dependencies: ["CBLAS"], swiftSettings: fast),
        // The Vision Transformer, LoRA, parameter store and weight loading.
        .target(name: "WoofModel", dependencies: ["WoofCore"], swiftSettings: fast),
        // ImageFolder dataset, JPEG decode, timm/Pillow-equivalent transforms, loader.
        .target(name: "WoofData", dependencies: ["CJPEG", "WoofCore"], swiftSettings: fast),
        // Distribution: MPI communicator, bucketed gradient allreduce.
        .target(name: "WoofDist", dependencies: ["CMPI", "WoofCore"], swiftSettings: fast),
        // Training: the gradient step, optimizer schedule, benchmarks.
        .target(name: "WoofTrain", dependencies: ["WoofCore", "WoofModel", "WoofData", "WoofDist", "WoofViz"], swiftSettings: fast),
        // Figures: RGB canvas, bitmap font, line plots, colormaps and heat-map overlays, PNG I/O.
        .target(name: "WoofViz", dependencies: ["CPNG"], swiftSettings: fast),
        // The command-line interface: parses and calls.
        .executableTarget(name: "woof-dist", dependencies: [
            "WoofCore", "WoofModel", "WoofData", "WoofDist", "WoofTrain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "WoofCoreTests", dependencies: ["WoofCore"]),
        .testTarget(name: "WoofModelTests", dependencies: ["WoofModel"]),
        .testTarget(name: "WoofDataTests", dependencies: ["WoofData", "WoofModel"]),
        .testTarget(name: "WoofTrainTests", dependencies: ["WoofTrain"]),
        .testTarget(name: "WoofVizTests", dependencies: ["WoofViz"]),
    ],
    swiftLanguageModes: [.v5]
)
