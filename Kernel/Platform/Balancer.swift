/// The appliance's balanced services (from its appliance file), their
/// health checks, and the console commands that show and steer them.
enum Balancer {
    /// Logs the balancer's events on the console and lists its services.
    static func start(_ appliance: Appliance) {
        guard let balancer = appliance.balancer else { return }
        appliance.onBalancerEvent = { event in
            // A failed check is worth a line only when it changes the status.
            if case .checkFailed = event { return }
            console.beginLine()
            console.write("balancer: ")
            switch event {
            case .backendStatusChanged(let service, let backend, let status):
                LoadBalancer.writeName(service, backend, to: &console)
                BackendStatusCause(backend, in: service).writeChange(up: status == .up, to: &console)
            case .administrativeChange(let service, let backend, let state):
                LoadBalancer.writeName(service, backend, to: &console)
                console.write(" set to ")
                console.write(state.name)
            case .weightChange(let service, let backend, let weight):
                LoadBalancer.writeName(service, backend, to: &console)
                console.write(" weight set to ")
                console.write(decimal: weight)
            case .checkFailed:
                break
            }
            console.newline()
        }
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

    /// `backends`: one aligned line per backend.
    static func writeBackends(_ balancer: LoadBalancer?) {
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
        console.line("backend           state    admin     weight  active     max   total  failed  checks-failed  redisp  check")
        let now = Clock.now()
        for service in balancer.services {
            for backend in service.backends {
                var name = ByteText()
                LoadBalancer.writeName(service, backend, to: &name)
                console.write(bytes: name.bytes)
                console.write(spaces: 18 - name.bytes.count)
                console.write(backend.health.status.name)
                console.write(spaces: backend.health.status == .up ? 7 : 5)
                console.write(backend.administrative.name)
                console.write(spaces: backend.administrative == .enabled ? 3 : (backend.administrative == .draining ? 5 : 2))
                let statistics = backend.statistics
                console.write(decimal: backend.weight, width: 7)
                console.write(decimal: statistics.activeConnections, width: 8)
                console.write(decimal: statistics.maximumConnectionsSeen, width: 8)
                console.write(decimal: statistics.totalConnections, width: 8)
                console.write(decimal: statistics.failedConnects, width: 8)
                console.write(decimal: backend.health.checkFailures, width: 15)
                console.write(decimal: statistics.redispatched, width: 8)
                console.write("  ")
                backend.health.lastOutcome.writeReason(statusCode: backend.health.lastStatusCode, to: &console)
                if backend.configuration.backup { console.write(", backup") }
                if let ramp = backend.slowStartPercent(over: service.configuration.slowStart, now: now) {
                    console.write(", ramp ")
                    console.write(decimal: ramp)
                    console.write("%")
                }
                console.newline()
            }
        }
    }

    /// `drain|enable|disable SERVICE/BACKEND`.
    static func setState(_ state: LoadBalancer.AdministrativeState, target: [UInt8], in balancer: LoadBalancer?) {
        guard let (balancer, service, backend) = find(target, in: balancer) else { return }
        balancer.setAdministrative(state, service: service, backend: backend)
    }

    /// `weight SERVICE/BACKEND N`.
    static func setWeight(_ weight: Int, target: [UInt8], in balancer: LoadBalancer?) {
        guard let (balancer, service, backend) = find(target, in: balancer) else { return }
        balancer.setWeight(weight, service: service, backend: backend)
    }

    /// The backend `SERVICE/BACKEND` names, or nil after saying why not.
    private static func find(_ target: [UInt8], in balancer: LoadBalancer?) -> (LoadBalancer, LoadBalancer.Service, LoadBalancer.Backend)? {
        guard let balancer else {
            console.line("no services (this image was built without an appliance file)")
            return nil
        }
        guard let slash = target.firstIndex(of: 0x2F) else {
            console.line("expected SERVICE/BACKEND, like web/web1")
            return nil
        }
        let serviceName = Array(target[..<slash])
        let backendName = Array(target[(slash + 1)...])
        for service in balancer.services where serviceName.matches(service.configuration.name) {
            for backend in service.backends where backendName.matches(backend.configuration.name) {
                return (balancer, service, backend)
            }
        }
        console.write("no backend ")
        console.write(bytes: target)
        console.line(" (see `backends`)")
        return nil
    }

    /// `conns`: the connection table's fill and flows by state, then the first flows.
    static func writeConnections(_ balancer: LoadBalancer?) {
        guard let balancer else {
            console.line("no services (this image was built without an appliance file)")
            return
        }
        let tracker = balancer.tracker
        let now = Clock.now()
        ConsoleReport.writeConnectionSummary(balancer, to: &console)
        guard tracker.count > 0 else { return }
        console.line("client                 backend            snat   state        expires")
        var shown = 0
        for entry in tracker.entries where entry.inUse {
            guard shown < 20 else {
                console.write("... and ")
                console.write(decimal: tracker.count - shown)
                console.line(" more")
                break
            }
            shown += 1
            var client = ByteText()
            entry.client.write(to: &client)
            client.write(":")
            client.write(decimal: UInt64(entry.clientPort))
            console.write(bytes: client.bytes)
            console.write(spaces: max(1, 23 - client.bytes.count))
            let service = balancer.services[Int(entry.serviceIndex)]
            var name = ByteText()
            LoadBalancer.writeName(service, service.backends[Int(entry.backendIndex)], to: &name)
            console.write(bytes: name.bytes)
            console.write(spaces: max(1, 19 - name.bytes.count))
            console.write(decimal: UInt64(entry.snatPort), width: 5)
            console.write("  ")
            console.write(entry.state.name)
            console.write(spaces: max(1, 13 - entry.state.name.utf8CodeUnitCount))
            console.write(decimal: entry.expires.since(now).milliseconds / 1000)
            console.line(" s")
        }
    }
}
