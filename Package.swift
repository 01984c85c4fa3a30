// swift-tools-version:6.0
import PackageDescription

// Host side of Skerry. The kernel itself is not built by SwiftPM: `skerry
// build` compiles Kernel/ with the Embedded Swift flags. Its portable core
// (Kernel/Core) is also built here as an ordinary module so `swift test`
// exercises it at host speed.
let package = Package(
    name: "Skerry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "skerry", targets: ["skerry"]),
        .library(name: "SkerryKit", targets: ["SkerryKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .target(name: "KernelCore", path: "Kernel/Core"),
        .target(name: "SkerryKit", dependencies: ["KernelCore", .product(name: "Yams", package: "Yams")], path: "Sources/SkerryKit"),
        // The dashboard: a screen model and views with no I/O (snapshot-tested
        // on the host), the threads, sockets and VM that feed it, and a thin
        // ncurses backend.
        .systemLibrary(name: "CNCurses", path: "Console/CNCurses", pkgConfig: "ncursesw"),
        .target(name: "SkerryConsole", dependencies: ["SkerryKit", "KernelCore"], path: "Console/Dashboard"),
        .target(name: "SkerryConsoleHost", dependencies: ["SkerryConsole", "SkerryKit", "KernelCore"], path: "Console/Host"),
        .target(name: "SkerryTerminal", dependencies: ["SkerryConsole", "CNCurses"], path: "Console/Terminal"),
        .executableTarget(
            name: "skerry",
            dependencies: [
                "SkerryKit", "KernelCore", "SkerryConsole", "SkerryConsoleHost", "SkerryTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/skerry"),
        .testTarget(name: "KernelCoreTests", dependencies: ["KernelCore"], path: "Tests/KernelCoreTests"),
        .testTarget(name: "SkerryKitTests", dependencies: ["SkerryKit", "KernelCore"], path: "Tests/SkerryKitTests"),
        .testTarget(name: "ConsoleTests", dependencies: ["SkerryConsole", "SkerryKit", "KernelCore"], path: "Tests/ConsoleTests",
                    exclude: ["Snapshots"]),
        .testTarget(
            name: "IntegrationTests", dependencies: ["SkerryKit", "KernelCore"], path: "Tests/IntegrationTests"),
    ]
)
