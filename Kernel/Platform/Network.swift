/// Brings up the NICs, assigns their roles, builds the appliance over them
/// and runs it on the event loop.
enum Network {
    static let poolSize = 1024

    /// A NIC found on the bus, before it has a role.
    struct Found {
        var pci: PCIDevice
        var device: any NetworkDevice
    }

    static func start(options: BootOptions, loop: KernelLoop) -> Appliance {
        let devices = PCI.enumerate()
        for device in devices { PCI.writeDevice(device) }

        let pool = PacketPool(count: poolSize)
        var found: [Found] = []
        for pci in devices {
            switch (pci.vendor, pci.deviceID) {
            case (0x1AF4, 0x1000):
                do {
                    found.append(Found(pci: pci, device: try VirtioNet(device: pci, pool: pool)))
                } catch {
                    reportDriverFailure(pci, error)
                }
            case (0x15AD, 0x07B0):
                do {
                    found.append(Found(pci: pci, device: try Vmxnet3(device: pci, pool: pool)))
                } catch {
                    reportDriverFailure(pci, error)
                }
            default:
                if pci.classCode == 0x02 {
                    console.line("warning: network controller without a driver (supported: virtio-net, vmxnet3)")
                }
            }
        }

        guard found.count == InterfaceRole.allCases.count else {
            console.write("nics: found ")
            console.write(decimal: UInt64(found.count))
            console.line(", need exactly 3 (admin, public, private)")
            Kernel.fail(found.count < 3 ? "missing NIC: the appliance needs admin, public and private" : "extra NIC: the appliance takes exactly admin, public and private")
        }

        // Roles by configured MAC first, then the rest in PCI order.
        var assigned: [Found?] = [nil, nil, nil]
        var unclaimed = found
        for configuration in options.interfaces {
            guard let mac = configuration.hardware else { continue }
            guard let index = unclaimed.firstIndex(where: { $0.device.macAddress == mac }) else {
                console.write("nics: no NIC has MAC ")
                mac.write(to: &console)
                console.write(" (configured for ")
                console.write(configuration.role.name)
                console.line(")")
                Kernel.fail("a configured NIC MAC address matches no device")
            }
            assigned[configuration.role.rawValue] = unclaimed.remove(at: index)
        }
        for role in InterfaceRole.allCases where assigned[role.rawValue] == nil {
            assigned[role.rawValue] = unclaimed.removeFirst()
        }

        var interfaces: [NetworkInterface] = []
        var interruptLines: [UInt8] = []
        for role in InterfaceRole.allCases {
            let nic = assigned[role.rawValue]!
            let interface = NetworkInterface(configuration: options.interfaces[role.rawValue], device: nic.device)
            interfaces.append(interface)
            writeInterface(interface, irq: nic.pci.interruptLine)
            let line = nic.pci.interruptLine
            if line > 0 && line < 16 && !interruptLines.contains(line) { interruptLines.append(line) }
        }

        let settings = ApplianceSettings(
            name: ApplianceConfiguration.name, telemetryPort: ApplianceConfiguration.telemetryPort,
            adminToken: ApplianceConfiguration.adminToken.withUTF8Buffer { Array($0) },
            services: ApplianceConfiguration.services, firewall: ApplianceFirewall.makeFirewall(),
            ruleName: { ApplianceFirewall.table.name($0) }, defaultRoute: options.defaultRoute)
        let environment = ApplianceEnvironment(clock: { Clock.now() }) { source in
            let heap = kernelHeap.statistics
            source.heapUsed = UInt64(heap.inUse)
            source.heapFree = UInt64(heap.free)
            source.heapPeak = UInt64(heap.peak)
            source.loopBusy = loop.statistics.busy
            source.loopIdle = loop.statistics.idle
        }
        let appliance = Appliance(settings: settings, pool: pool, interfaces: interfaces, environment: environment)
        appliance.stack.onEvent = { event in
            switch event {
            case .gatewayResolved(let role, let address, let hardware):
                console.beginLine()
                console.write("arp: ")
                console.write(role.name)
                console.write(" gateway ")
                address.write(to: &console)
                console.write(" is at ")
                hardware.write(to: &console)
                console.newline()
            }
        }
        Balancer.start(appliance)
        Filtering.start(appliance.firewall)
        Telemetry.start(appliance)
        for line in interruptLines { InterruptController.unmask(Int(line)) }
        loop.addPoller { appliance.poll(now: Clock.now()) }
        loop.addDeadlineSource { appliance.nextDeadline }
        loop.repeating(every: Appliance.tickInterval) { appliance.tick(now: Clock.now()) }
        // Gratuitous ARP and gateway resolution go out on the first turn of
        // the loop: the NICs are ready, but `ready` need not wait for the wire.
        loop.schedule(after: .zero) { appliance.announce(now: Clock.now()) }
        console.line("services on admin: udp echo 7, tcp echo 7, discard 9, chargen 19")
        return appliance
    }

