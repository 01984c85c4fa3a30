/// The kernel's version, printed in the boot banner.
public enum KernelVersion {
    public static let text: StaticString = "0.1.0"
}
