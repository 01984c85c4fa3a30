import Foundation
import KernelCore
import SkerryConsole
@testable import SkerryKit
import Testing

/// The Backends view's failover columns: redispatches, the check's reason
/// (green when it passed, red when it failed), the backup marker and the
/// slow-start ramp, at 80x24 and wider.
@Suite struct DashboardFailoverTests {
    static func input() -> DashboardInput {
        var schema = Telemetry.Schema()
        schema.hasBalancer = true
        schema.services = [Telemetry.Schema.Service(name: "web", port: 80, algorithm: "round-robin", maximumConnections: 0, backends: [
            Telemetry.Schema.Backend(name: "web1", address: "10.0.3.2", port: 8081, weight: 1, maximumConnections: 0),
            Telemetry.Schema.Backend(name: "web2", address: "10.0.3.2", port: 8082, weight: 1, maximumConnections: 0),
            Telemetry.Schema.Backend(name: "web3", address: "10.0.3.2", port: 8083, weight: 1, maximumConnections: 0),
            Telemetry.Schema.Backend(name: "spare", address: "10.0.3.2", port: 8084, weight: 1, maximumConnections: 0, backup: true),
        ], retries: 2, connectTimeoutMilliseconds: 1000, slowStartMilliseconds: 10_000, check: "http GET /health expect 200")]
        var snapshot = Telemetry.Snapshot()
        snapshot.sequence = 1
        snapshot.services = [Telemetry.TrafficValues()]
        var web1 = Telemetry.BackendValues()
        web1.up = true
        web1.checkOutcome = .passed
        web1.checkStatusCode = 200
        web1.traffic[.totalConnections] = 120
        var web2 = Telemetry.BackendValues()
        web2.checkOutcome = .badStatus
        web2.checkStatusCode = 503
        web2.consecutiveFailures = 3
        web2.traffic[.redispatched] = 17
        var web3 = Telemetry.BackendValues()
        web3.up = true
        web3.checkOutcome = .passed
        web3.slowStartPercent = 40
        var spare = Telemetry.BackendValues()
        spare.up = true
        spare.checkOutcome = .refused
        snapshot.backends = [web1, web2, web3, spare]
        var model = TelemetryModel()
        model.apply(.schema(schema))
        model.apply(.snapshot(snapshot))
        return DashboardInput(model: model, telemetry: TelemetryStatus(address: "127.0.0.1:9180", connected: true),
                              now: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func render(width: Int, height: Int) -> Screen {
        let dashboard = Dashboard()
        dashboard.state.view = .backends
        return dashboard.render(Self.input(), width: width, height: height)
    }

    /// The style of the first cell of `text` on the line that names `backend`.
    func style(of text: String, on backend: String, in screen: Screen) -> Style? {
        for (y, line) in screen.lines.enumerated() where line.contains(backend) {
            guard let range = line.range(of: text) else { return nil }
            let x = line.unicodeScalars.distance(from: line.unicodeScalars.startIndex, to: range.lowerBound.samePosition(in: line.unicodeScalars)!)
            return screen[x, y].style
        }
        return nil
    }

    @Test(arguments: [(80, 24), (120, 40), (160, 40)])
    func theFailoverColumnsFit(width: Int, height: Int) throws {
        let screen = render(width: width, height: height)
        let lines = screen.lines
        #expect(lines.allSatisfy { $0.unicodeScalars.count <= width })
        let header = try #require(lines.first { $0.contains("SERVICE/BACKEND") })
        for title in ["REDISP", "CHECK", "MODE"] { #expect(header.contains(title), "\(title) at \(width)x\(height)") }
        let web2 = try #require(lines.first { $0.contains("web/web2") })
        #expect(web2.contains("bad status 503") && web2.contains("17"), "\(web2)")
        let web3 = try #require(lines.first { $0.contains("web/web3") })
        #expect(web3.contains("ramp 40%") && web3.contains(" ok "), "\(web3)")
        let spare = try #require(lines.first { $0.contains("web/spare") })
        #expect(spare.contains("backup") && spare.contains("refused"), "\(spare)")
        let web1 = try #require(lines.first { $0.contains("web/web1") })
        #expect(!web1.contains("backup") && !web1.contains("ramp"))
    }

    @Test func aPassedCheckIsGreenAndAFailedOneRed() throws {
        let screen = render(width: 120, height: 40)
        #expect(style(of: "bad status 503", on: "web/web2", in: screen)?.role == .down)
        #expect(style(of: "ok", on: "web/web3", in: screen)?.role == .up)
        #expect(style(of: "ramp 40%", on: "web/web3", in: screen)?.role == .warning)
    }
}
