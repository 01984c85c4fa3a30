/// Commands typed on the serial console (`ShellCommand` lists them). The
/// console is physical access, so nothing here asks for a token.
struct Shell {
    private var editor = LineEditor()
    let loop: KernelLoop
    let appliance: Appliance

    init(loop: KernelLoop, appliance: Appliance) {
        self.loop = loop
        self.appliance = appliance
    }

    static func prompt() {
        console.write("skerry> ")
        console.atPrompt = true
    }

    /// Drains the UART. Returns true when any byte arrived.
    mutating func poll() -> Bool {
        var received = false
        while let byte = Serial.read() {
            received = true
            let result = editor.feed(byte)
            console.write(bytes: editor.echo)
            if case .line(let line) = result {
                console.atPrompt = false
                run(line)
                Shell.prompt()
            }
        }
        return received
    }

    private func run(_ line: [UInt8]) {
        let words = KernelArguments(commandLine: line).arguments
        guard let word = words.first?.key else { return }
        guard let command = ShellCommand(name: word) else {
            console.write("unknown command: ")
            console.write(bytes: word)
            console.line(" (try help)")
            return
        }
        switch command {
        case .help:
            console.line("commands:")
            for command in ShellCommand.allCases {
                console.write("  ")
                command.writeHelp(to: &console)
                console.newline()
            }
        case .status: Kernel.writeStatus(loop: loop, appliance: appliance)
        case .heap: Kernel.writeHeap()
        case .nics: Network.writeCounters(appliance.stack)
        case .netstat: Network.writeStackCounters(appliance.stack)
        case .tcp: Network.writeTCP(appliance)
        case .backends: Balancer.writeBackends(appliance.balancer)
        case .rules: Filtering.writeRules(appliance.firewall)
        case .conns: Balancer.writeConnections(appliance.balancer)
        case .shutdown: Kernel.shutdown(appliance)
        case .drain, .disable, .enable, .weight:
            steer(command, words)
        }
    }

    /// `drain|enable|disable SERVICE/BACKEND`, `weight SERVICE/BACKEND N`.
    private func steer(_ command: ShellCommand, _ words: [KernelArguments.Argument]) {
        if let state = command.adminAction?.administrativeState {
            guard words.count == 2 else {
                console.line("usage: drain|enable|disable SERVICE/BACKEND")
                return
            }
            Balancer.setState(state, target: words[1].key, in: appliance.balancer)
        } else {
            guard words.count == 3, let weight = words[2].key.decimalValue, weight <= UInt64(LoadBalancer.weights.upperBound) else {
                console.line("usage: weight SERVICE/BACKEND N (0-1000)")
                return
            }
            Balancer.setWeight(Int(weight), target: words[1].key, in: appliance.balancer)
        }
    }
}
