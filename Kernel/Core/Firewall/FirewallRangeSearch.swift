/// Membership in a sorted list of closed ranges, for generated classifiers
/// whose conditions hold too many ranges to test one by one.
public enum FirewallRangeSearch {
    /// Whether `value` lies in one of the ranges `bounds` holds as
    /// consecutive (lower, upper) pairs, sorted and disjoint.
    @inline(__always)
    public static func contains(_ bounds: [UInt32], _ value: UInt32) -> Bool {
        var low = 0
        var high = bounds.count / 2
        while low < high {
            let middle = (low + high) / 2
            if bounds[middle * 2 + 1] < value { low = middle + 1 } else { high = middle }
        }
        return low < bounds.count / 2 && bounds[low * 2] <= value
    }
}
