// swift-tools-version:6.1
// replicate: a paper-replication harness for self-supervised learning and computational pathology.
// Layering (each module imports only modules listed before it):
//   C shims → Basics → Engine → NN → Vision → Slides → Methods → Evaluation → Harness → Results → replicate
import Foundation
import PackageDescription

/// AVX2 and FMA on the building machine (Linux x86-64): the release build then targets Haswell-class
/// CPUs, so the engine's element-wise loops (batch norm, activations, im2col/col2im) use 8-wide
/// vectors instead of baseline SSE2. Elsewhere the baseline target is kept. Swift does not fuse
/// multiplies and adds on its own, so results are the same bit for bit either way.
let hostHasAVX2FMA: Bool = {
  #if os(Linux) && arch(x86_64)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return false }
    let flags = Set(line.split(separator: " ").map(String.init))
    return flags.contains("avx2") && flags.contains("fma")
  #else
    return false
  #endif
}()

/// Release builds keep Swift's checks (`-O`, SwiftPM's release default): a bad index or an empty
/// concatenation stops with a precondition message instead of reading past a buffer.
/// `-Ounchecked` was measured against `-O` on `replicate bench engine` and bought nothing worth
/// the risk (README, "Benchmarks"); hot loops already use unsafe buffer pointers where it pays.
let release: [SwiftSetting] = [
  .unsafeFlags(hostHasAVX2FMA ? ["-target-cpu", "haswell"] : [], .when(configuration: .release))
]

let package = Package(
  name: "replicate",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "replicate", targets: ["replicate"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
  ],
  targets: [
    // System libraries: each is imported by exactly one Swift module.
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
    .systemLibrary(name: "COpenSlide", pkgConfig: "openslide", providers: [.apt(["libopenslide-dev"])]),
    .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
    // Debian's hdf5.pc (an alternative for hdf5-serial.pc) adds -I/usr/include/hdf5/serial.
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),

    // Hashing, progress lines, process facts: no numerics, no papers.
    .target(name: "Basics", dependencies: ["COpenSSL"], swiftSettings: release),
    // Numerics: RNG, BLAS, (later) tensors and autograd.
    .target(name: "Engine", dependencies: ["Basics", "CBLAS"], swiftSettings: release),
    // Layers and models with PyTorch state_dict names; optimisers and schedules.
    .target(name: "NN", dependencies: ["Engine"], swiftSettings: release),
    // Images: buffers, PNG/TIFF I/O, filters, synthetic tissue.
    .target(name: "Vision", dependencies: ["Engine", "CPNG", "CTIFF"], swiftSettings: release),
    // Whole-slide images through OpenSlide; annotations through libxml2; CLAM .h5 bags through HDF5.
    .target(name: "Slides", dependencies: ["Vision", "COpenSlide", "CLibXML2", "CHDF5"], swiftSettings: release),
    // One file (or folder) per paper method.
    .target(name: "Methods", dependencies: ["NN", "Vision", "Slides"], swiftSettings: release),
    // Metrics, probes, bootstrap.
    .target(name: "Evaluation", dependencies: ["Engine"], swiftSettings: release),
    // Target registry, typed configs, datasets, runner, bands and claims.
    .target(
      name: "Harness",
      dependencies: ["NN", "Methods", "Evaluation", .product(name: "Yams", package: "Yams")],
      swiftSettings: release),
    // SQLite store, HTML report, JUnit XML, gate.
    .target(
      name: "Results",
      dependencies: [
        "Harness", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Mustache", package: "swift-mustache"),
      ],
      swiftSettings: release),
    .executableTarget(
      name: "replicate",
      dependencies: [
        "Harness", "Results", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: release),

    // Shared test helpers (project root, running tools); used by test targets only.
    .target(name: "_TestSupport", dependencies: ["Engine", "Basics"], path: "Sources/_TestSupport"),

    .testTarget(
      name: "EngineTests", dependencies: ["Engine", "Basics", "_TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(name: "NNTests", dependencies: ["NN", "_TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(name: "VisionTests", dependencies: ["Vision"], resources: [.copy("Fixtures")]),
    .testTarget(name: "SlidesTests", dependencies: ["Slides", "Basics"], resources: [.copy("Fixtures")]),
    .testTarget(name: "MethodsTests", dependencies: ["Methods", "_TestSupport"], resources: [.copy("Fixtures")]),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
    .testTarget(name: "HarnessTests", dependencies: ["Harness", "Vision", "_TestSupport"]),
    .testTarget(
      name: "ResultsTests", dependencies: ["Results", "_TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "CLITests",
      dependencies: [
        "Basics", "Engine", "NN", "Vision", "Results", "_TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
      ]),
  ]
)
