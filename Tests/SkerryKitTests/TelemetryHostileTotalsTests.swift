import KernelCore
@testable import SkerryKit
import Testing

/// Totals from the appliance are untrusted: a hostile one must not be able
/// to trap the host's rate arithmetic.
@Suite struct TelemetryHostileTotalsTests {
    @Test func byteTotalsAtTheTopOfTheRangeDoNotTrap() {
        var old = Telemetry.Snapshot()
        old.uptimeMilliseconds = 1000
        var backend = Telemetry.BackendValues()
        backend.traffic[.bytesToBackend] = UInt64.max
        backend.traffic[.bytesToClient] = 1
        old.backends = [backend]
        var new = old
        new.uptimeMilliseconds = 2000
        let rates = TelemetryModel.rates(from: old, to: new)
        #expect(rates.backendBytes == [0])
    }
}
