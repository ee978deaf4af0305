import ArgumentParser
import Foundation
import SlideIO

/// `distill inspect SLIDE [--json]`: what OpenSlide sees in a slide file, and its resolution.
///
/// Exit codes: 0 when the slide opens (a missing resolution or undecodable pixels are reported, not
/// fatal); 1 when it cannot be opened, or the `--mpp-override` CSV is malformed (the message names the file
/// and the reason, with the line number for a CSV).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a slide's vendor, levels and downsamples, mpp and its source, bounds, background and associated images.",
        discussion: "Exit code 0 when the slide opens (even without a resolution), 1 when it cannot be opened.")

    @Argument(help: "A slide file (.svs, .ndpi, .tiff, …).")
    var slide: String

    @Flag(help: "Print the report as JSON (snake_case keys).")
    var json = false

    @Option(name: .customLong("mpp-override"),
            help: ArgumentHelp("A resolution override: a number in µm/px for this slide, or a CSV file of `slide,mpp` lines.",
                               valueName: "MPP|CSV"))
    var mppOverride: String?

    @Flag(name: .customLong("no-probe"), help: "Do not test-read pixels at every level.")
    var noProbe = false

    func run() throws {
        var resolver = ResolutionResolver()
        if let mppOverride {
            if let value = Double(mppOverride) {
                guard value.isFinite, value > 0 else { throw ValidationError("--mpp-override must be a positive number of µm/px") }
                resolver.runOverride = value
            } else {
                do {
                    resolver.slideOverrides = try MPPOverrideTable(contentsOf: mppOverride)
                } catch {
                    Console.error("error: \(error)")
                    throw ExitCode(1)
                }
            }
        }
        let opened: Slide
        do {
            opened = try Slide(path: slide)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        let report = SlideInspection(slide: opened, resolver: resolver, probe: !noProbe)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for line in report.lines { Console.out(line) }
        }
    }
}
