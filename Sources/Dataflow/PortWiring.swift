/// The inboxes of one input port, one per replica, and how to release them.
struct InputWiring: Sendable {
    /// `Inbox<Item>` per replica.
    let inboxes: [any Sendable]
    /// Per replica: stops consuming when the replica returns (direct receivers only).
    let closeReplica: [@Sendable () -> Void]
    /// Called once every replica has returned (stops a shared dispatcher).
    let closeAll: @Sendable () -> Void

    static func make<Item: Sendable>(
        _ port: String, _ type: Item.Type, edge: Edge, clocks: [ReplicaClock]
    ) -> InputWiring {
        let receiver = edge.makeReceiver()
        if clocks.count == 1 {
            return InputWiring(
                inboxes: [Inbox<Item>(port: port, source: receiver, clock: clocks[0])],
                closeReplica: [{ receiver.close() }], closeAll: {})
        }
        let shared = SharedInput(receiver: receiver)
        return InputWiring(
            inboxes: clocks.map { Inbox<Item>(port: port, source: shared.makeReader(), clock: $0) },
            closeReplica: clocks.map { _ in {} }, closeAll: { shared.stop() })
    }
}

/// One replica's outbox on an output port, and how to end its streams.
struct OutputWiring: Sendable {
    /// `Outbox<Item>`.
    let outbox: any Sendable
    let finish: @Sendable ((any Error)?) -> Void

    static func make<Item: Sendable>(
        _ port: String, _ type: Item.Type, edges: [Edge], clock: ReplicaClock
    ) -> OutputWiring {
        let senders = edges.map { $0.makeSender() }
        let outbox = Outbox<Item>(port: port, senders: senders, clock: clock)
        return OutputWiring(outbox: outbox, finish: { outbox.finish(throwing: $0) })
    }
}
