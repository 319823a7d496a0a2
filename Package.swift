// swift-tools-version:6.1
import PackageDescription

// Linux only (Debian's system libraries; the trainer launcher uses vfork, prctl's parent-death
// signal, pipe2 and /proc/self/exe; file times come from st_mtim). No macOS platform is claimed.
let testable: [SwiftSetting] = [.unsafeFlags(["-enable-testing"])]

let package = Package(
    name: "npsh",
    products: [
        .executable(name: "npsh", targets: ["npsh"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        .library(name: "Interpreter", targets: ["Interpreter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries: the C the project links against.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CReadline", path: "Sources/CReadline",
            providers: [.apt(["libreadline-dev"])]),
        // C where Swift falls short: two loops it does not vectorise (the optimizer step and
        // the inference GCN layer) and the signal-safe interrupt flag (see the header).
        .target(
            name: "CKernels", path: "Sources/CKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])]),
        // Built with testability in every configuration, so the tests (run in release, for
        // speed) reach kernels and helpers that stay internal; the release build and the test
        // build share one set of flags, so neither rebuilds the other.
        .target(
            name: "Runtime",
            dependencies: ["CBLAS", "CKernels", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: testable),
        .target(
            name: "Interpreter",
            dependencies: ["Runtime", "CReadline"],
            swiftSettings: testable),
        // Jupyter/: the kernel's Python wrapper and logos, which `npsh jupyter install` copies.
        .executableTarget(
            name: "npsh",
            dependencies: [
                "Interpreter", "Runtime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Jupyter")]),
        // The libFuzzer target for the language front end (see scripts/fuzz).
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(name: "npsh-fuzz", dependencies: ["CFuzzerDriver", "Interpreter", "Runtime"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "CKernels"], exclude: ["Fixtures"]),
        .testTarget(name: "InterpreterTests", dependencies: ["Interpreter", "Runtime"], exclude: ["golden"]),
    ]
)
