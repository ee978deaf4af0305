import Testing
@testable import Dataflow
import Stages

@Suite("Edge: the bounded channel between stages")
struct EdgeTests {
    func makeEdge(capacity: Capacity, producers: Int = 1) -> Edge {
        Edge(configuration: EdgeConfiguration(name: "a.out->b.in", capacity: capacity, producers: producers),
             byteCount: { ($0 as! TestItem).byteCount })
    }

    @Test("items arrive in order, then the stream ends when the producer finishes")
    func orderAndEnd() async throws {
        let edge = makeEdge(capacity: .items(8))
        let sender = edge.makeSender()
        edge.sealProducers()
        let receiver = edge.makeReceiver()
        let producer = Task {
            for sequence in 0..<100 { try await sender.send(TestItem(sequence: sequence, producer: 0, size: 16)) }
            sender.finish()
        }
        var received: [Int] = []
        while let item = try await receiver.next() as? TestItem { received.append(item.sequence) }
        try await producer.value
        #expect(received == Array(0..<100))
        let reading = edge.counters.read()
        #expect(reading.itemsIn == 100 && reading.itemsOut == 100 && reading.bytesOut == 1600)
        #expect(reading.maxDepth <= 8)
    }

    @Test("several producers never put more than the capacity in the edge", arguments: [(9, 4), (5, 4), (17, 16), (2, 1)])
    func boundWithProducers(capacity: Int, producers: Int) async throws {
        let edge = makeEdge(capacity: .items(capacity), producers: producers)
        let senders = (0..<producers).map { _ in edge.makeSender() }
        edge.sealProducers()
        let receiver = edge.makeReceiver()
        let tasks = senders.enumerated().map { index, sender in
            Task {
                for sequence in 0..<200 { try await sender.send(TestItem(sequence: sequence, producer: index, size: 1)) }
                sender.finish()
            }
        }
        // Producers fill the edge to its high mark (C − P) before the consumer starts, so they must wait.
        let deadline = ContinuousClock.now + .seconds(60)
        while edge.counters.read().itemsIn < max(1, capacity - producers) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(edge.counters.read().itemsIn >= max(1, capacity - producers), "producers did not fill the edge within 60 s")
        var count = 0
        while try await receiver.next() != nil {
            count += 1
            if count % 7 == 0 { await Task.yield() }
        }
        for task in tasks { try await task.value }
        #expect(count == 200 * producers)
        let reading = edge.counters.read()
        #expect(reading.maxDepth <= capacity, "max depth \(reading.maxDepth) > capacity \(capacity)")
        #expect(reading.blockedSeconds > 0, "producers never waited, so the bound was not exercised")
    }

    @Test("a byte capacity holds back producers by payload size")
    func byteBound() async throws {
        let edge = makeEdge(capacity: .bytes(64 * 1024))
        let sender = edge.makeSender()
        edge.sealProducers()
        let receiver = edge.makeReceiver()
        let producer = Task {
            for sequence in 0..<200 { try await sender.send(TestItem(sequence: sequence, producer: 0, size: 4096)) }
            sender.finish()
        }
        // Let the producer fill the edge to its bound (16 items of 4 KiB) before consuming, so the bound
        // is exercised whatever the relative speed of the two tasks.
        while edge.counters.read().itemsIn < 16 { await Task.yield() }
        var count = 0
        while try await receiver.next() != nil { count += 1 }
        try await producer.value
        let reading = edge.counters.read()
        #expect(count == 200)
        // Soft bound: the capacity plus one item for the producer and one being handed over.
        #expect(reading.maxDepthBytes <= 64 * 1024 + 2 * 4096)
        #expect(reading.maxDepthBytes >= 32 * 1024, "the edge never filled, so the test proved nothing")
    }

    @Test("a producer's error reaches the consumer after the buffered items")
    func errorAfterItems() async throws {
        let edge = makeEdge(capacity: .items(8))
        let sender = edge.makeSender()
        edge.sealProducers()
        let receiver = edge.makeReceiver()
        for sequence in 0..<3 { try await sender.send(TestItem(sequence: sequence, producer: 0, size: 1)) }
        sender.finish(throwing: UpstreamFailed(stage: "a", underlying: InjectedFault(stage: "a", after: 3)))
        var received: [Int] = []
        await #expect(throws: UpstreamFailed.self) {
            while let item = try await receiver.next() as? TestItem { received.append(item.sequence) }
        }
        #expect(received == [0, 1, 2])
    }

    @Test("a consumer that stops makes waiting and later sends throw DownstreamClosed")
    func consumerStops() async throws {
        let edge = makeEdge(capacity: .items(2))
        let sender = edge.makeSender()
        edge.sealProducers()
        let receiver = edge.makeReceiver()
        let producer = Task { () -> Int in
            var sent = 0
            do {
                while true {
                    try await sender.send(TestItem(sequence: sent, producer: 0, size: 1))
                    sent += 1
                }
            } catch is DownstreamClosed {
                return sent
            }
        }
        _ = try await receiver.next()
        receiver.close()
        let sent = try await producer.value
        #expect(sent >= 1 && sent <= 3)
    }

    @Test("cancelling a producer blocked on a full edge ends its wait")
    func cancelBlockedSend() async throws {
        let edge = makeEdge(capacity: .items(2))
        let sender = edge.makeSender()
        edge.sealProducers()
        let receiver = edge.makeReceiver()
        let producer = Task {
            for sequence in 0..<10 { try await sender.send(TestItem(sequence: sequence, producer: 0, size: 1)) }
        }
        while edge.counters.read().itemsIn < 1 { await Task.yield() }
        producer.cancel()
        await #expect(throws: SendCancelled.self) { try await producer.value }
        receiver.close()
    }
}
