/// "1 rule", "2 rules": a count with its noun in the right number.
/// - Parameter plural: the plural when it is not `singular` + "s".
public func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) " + (count == 1 ? singular : plural ?? singular + "s")
}
