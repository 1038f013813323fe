// swift-tools-version:6.0
import PackageDescription

// Only the numeric kernels (WoofCore: tensors, ops, gradient rules, optimizer) drop bounds and
// overflow checks in release builds: their hot loops run over unsafe buffer pointers whose
// extents are validated once, at the op boundary. Everything that reads files or input
// (safetensors header, JSON, CSV, JPEG glue, CLI) and all analysis keep their checks, so a
// malformed input stops with an error instead of reading out of bounds.
let kernels: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "woof-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "woof-dist", targets: ["woof-dist"]),
        .library(name: "WoofCore", targets: ["WoofCore"]),
        .library(name: "WoofIO", targets: ["WoofIO"]),
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
        // the one random generator: the numeric kernels.
        .target(name: "WoofCore", dependencies: ["CBLAS"], swiftSettings: kernels),
        // The files the project reads and writes: safetensors, typed JSON records, CSV,
        // atomic writes, machine facts.
        .target(name: "WoofIO"),
        // The Vision Transformer, LoRA (config, adapter, merge), timm/peft import and export.
        .target(name: "WoofModel", dependencies: ["WoofCore", "WoofIO"]),
        // ImageWoof's classes, ImageFolder dataset, JPEG decode, timm/Pillow transforms, loader.
        .target(name: "WoofData", dependencies: ["CJPEG", "WoofCore"]),
        // Distribution: MPI communicator, bucketed gradient allreduce.
        .target(name: "WoofDist", dependencies: ["CMPI", "WoofCore"]),
        // Training only: run records, the gradient step, trainer, checkpoints, evaluation.
        .target(name: "WoofTrain", dependencies: ["WoofCore", "WoofIO", "WoofModel", "WoofData", "WoofDist"]),
        // After training: attention maps and metrics, the study, scaling projection,
        // benchmarks, and the paper's result files.
        .target(name: "WoofAnalysis", dependencies: ["WoofCore", "WoofIO", "WoofModel", "WoofData", "WoofDist", "WoofTrain", "WoofViz"]),
        // Figures: RGB canvas, bitmap font, line plots, colormaps and heat-map overlays, PNG I/O.
        .target(name: "WoofViz", dependencies: ["CPNG"]),
        // The command-line interface: parses and calls.
        .executableTarget(name: "woof-dist", dependencies: [
            "WoofCore", "WoofIO", "WoofModel", "WoofData", "WoofDist", "WoofTrain", "WoofAnalysis",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The MPI test harness (run by WoofDistTests under mpirun), not a product command.
        .executableTarget(name: "dist-check", dependencies: [
            "WoofCore", "WoofIO", "WoofModel", "WoofDist", "WoofTrain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared by the test targets: paths to ../shared, scratch directories, built executables.
        .target(name: "WoofTestSupport", path: "Tests/WoofTestSupport"),
        .testTarget(name: "WoofCoreTests", dependencies: ["WoofCore", "WoofIO", "WoofTestSupport"]),
        .testTarget(name: "WoofIOTests", dependencies: ["WoofIO", "WoofCore", "WoofTestSupport"]),
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
