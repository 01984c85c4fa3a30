import ArgumentParser
import Foundation
import SkerryKit

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures (see BENCHMARKS.md).",
        subcommands: [BootBench.self])
}

struct BootBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Median boot-to-ready time under TCG, beside QEMU's own floor.",
        discussion: """
            Boots the kernel and a minimal image that only prints the ready line, alternately, \
            with the same QEMU command line, and reports the medians and their ratio.
            """)

    @Option(help: "Boots of each image.")
    var runs: Int = 15

    @Option(help: ArgumentHelp("Guest memory in MiB.", valueName: "MiB"))
    var memory: Int = 128

    func validate() throws {
        if runs < 1 || runs > 1000 { throw ValidationError("--runs must be between 1 and 1000") }
    }

    func run() throws {
        let image = try KernelBuild.build(kernel: nil, output: nil, verbose: true)
        guard let layout = ProjectLayout.find() else { throw CLIError("run inside the Skerry tree") }
        let floor: URL
        do {
            floor = try KernelBuilder(
                kernelDirectory: layout.kernelDirectory, outputDirectory: layout.kernelBuildDirectory,
                toolchain: try Toolchain.locate()
            ).buildFloorImage()
        } catch {
            throw CLIError("\(error)")
        }

        var kernelTimes: [Double] = []
        var floorTimes: [Double] = []
        for round in 0..<runs {
            // Alternate which goes first so drift on a shared machine hits both alike.
            let order = round % 2 == 0 ? [true, false] : [false, true]
            for isKernel in order {
                let time = try bootToReady(isKernel ? image.bootable : floor)
                if isKernel { kernelTimes.append(time) } else { floorTimes.append(time) }
            }
        }
        let kernelMedian = Statistics.median(kernelTimes)
        let floorMedian = Statistics.median(floorTimes)
        print("boot to ready under TCG, \(runs) boots of each, alternating, \(memory) MiB")
        print("                  median      min      max")
        print(row("skerry kernel", kernelTimes))
        print(row("QEMU floor", floorTimes))
        print(String(format: "ratio             %.2fx (target <= 1.50x)", kernelMedian / floorMedian))
        print(String(format: "image size        %.1f KiB (target <= 256 KiB)", Double(image.size) / 1024))
    }

    private func bootToReady(_ image: URL) throws -> Double {
        var request = BootRequest(image: image)
        request.accelerator = .tcg
        request.memoryMiB = memory
        request.kernelArguments = "shutdown-after=0"
        request.timeout = 30
        let result = try BootSession(request: request, observe: { _ in }).run()
        guard result.outcome == .cleanShutdown, let ready = result.readyAfter else {
            throw CLIError("benchmark boot of \(image.lastPathComponent) ended with \(result.outcome.rawValue): \(result.detail)")
        }
        return ready
    }

    private func row(_ name: String, _ values: [Double]) -> String {
        let padded = name.padding(toLength: 16, withPad: " ", startingAt: 0)
        return String(
            format: "%@ %6.1f ms %6.1f ms %6.1f ms", padded, Statistics.median(values) * 1000,
            (values.min() ?? 0) * 1000, (values.max() ?? 0) * 1000)
    }
}
