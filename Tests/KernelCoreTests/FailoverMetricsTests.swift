import Testing
@testable import KernelCore

/// Issue 18's counters and backend state in `GET /metrics` and on the console.
@Suite struct FailoverMetricsTests {
    func lines(_ fixture: BalancerFixture) -> [String] {
        var source = MetricsSource(now: fixture.now, uptime: .seconds(1), heapUsed: 0, heapFree: 0, heapPeak: 0,
                                   stack: fixture.fixture.stack, firewall: nil) { _ in UnsafeBufferPointer(start: nil, count: 0) }
        source.balancer = fixture.balancer
        return String(decoding: ApplianceMetrics.write(source).bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func theRedispatchCountersHaveTheirFamilies() {
        let fixture = BalancerFixture()
        let service = fixture.balancer.services[0]
        service.statistics.redispatched = 7
        service.statistics.connectRefused = 5
        service.statistics.connectTimeouts = 2
        service.backends[1].statistics.redispatched = 4
        service.backends[1].statistics.connectRefused = 3
        service.backends[2].statistics.connectTimeouts = 9
        let text = lines(fixture)
        #expect(text.contains("skerry_service_redispatched_total{service=\"web\"} 7"))
        #expect(text.contains("skerry_service_connect_refused_total{service=\"web\"} 5"))
        #expect(text.contains("skerry_service_connect_timeouts_total{service=\"web\"} 2"))
        #expect(text.contains("skerry_backend_redispatched_total{service=\"web\",backend=\"web2\"} 4"))
        #expect(text.contains("skerry_backend_connect_refused_total{service=\"web\",backend=\"web2\"} 3"))
        #expect(text.contains("skerry_backend_connect_timeouts_total{service=\"web\",backend=\"web3\"} 9"))
        #expect(text.contains("skerry_backend_redispatched_total{service=\"web\",backend=\"web1\"} 0"))
        #expect(text.contains("# TYPE skerry_backend_redispatched_total counter"))
    }

    /// The families from before the failover counters keep their names, types and values.
    @Test func existingFamiliesKeepTheirNames() {
        let fixture = BalancerFixture()
        let service = fixture.balancer.services[0]
        service.statistics.failedConnects = 11
        service.statistics.refusedConnections = 12
        service.backends[0].statistics.failedConnects = 13
        service.backends[0].statistics.maximumConnectionsSeen = 14
        let text = lines(fixture)
        let families = text.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ").dropFirst(2).joined(separator: " ") }
        for family in ["skerry_service_connections_active gauge", "skerry_service_connections_total counter",
                       "skerry_service_connections_refused_total counter", "skerry_service_failed_connects_total counter",
                       "skerry_service_connection_rate gauge", "skerry_backend_up gauge", "skerry_backend_weight gauge",
                       "skerry_backend_connections_active gauge", "skerry_backend_connections_max gauge",
                       "skerry_backend_connection_limit gauge", "skerry_backend_connections_total counter",
                       "skerry_backend_failed_connects_total counter", "skerry_backend_check_failures_total counter",
                       "skerry_backend_admin_state gauge", "skerry_backend_check_latency_seconds gauge",
                       "skerry_backend_state_age_seconds gauge", "skerry_service_bytes_total counter",
                       "skerry_backend_packets_total counter"] {
            #expect(families.contains(family), "\(family)")
        }
        #expect(families.count == Set(families).count, "each family once")
        #expect(text.contains("skerry_service_failed_connects_total{service=\"web\"} 11"))
        #expect(text.contains("skerry_service_connections_refused_total{service=\"web\"} 12"))
        #expect(text.contains("skerry_backend_failed_connects_total{service=\"web\",backend=\"web1\"} 13"))
        #expect(text.contains("skerry_backend_connections_max{service=\"web\",backend=\"web1\"} 14"))
        #expect(text.contains("skerry_backend_up{service=\"web\",backend=\"web1\"} 1"))
    }

    @Test func eachBackendsCheckCauseAndRampAreGauges() {
        let fixture = BalancerFixture()
        let text = lines(fixture)
        for outcome in HealthCheckOutcome.allCases {
            let value = outcome == .passed ? 1 : 0  // the fixture's checks passed
            #expect(text.contains("skerry_backend_check_outcome{service=\"web\",backend=\"web1\",outcome=\"\(outcome.name)\"} \(value)"))
        }
        #expect(text.contains("skerry_backend_status_cause{service=\"web\",backend=\"web1\",cause=\"check\"} 1"))
        #expect(text.contains("skerry_backend_status_cause{service=\"web\",backend=\"web1\",cause=\"traffic\"} 0"))
        #expect(text.contains("skerry_backend_backup{service=\"web\",backend=\"web1\"} 0"))
        #expect(text.contains("skerry_backend_check_status_code{service=\"web\",backend=\"web1\"} 0"))
        #expect(text.contains("skerry_backend_slow_start_ratio{service=\"web\",backend=\"web1\"} 1.00"))
    }

    @Test func aRecoveringBackendShowsItsRampAndABackupIsMarked() {
        let stack = StackFixture()
        let balancer = LoadBalancer(
            services: [ServiceConfiguration(
                name: "web", port: 80, algorithm: .roundRobin,
                backends: [BackendConfiguration(name: "web1", address: IPv4Address(10, 0, 3, 2), port: 8081),
                           BackendConfiguration(name: "spare", address: IPv4Address(10, 0, 3, 2), port: 8082, backup: true)],
                slowStart: .seconds(10))],
            publicAddress: IPv4Address(10, 0, 2, 15), privateAddress: IPv4Address(10, 0, 3, 15), connectionCapacity: 64)
        let service = balancer.services[0]
        var now = Instant.zero + .seconds(50)
        func check(_ success: Bool, _ times: Int) {
            for _ in 0..<times { balancer.recordCheck(service: service, backend: service.backends[0], outcome: success ? .passed : .refused, latency: nil, now: now) }
        }
        check(true, 2)
        check(false, 3)
        now = now + .seconds(1)
        check(true, 2)
        now = now + .seconds(5)
        var source = MetricsSource(now: now, uptime: .seconds(56), heapUsed: 0, heapFree: 0, heapPeak: 0, stack: stack.stack,
                                   firewall: nil) { _ in UnsafeBufferPointer(start: nil, count: 0) }
        source.balancer = balancer
        let text = String(decoding: ApplianceMetrics.write(source).bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        let percent = service.backends[0].slowStartPercent(over: .seconds(10), now: now) ?? -1
        #expect((49...50).contains(percent))
        #expect(text.contains("skerry_backend_slow_start_ratio{service=\"web\",backend=\"web1\"} 0.\(percent)"))
        #expect(text.contains("skerry_backend_backup{service=\"web\",backend=\"spare\"} 1"))
    }
}
