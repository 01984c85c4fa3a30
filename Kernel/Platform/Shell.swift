/// Commands typed on the serial console. The console is physical access,
/// so nothing here asks for a token.
struct Shell {
    private var editor = LineEditor()
    let loop: KernelLoop

    init(loop: KernelLoop) { self.loop = loop }

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
        guard let command = words.first?.key else { return }
        if command.matches("help") {
            console.line("commands:")
            console.line("  help       this list")
            console.line("  status     uptime, heap and event-loop figures")
            console.line("  heap       heap statistics")
            console.line("  nics       per-NIC counters and link state")
            console.line("  netstat    the network stack's named counters (TCP included)")
            console.line("  tcp        TCP connections by state, limits, services")
            console.line("  backends   the balanced services' backends: health, admin state, connections")
            console.line("  rules      firewall rules: hits, bytes, rate-limited, last hit; default policies")
            console.line("  drain S/B  send backend B of service S no new connections")
            console.line("  disable S/B  take it out entirely; enable S/B  bring it back")
            console.line("  weight S/B N  set its weight for new connections (0-1000)")
            console.line("  conns      the balancer's connection table: counts by state, the first flows")
            console.line("  shutdown   stop the appliance cleanly")
        } else if command.matches("status") {
            Kernel.writeStatus(loop: loop)
        } else if command.matches("heap") {
            Kernel.writeHeap()
        } else if command.matches("nics") {
            Network.writeCounters()
        } else if command.matches("netstat") {
            Network.writeStackCounters()
        } else if command.matches("tcp") {
            Network.writeTCP()
        } else if command.matches("backends") {
            Balancer.writeBackends()
        } else if command.matches("rules") {
            Filtering.writeRules()
        } else if command.matches("drain") || command.matches("enable") || command.matches("disable") {
            let state: LoadBalancer.AdministrativeState =
                command.matches("drain") ? .draining : command.matches("enable") ? .enabled : .disabled
            guard words.count == 2 else {
                console.line("usage: drain|enable|disable SERVICE/BACKEND")
                return
            }
            Balancer.setState(state, target: words[1].key)
        } else if command.matches("weight") {
            guard words.count == 3, let weight = words[2].key.decimalValue, weight <= UInt64(LoadBalancer.weights.upperBound) else {
                console.line("usage: weight SERVICE/BACKEND N (0-1000)")
                return
            }
            Balancer.setWeight(Int(weight), target: words[1].key)
        } else if command.matches("conns") {
            Balancer.writeConnections()
        } else if command.matches("shutdown") {
            Kernel.shutdown()
        } else {
            console.write("unknown command: ")
            console.write(bytes: command)
            console.line(" (try help)")
        }
    }
}
