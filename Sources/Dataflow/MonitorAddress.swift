/// `HOST:PORT` for the monitor, an IPv4 address (`127.0.0.1:9464`, `0.0.0.0:9464`; `localhost` means
/// 127.0.0.1). Port 0 asks the system for a free port. IPv6 is not supported by the HTTP server.
public struct MonitorAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    /// An address from an IPv4 host (dotted quad) and a port.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `IPV4:PORT`; nil when either part is missing, the host is not a dotted IPv4 address (or
    /// `localhost`), or the port is not 0…65535.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }),
              let port = UInt16(text[text.index(after: colon)...])
        else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}