    private static func reportDriverFailure(_ pci: PCIDevice, _ error: DriverError) {
        console.write("nic ")
        console.write(PCI.describe(pci))
        console.write(": ")
        console.line(error.message)
    }

    static func writeInterface(_ interface: NetworkInterface, irq: UInt8) {
        let configuration = interface.configuration
        console.write("nic ")
        console.write(interface.role.name)
        console.write(": ")
        console.write(interface.device.model)
        console.write(" ")
        interface.mac.write(to: &console)
        console.write(" ")
        configuration.address.write(to: &console)
        if let gateway = configuration.gateway {
            console.write(" gw ")
            gateway.write(to: &console)
        }
        console.write(interface.device.linkUp ? " link up" : " link down")
        if irq > 0 && irq < 16 {
            console.write(" irq ")
            console.write(decimal: UInt64(irq))
        }
        console.newline()
    }

    /// One line per NIC with its counters.
    static func writeCounters(_ stack: NetworkStack) {
        for interface in stack.interfaces {
            console.beginLine()
            ConsoleReport.writeNIC(interface, to: &console)
        }
    }

    /// The stack's named counters that are not zero.
    static func writeStackCounters(_ stack: NetworkStack) {
        console.beginLine()
        ConsoleReport.writeStackCounters(stack, to: &console)
    }
}

extension Network {
    /// TCP connections by state, and the layer's limits.
    static func writeTCP(_ appliance: Appliance) {
        let stack = appliance.stack
        console.beginLine()
        console.write("tcp:")
        if stack.tcp.connectionCount == 0 { console.write(" no connections") }
        for state in TCPState.allCases where state != .closed && state != .listen {
            let count = stack.tcp.count(in: state)
            guard count > 0 else { continue }
            console.write(" ")
            console.write(state.name)
            console.write("=")
            console.write(decimal: UInt64(count))
        }
        console.write("; connections ")
        console.write(decimal: UInt64(stack.tcp.connectionCount))
        console.write("/")
        console.write(decimal: UInt64(stack.tcp.configuration.maximumConnections))
        console.write(", time-wait ")
        console.write(decimal: UInt64(stack.tcp.timeWaitCount))
        console.write("/")
        console.write(decimal: UInt64(stack.tcp.configuration.maximumTimeWait))
        for service in appliance.testServices {
            console.write(", port ")
            console.write(decimal: UInt64(service.listener.port))
            console.write(" accepted ")
            console.write(decimal: service.accepted)
            console.write(" open ")
            console.write(decimal: UInt64(service.listener.connectionCount))
            console.write("/")
            console.write(decimal: UInt64(service.listener.limits.maximumConnections))
        }
        let limits = TCPTestService.limits
        console.write("; per source ")
        console.write(decimal: UInt64(limits.maximumPerSource))
        if let idle = limits.idleTimeout {
            console.write(", idle ")
            console.write(decimal: idle.milliseconds / 1000)
            console.write(" s")
        }
        console.write(", reserved for health checks ")
        console.write(decimal: UInt64(stack.tcp.configuration.reservedForActiveOpens))
        console.newline()
    }
}
