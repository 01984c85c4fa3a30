import SkerryKit

/// A key press, decoded by the terminal backend.
public enum Key: Equatable, Sendable {
    case character(Character)
    case tab, backTab, up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace
    /// The terminal changed size.
    case resize
}

/// What the dashboard asks its host to do in response to keys.
public enum DashboardCommand: Equatable, Sendable {
    case quit
    case admin(AdminRequest)
    case restartVM
    /// A line typed for the kernel shell.
    case console(String)
}

/// A drain, enable or disable of one backend.
public struct AdminRequest: Equatable, Sendable {
    public var action: Telemetry.AdminAction
    public var service: String
    public var backend: String

    public init(action: Telemetry.AdminAction, service: String, backend: String) {
        self.action = action
        self.service = service
        self.backend = backend
    }

    public var target: String { "\(service)/\(backend)" }
}
