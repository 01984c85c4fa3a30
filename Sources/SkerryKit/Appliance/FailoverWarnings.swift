import KernelCore

/// Failover settings that are valid but cannot do what they say: the build
/// warns at the setting to change and goes on.
enum FailoverWarnings {
    /// Where a service's name and failover settings are written; nil: left out.
    struct Tokens {
        var name: ConfigToken
        var retries: ConfigToken?
        var connectTimeout: ConfigToken?
        var synTimeout: ConfigToken?
        /// The service's backends past `ApplianceDescription.maximumBackends` have been reported.
        var tooManyBackends = false
    }

    static func warnings(_ service: ApplianceDescription.Service, _ tokens: Tokens) -> [(ConfigToken, String)] {
        var warnings: [(ConfigToken, String)] = []
        let name = service.name
        // A connection tries each backend at most once, so retries past the other backends never happen.
        if let retries = tokens.retries, !service.backends.isEmpty, service.retries > service.backends.count - 1 {
            warnings.append((retries, "service '\(name)': retries \(service.retries) is more than its other backends "
                + "(\(service.backends.count - 1)); a connection tries each backend at most once"))
        }
        // Each attempt restarts the flow's syn timeout; a connect timeout as long as that never fires.
        if service.retries > 0, service.connectTimeout >= service.timeouts.syn {
            let syn = ApplianceParser.duration(service.timeouts.syn) + (tokens.synTimeout == nil ? " (the default)" : "")
            warnings.append((tokens.connectTimeout ?? tokens.synTimeout ?? tokens.name,
                "service '\(name)': connect-timeout \(ApplianceParser.duration(service.connectTimeout)) is not below the syn timeout "
                + "\(syn); a silent backend's flow expires before it is redispatched"))
        }
        if !service.backends.isEmpty, service.backends.allSatisfy(\.backup) {
            warnings.append((tokens.name, "every backend of service '\(name)' is a backup; without a primary, 'backup' changes nothing"))
        }
        return warnings
    }
}
