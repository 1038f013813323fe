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

        // Tensors, autograd tape, ops and their gradient rules, parameter store, AdamW,
        // the one random generator, safetensors, atomic files, machine facts.
        .target(name: "WoofCore", dependencies: ["CBLAS"], swiftSettings: fast),
        // The Vision Transformer, LoRA (config, adapter, merge), timm/peft import and export.
        .target(name: "WoofModel", dependencies: ["WoofCore"], swiftSettings: fast),
        // ImageWoof's classes, ImageFolder dataset, JPEG decode, timm/Pillow transforms, loader.
        .target(name: "WoofData", dependencies: ["CJPEG", "WoofCore"], swiftSettings: fast),
        // Distribution: MPI communicator, bucketed gradient allreduce.
        .target(name: "WoofDist", dependencies: ["CMPI", "WoofCore"], swiftSettings: fast),
        // Training only: run records, the gradient step, trainer, checkpoints, evaluation.
        .target(name: "WoofTrain", dependencies: ["WoofCore", "WoofModel", "WoofData", "WoofDist"], swiftSettings: fast),
        // After training: attention maps and metrics, the study, scaling projection,
        // benchmarks, and the paper's result files.
        .target(name: "WoofAnalysis", dependencies: ["WoofCore", "WoofModel", "WoofData", "WoofDist", "WoofTrain", "WoofViz"],
                swiftSettings: fast),
        // Figures: RGB canvas, bitmap font, line plots, colormaps and heat-map overlays, PNG I/O.
        .target(name: "WoofViz", dependencies: ["CPNG"], swiftSettings: fast),
        // The command-line interface: parses and calls.
        .executableTarget(name: "woof-dist", dependencies: [
            "WoofCore", "WoofModel", "WoofData", "WoofDist", "WoofTrain", "WoofAnalysis",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The MPI test harness (run by WoofDistTests under mpirun), not a product command.
        .executableTarget(name: "dist-check", dependencies: [
            "WoofCore", "WoofModel", "WoofDist", "WoofTrain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared by the test targets: paths to ../shared, scratch directories, built executables.
        .target(name: "WoofTestSupport", path: "Tests/WoofTestSupport"),
        .testTarget(name: "WoofCoreTests", dependencies: ["WoofCore", "WoofTestSupport"]),
        .testTarget(name: "WoofModelTests", dependencies: ["WoofModel", "WoofTestSupport"]),
        .testTarget(name: "WoofDataTests", dependencies: ["WoofData", "WoofModel", "WoofTestSupport"]),
        .testTarget(name: "WoofDistTests", dependencies: ["WoofCore", "WoofTrain", "WoofData", "WoofTestSupport"]),
        .testTarget(name: "WoofTrainTests", dependencies: ["WoofTrain", "WoofData", "WoofTestSupport"]),
        .testTarget(name: "WoofAnalysisTests", dependencies: ["WoofAnalysis", "WoofTrain", "WoofData", "WoofTestSupport"]),
        .testTarget(name: "WoofVizTests", dependencies: ["WoofViz", "WoofTestSupport"]),
        // House rules over the sources: function length, typed records, the README layout.
        .testTarget(name: "RepositoryTests", dependencies: ["WoofTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
