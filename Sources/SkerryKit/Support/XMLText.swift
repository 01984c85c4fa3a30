extension String {
    /// The text for an XML 1.0 element or attribute value: the five special
    /// characters escaped, and control characters XML cannot hold (all but
    /// tab, newline and carriage return) replaced by `?`. One rule for the
    /// JUnit report, the OVF descriptor and the libvirt domain.
    public var xmlEscaped: String {
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default:
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" {
                    escaped += "?"
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        return escaped
    }
}
