/// Replicas of a map stage that keep input order (`ordered: true`).
///
/// ```
///              ┌─ worker 0 ─┐
/// in ─ deal ───┼─ worker 1 ─┼─── collect ─ out      item i goes to worker i mod N and its result is
///  (dispatch)  └─ worker 2 ─┘    (sequence)         taken from worker i mod N, in the same order
/// ```
/// Each worker has a one-item edge on each side, so at most 3 items per worker are between the
/// stage's input and output edges. A dropped item (`process` returned nil) still takes its turn.
/// A slow item holds up the ones after it, as ordering requires.
enum OrderedMapPool {
    static func launch<S: MapStage>(_ type: S.Type, _ setup: StageLaunchSetup) throws -> StagePlan {
        let node = setup.node
        let replicas = node.replicas
        let clocks = (0..<replicas).map { ReplicaClock(counters: setup.counters, replica: $0, measuresOnSend: false) }
        let toWorkers = (0..<replicas).map {
            Edge(configuration: .init(name: "\(node.name)/deal->\($0)", capacity: .items(1), producers: 1),
                 byteCount: nil)
        }
        let fromWorkers = (0..<replicas).map {
            Edge(configuration: .init(name: "\(node.name)/\($0)->collect", capacity: .items(1), producers: 1),
                 byteCount: nil)
        }
        let dealers = toWorkers.map { $0.makeSender() }
        let collectors = fromWorkers.map { $0.makeSender() }
        for edge in toWorkers { edge.sealProducers() }
        for edge in fromWorkers { edge.sealProducers() }

        let input = setup.inputEdges[S.input.name]!.makeReceiver()
        let outputEdges = setup.outputEdges[S.output.name, default: []]
        let outbox = Outbox<S.Output>(
            port: S.output.name, senders: outputEdges.map { $0.makeSender() }, clock: clocks[0], accountsTime: false)

        var tasks: [PlannedTask] = []
        var contexts: [StageContext] = []
        for replica in 0..<replicas {
            let receiver = toWorkers[replica].makeReceiver()
            let inbox = Inbox<S.Input>(port: S.input.name, source: receiver, clock: clocks[replica])
            let context = StageContext(
                stageName: node.name, stageType: node.type, replica: replica, replicas: replicas,
                parameters: node.parameters, device: node.device, seed: setup.seed,
                runDirectory: setup.runDirectory, resuming: setup.resuming, logger: setup.logger, metrics: setup.metrics,
                counters: setup.counters,
                inboxes: [S.input.name: inbox], outboxes: [:], finishers: [])
            let stage = try S(parameters: node.parameters)
            let results = collectors[replica]
            let clock = clocks[replica]
            contexts.append(context)
            tasks.append(PlannedTask(
                label: "\(node.name)#\(replica)", replica: replica, isSource: false,
                body: {
                    clock.begin(at: MonotonicClock.now())
                    while let item = try await inbox.next() {
                        let result = try await stage.process(item, context: context)
                        clock.activity.set(.sending)
                        clock.addBlocked(try await results.send(result))
                        clock.activity.set(.working)
                    }
                },
                cleanup: { end in
                    if case .failed(let error) = end {
                        results.finish(throwing: UpstreamFailed(stage: node.name, underlying: error))
                    } else {
                        results.finish()
                    }
                    receiver.close()
                }))
        }
        tasks.append(PlannedTask(
            label: "\(node.name)/deal", replica: nil, isSource: false,
            body: {
                var index = 0
                while let item = try await input.next() {
                    try await dealers[index % replicas].send(item)
                    index += 1
                }
            },
            cleanup: { end in
                for dealer in dealers {
                    if case .failed(let error) = end { dealer.finish(throwing: error) } else { dealer.finish() }
                }
                input.close()
            }))
        let resultReceivers = fromWorkers.map { $0.makeReceiver() }
        tasks.append(PlannedTask(
            label: "\(node.name)/collect", replica: nil, isSource: false,
            body: {
                var index = 0
                while let boxed = try await resultReceivers[index % replicas].next() {
                    if let result = boxed as! S.Output? { try await outbox.send(result) }
                    index += 1
                }
            },
            cleanup: { end in
                if case .failed(let error) = end {
                    outbox.finish(throwing: UpstreamFailed(stage: node.name, underlying: error))
                } else {
                    outbox.finish()
                }
                for receiver in resultReceivers { receiver.close() }
            }))
        return StagePlan(tasks: tasks, contexts: contexts, afterAll: {})
    }
}
