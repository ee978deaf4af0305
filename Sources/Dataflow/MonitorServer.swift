import FlyingFox
import Foundation
import Synchronization

/// The HTTP endpoint of a running graph (FlyingFox, loopback by default):
/// - `GET /metrics`: Prometheus text (``PrometheusExporter``);
/// - `GET /stats`: the current ``GraphSnapshot`` as JSON.
///
/// `distill monitor HOST:PORT` reads `/stats`.
public final class MonitorServer: Sendable {
    private let server: HTTPServer
    private let task: Task<Void, Never>
    /// The address it listens on (with the real port when port 0 was asked).
    public let address: MonitorAddress

    /// Starts listening and serving.
    /// - Parameters:
    ///   - address: where to listen; port 0 picks a free port.
    ///   - snapshot: called per request for the current stats.
    /// - Throws: ``MonitorError`` when the address is not an IPv4 address or cannot be bound.
    public init(address: MonitorAddress, snapshot: @escaping @Sendable () -> GraphSnapshot) async throws {
        let socketAddress: sockaddr_in
        do {
            socketAddress = try .inet(ip4: address.host, port: address.port)
        } catch {
            throw MonitorError(message: "cannot listen on \(address): '\(address.host)' is not an IPv4 address")
        }
        let server = HTTPServer(address: socketAddress, timeout: 5, logger: .disabled)
        let exporter = PrometheusExporter()
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(
                statusCode: .ok, headers: HTTPHeaders([.contentType: "text/plain; version=0.0.4; charset=utf-8"]),
                body: Data(exporter.render(snapshot()).utf8))
        }
        await server.appendRoute("GET /stats") { _ in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? encoder.encode(snapshot())) ?? Data("{}".utf8)
            return HTTPResponse(
                statusCode: .ok, headers: HTTPHeaders([.contentType: "application/json"]), body: body)
        }
        let failure = ErrorBox()
        let task = Task {
            do { try await server.run() } catch { failure.set(error) }
        }
        // Wait until the server listens, or fails to (a port in use fails at once), for at most 5 s.
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        var bound: MonitorAddress?
        while bound == nil {
            if let error = failure.get() {
                throw MonitorError(message: "cannot listen on \(address): \(error)")
            }
            guard ContinuousClock.now < deadline else {
                task.cancel()
                throw MonitorError(message: "cannot listen on \(address): the server did not start within 5 s")
            }
            switch await server.listeningAddress {
            case .ip4(let host, let port)?:
                bound = MonitorAddress(host: host, port: port)
            case .some:
                task.cancel()
                throw MonitorError(message: "cannot listen on \(address): the server did not report an IPv4 address")
            case nil:
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        self.server = server
        self.task = task
        self.address = bound!
    }

    /// Stops serving.
    public func stop() async {
        await server.stop(timeout: 1)
        task.cancel()
    }
}

/// The error a background task ended with, if any.
private final class ErrorBox: Sendable {
    private let value = Mutex<(any Error)?>(nil)
    func set(_ error: any Error) { value.withLock { $0 = error } }
    func get() -> (any Error)? { value.withLock { $0 } }
}

/// The monitor could not listen, or a monitor client could not read a running graph.
public struct MonitorError: Error, CustomStringConvertible {
    /// Names the address and the reason.
    public let message: String
    public var description: String { message }
}
