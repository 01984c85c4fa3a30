/// The appliance's balanced services (from its appliance file), their
/// health checks, and the console commands that show and steer them.
enum Balancer {
    nonisolated(unsafe) static var balancer: LoadBalancer?
    nonisolated(unsafe) static var checker: HealthChecker?

    static func start(stack: NetworkStack, loop: KernelLoop) {
        guard !ApplianceConfiguration.services.isEmpty,
            let publicInterface = stack.interface(.public), let privateInterface = stack.interface(.private)
        else { return }
        let balancer = LoadBalancer(
            services: ApplianceConfiguration.services, publicAddress: publicInterface.address,
            privateAddress: privateInterface.address)
        balancer.onEvent = { event in
            console.beginLine()
            console.write("balancer: ")
            switch event {
            case .backendStatusChanged(let service, let backend, let status):
                writeName(service, backend)
                console.write(" is ")
                console.write(status.name)
                if status == .down {
                    console.write(" after ")
                    console.write(decimal: UInt64(backend.health.consecutiveFailures))
                    console.write(" failed checks")
                }
            case .administrativeChange(let service, let backend, let state):
                writeName(service, backend)
                console.write(" set to ")
                console.write(state.name)
                console.write(" from the console")
            }
            console.newline()
        }
        stack.balancer = balancer
        let checker = HealthChecker(balancer: balancer, tcp: stack.tcp, source: privateInterface.address, now: Clock.now())
        self.balancer = balancer
        self.checker = checker
        loop.repeating(every: .milliseconds(100)) { checker.tick(now: Clock.now()) }
        for service in balancer.services {
            console.write("service ")
            console.write(service.configuration.name)
            console.write(": public port ")
            console.write(decimal: UInt64(service.configuration.port))
            console.write(", ")
            console.write(decimal: UInt64(service.backends.count))
            console.line(" backends")
        }
    }

    static func writeName(_ service: LoadBalancer.Service, _ backend: LoadBalancer.Backend) {
        console.write(service.configuration.name)
        console.write("/")
        console.write(backend.configuration.name)
    }

    /// `backends`: one aligned line per backend.
    static func writeBackends() {
        guard let balancer else {
            console.line("no services (this image was built without an appliance file)")
            return
        }
        for service in balancer.services {
            let statistics = service.statistics
            console.write("service ")
            console.write(service.configuration.name)
            console.write(": port ")
            console.write(decimal: UInt64(service.configuration.port))
            console.write(", active ")
            console.write(decimal: statistics.activeConnections)
            console.write(", total ")
            console.write(decimal: statistics.totalConnections)
            console.write(", refused ")
            console.write(decimal: statistics.refusedConnections)
            console.write(", ")
            console.write(decimal: statistics.connectionRate)
            console.line(" connections/s")
        }
        console.line("backend           state    admin     weight  active     max   total  failed  checks-failed")
        for service in balancer.services {
            for backend in service.backends {
                var name = ByteText()
                name.write(service.configuration.name)
                name.write("/")
                name.write(backend.configuration.name)
                console.write(bytes: name.bytes)
                console.write(spaces: 18 - name.bytes.count)
                console.write(backend.health.status.name)
                console.write(spaces: backend.health.status == .up ? 7 : 5)
                console.write(backend.administrative.name)
                console.write(spaces: backend.administrative == .enabled ? 3 : (backend.administrative == .draining ? 5 : 2))
                let statistics = backend.statistics
                console.write(decimal: backend.configuration.weight, width: 7)
                console.write(decimal: statistics.activeConnections, width: 8)
                console.write(decimal: statistics.maximumConnectionsSeen, width: 8)
                console.write(decimal: statistics.totalConnections, width: 8)
                console.write(decimal: statistics.failedConnects, width: 8)
                console.write(decimal: backend.health.checkFailures, width: 15)
                console.newline()
            }
        }
    }

    /// `drain|enable|disable SERVICE/BACKEND`.
    static func setState(_ state: LoadBalancer.AdministrativeState, target: [UInt8]) {
        guard let balancer else {
            console.line("no services (this image was built without an appliance file)")
            return
        }
        guard let slash = target.firstIndex(of: 0x2F) else {
            console.line("usage: drain|enable|disable SERVICE/BACKEND")
            return
        }
        let serviceName = Array(target[..<slash])
        let backendName = Array(target[(slash + 1)...])
        for service in balancer.services where serviceName.matches(service.configuration.name) {
            for backend in service.backends where backendName.matches(backend.configuration.name) {
                balancer.setAdministrative(state, service: service, backend: backend)
                return
            }
        }
        console.write("no backend ")
        console.write(bytes: target)
        console.line(" (see `backends`)")
    }
}
