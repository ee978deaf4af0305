import FlyingFox
import Foundation

/// Reads `/stats` and `/metrics` from a running graph's ``MonitorServer``.
public enum MonitorClient {
    /// The current snapshot of the graph at `address`.
    /// - Throws: ``MonitorError`` naming the address when nothing answers or the reply is not a snapshot.
    public static func snapshot(from address: MonitorAddress) async throws -> GraphSnapshot {
        let body = try await get("/stats", from: address)
        do {
            return try JSONDecoder().decode(GraphSnapshot.self, from: body)
        } catch {
            throw MonitorError(message: "\(address)/stats did not return a graph snapshot: \(error)")
        }
    }

    /// The Prometheus text of the graph at `address`.
    public static func metrics(from address: MonitorAddress) async throws -> String {
        String(decoding: try await get("/metrics", from: address), as: UTF8.self)
    }

    static func get(_ path: String, from address: MonitorAddress) async throws -> Data {
        let socketAddress: sockaddr_in
        do {
            socketAddress = try .inet(ip4: address.host, port: address.port)
        } catch {
            throw MonitorError(message: "'\(address.host)' is not an IPv4 address")
        }
        var client = HTTPClient()
        let response: HTTPResponse
        do {
            let request = HTTPRequest(method: .GET, version: .http11, path: path, query: [],
                                      headers: [.host: address.description, .connection: "close"], body: Data())
            response = try await client.sendHTTPRequest(request, to: socketAddress)
        } catch {
            throw MonitorError(message: "no graph answers at \(address) (is `distill run --listen \(address)` running?): \(error)")
        }
        guard response.statusCode == .ok else {
            throw MonitorError(message: "\(address)\(path) answered \(response.statusCode.code)")
        }
        return try await response.bodyData
    }
}
