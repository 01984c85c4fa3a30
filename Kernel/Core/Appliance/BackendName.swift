extension LoadBalancer {
    /// Writes `SERVICE/BACKEND`, the name the console, the shell and admin
    /// actions give a backend.
    public static func writeName<Sink: TextSink>(_ service: Service, _ backend: Backend, to sink: inout Sink) {
        sink.write(service.configuration.name)
        sink.write("/")
        sink.write(backend.configuration.name)
    }
}
