#if canImport(Glibc)
import Glibc
#endif

/// Writing to the terminal (unbuffered, so pipes and tests see lines at once).
enum Console {
    /// Writes a line to standard error.
    static func error(_ line: String) { write(line + "\n", to: 2) }

    /// Redraws the current line of standard error (carriage return, text, clear to end of line; no newline).
    static func errorInPlace(_ text: String) { write("\r" + text + "\u{1B}[K", to: 2) }

    /// Writes a line to standard output.
    static func out(_ line: String) { write(line + "\n", to: 1) }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Whether standard error is a terminal (live tables redraw in place only there).
    static var stderrIsTerminal: Bool { isatty(2) == 1 }
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// Clears a terminal and moves the cursor home.
    static let clearScreen = "\u{1B}[H\u{1B}[2J"
}
