import Foundation

/// Numbers as an operator reads them: 1.2K, 3.4M; durations as 5s, 3m12s,
/// 2h05m. The dashboard and `skerry stats --watch` share these units.
public enum Format {
    public static func count(_ value: UInt64) -> String { count(Double(value), decimals: false) }

    public static func count(_ value: Double, decimals: Bool = true) -> String {
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")]
        for (scale, unit) in units where value >= scale { return String(format: "%.1f%@", value / scale, unit) }
        return decimals && value > 0 && value < 10 ? String(format: "%.1f", value) : String(format: "%.0f", value)
    }

    public static func bytes(_ value: Double) -> String {
        let units: [(Double, String)] = [(1_099_511_627_776, "T"), (1_073_741_824, "G"), (1_048_576, "M"), (1024, "K")]
        for (scale, unit) in units where value >= scale { return String(format: "%.1f%@", value / scale, unit) }
        return String(format: "%.0fB", value)
    }

    public static func rate(_ value: Double) -> String { count(value) + "/s" }

    public static func duration(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds))
        if whole < 60 { return seconds < 10 ? String(format: "%.1fs", max(0, seconds)) : "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        if whole < 86400 { return String(format: "%dh%02dm", whole / 3600, whole / 60 % 60) }
        return String(format: "%dd%02dh", whole / 86400, whole / 3600 % 24)
    }

    public static func milliseconds(_ value: UInt64) -> String { duration(Double(value) / 1000) }
}
