/// The serial console's counter reports (`nics`, `netstat`, `conns`),
/// written to any `TextSink`. Each iterates the core's counter sets, so a
/// counter added to its enum shows up here without a change.
public enum ConsoleReport {
    /// `nics`: one line per NIC, e.g.
    /// `nic admin: rx 12 pkts 1480 bytes, tx 9 pkts 1020 bytes, drops rx-no-buffer 0 rx-bad-frame 0 tx-ring-full 0, errors 0, link up`.
    public static func writeNICs<Sink: TextSink>(_ stack: NetworkStack, to out: inout Sink) {
        for interface in stack.interfaces {
            writeNIC(interface, to: &out)
        }
    }

    /// One NIC's line of `writeNICs`.
    public static func writeNIC<Sink: TextSink>(_ interface: NetworkInterface, to out: inout Sink) {
        let counters = interface.device.counters
        out.write("nic ")
        out.write(interface.role.name)
        out.write(": rx ")
        out.write(decimal: counters[.rxPackets])
        out.write(" pkts ")
        out.write(decimal: counters[.rxBytes])
        out.write(" bytes, tx ")
        out.write(decimal: counters[.txPackets])
        out.write(" pkts ")
        out.write(decimal: counters[.txBytes])
        out.write(" bytes, drops")
        counters.forEach { key, value in
            guard key.kind == .drop else { return }
            out.write(" ")
            out.write(key.name)
            out.write(" ")
            out.write(decimal: value)
        }
        counters.forEach { key, value in
            guard key.kind == .error else { return }
            out.write(", errors ")
            out.write(decimal: value)
        }
        out.write(interface.device.linkUp ? ", link up" : ", link down")
        out.newline()
    }

    /// `netstat`: the stack's and TCP's counters that are not zero, then the
    /// free packet buffers, e.g. `stack: frames-received=3 udp-delivered=1; buffers free 250/256`.
    public static func writeStackCounters<Sink: TextSink>(_ stack: NetworkStack, to out: inout Sink) {
        writeStackCounters(stack.counters, stack.tcp.counters, buffersFree: stack.pool.available, buffers: stack.pool.count, to: &out)
    }

    /// The `netstat` line for these counters and buffer figures.
    public static func writeStackCounters<Sink: TextSink>(_ counters: StackCounters, _ tcp: TCPCounters, buffersFree: Int,
                                                          buffers: Int, to out: inout Sink) {
        out.write("stack:")
        var any = false
        writeNonZero(counters, to: &out, any: &any)
        writeNonZero(tcp, to: &out, any: &any)
        if !any { out.write(" (all zero)") }
        out.write("; buffers free ")
        out.write(decimal: UInt64(buffersFree))
        out.write("/")
        out.write(decimal: UInt64(buffers))
        out.newline()
    }

    /// `conns`: the table's fill and its flows by state, then every
    /// connection-table and balancer counter, e.g.
    /// `connections: 3 of 65536, syn 0, ..., closed 0; half-open 1 of 16384` and
    /// `conntrack: created=3 ... rst-inexact=0; balancer: invalid=0 ... bad-checksum=0`.
    public static func writeConnectionSummary<Sink: TextSink>(_ balancer: LoadBalancer, to out: inout Sink) {
        let tracker = balancer.tracker
        var byState = [Int](repeating: 0, count: ConnectionTracker.FlowState.allCases.count)
        for entry in tracker.entries where entry.inUse { byState[Int(entry.state.rawValue)] += 1 }
        out.write("connections: ")
        out.write(decimal: tracker.count)
        out.write(" of ")
        out.write(decimal: tracker.capacity)
        for state in ConnectionTracker.FlowState.allCases {
            out.write(", ")
            out.write(state.name)
            out.write(" ")
            out.write(decimal: byState[Int(state.rawValue)])
        }
        out.write("; half-open ")
        out.write(decimal: tracker.halfOpenCount)
        out.write(" of ")
        out.write(decimal: tracker.halfOpenLimit)
        out.newline()
        writeCounters("conntrack:", tracker.counters, to: &out)
        writeCounters("; balancer:", balancer.counters, to: &out)
        out.newline()
    }

    /// The telemetry port's counters on one line, e.g. `telemetry: clients-accepted=2 ... admin-rate-limited=0`.
    public static func writeTelemetryCounters<Sink: TextSink>(_ counters: TelemetryCounters, to out: inout Sink) {
        writeCounters("telemetry:", counters, to: &out)
        out.newline()
    }

    /// `label name=value ...` for every counter of `set`.
    static func writeCounters<Key: CounterKey, Sink: TextSink>(_ label: StaticString, _ set: CounterSet<Key>, to out: inout Sink) {
        out.write(label)
        set.forEach { key, value in
            out.write(" ")
            out.write(key.name)
            out.write("=")
            out.write(decimal: value)
        }
    }

    private static func writeNonZero<Key: CounterKey, Sink: TextSink>(_ set: CounterSet<Key>, to out: inout Sink, any: inout Bool) {
        set.forEach { key, value in
            guard value > 0 else { return }
            out.write(" ")
            out.write(key.name)
            out.write("=")
            out.write(decimal: value)
            any = true
        }
    }
}
