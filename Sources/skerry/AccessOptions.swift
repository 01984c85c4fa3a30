import ArgumentParser

/// What a dashboard may change, and the token it changes it with (`demo`;
/// `top` declares the same two options).
struct AccessOptions: ParsableArguments {
    @Flag(name: .customLong("read-only"),
          help: "Change nothing: no drain, enable, disable or restart, and the console line sends only the shell's reporting commands.")
    var readOnly = false

    @Option(help: "The admin token for actions (default: the appliance file's, or $SKERRY_ADMIN_TOKEN).")
    var token: String?
}
