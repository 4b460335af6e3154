import Benchmark
import Foundation
import OrderFlowAPI
import OrderFlowDomain

// OrderFlow's per-order hot paths, CPU only (no I/O): what POST /api/orders does between
// receiving the body and writing the order, and the per-transmission work of the monitor.
//
// Run: python3 scripts/bench_micro.py OUTPUT.md, or swift package --package-path Benchmarks benchmark.
// Keep each name a string literal in a `Benchmark("…"` call: scripts/bench_micro.py reads them
// from the sources to order its table and to undo the JMH export's spaces-to-underscores.

extension Benchmark.Configuration {
    /// Short runs, so the suite takes about a minute. Operations of a few microseconds or less
    /// run `batch` at a time (`for _ in benchmark.scaledIterations`), so the clock's own cost
    /// does not count: the tag `batch` puts the number into the benchmark's name, which
    /// scripts/bench_micro.py reads to report per-operation figures.
    static func orderFlow(batch: BenchmarkScalingFactor = .one) -> Self {
        .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
            tags: batch == .one ? [:] : ["batch": "\(batch.rawValue)"],
            warmupIterations: batch == .one ? 100 : 3,
            scalingFactor: batch,
            maxDuration: .milliseconds(1_500),
            maxIterations: batch == .one ? 20_000 : 2_000)
    }
}

let benchmarks: @Sendable () -> Void = {
    let decoder = APICoders.decoder()
    let encoder = APICoders.encoder()
    let now = Fixtures.now

    // MARK: JSON

    Benchmark("Decode CreateOrderRequest, 1 line", configuration: .orderFlow()) { _ in
        blackHole(try decoder.decode(Components.Schemas.CreateOrderRequest.self, from: Fixtures.oneLineBody))
    }

    Benchmark("Decode CreateOrderRequest, 4 lines", configuration: .orderFlow()) { _ in
        blackHole(try decoder.decode(Components.Schemas.CreateOrderRequest.self, from: Fixtures.fourLineBody))
    }

    Benchmark("Encode Order, 1 line", configuration: .orderFlow()) { _ in
        blackHole(try encoder.encode(Fixtures.oneLineResponse))
    }

    Benchmark("Encode Order, 4 lines", configuration: .orderFlow()) { _ in
        blackHole(try encoder.encode(Fixtures.fourLineResponse))
    }

    // MARK: Mapping between the API's types and the domain

    Benchmark("Map request to draft, 4 lines", configuration: .orderFlow(batch: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Representation.draft(Fixtures.fourLineRequest))
        }
    }

    Benchmark("Map order to response, 4 lines", configuration: .orderFlow()) { _ in
        blackHole(Representation.order(Fixtures.fourLineOrder, history: Fixtures.created(Fixtures.fourLineOrder)))
    }

    // MARK: Intake: rules A–I, enrichment, calculation

    Benchmark("Intake (validate + calculate), 1 line", configuration: .orderFlow()) { _ in
        blackHole(try OrderIntake.prepare(Fixtures.oneLineDraft, catalog: Fixtures.oneLineSnapshot, at: now))
    }

    Benchmark("Intake (validate + calculate), 4 lines", configuration: .orderFlow()) { _ in
        blackHole(try OrderIntake.prepare(Fixtures.fourLineDraft, catalog: Fixtures.fourLineSnapshot, at: now))
    }

    Benchmark("Intake rejected (3 rule failures)", configuration: .orderFlow()) { _ in
        do {
            blackHole(try OrderIntake.prepare(Fixtures.rejectedDraft, catalog: Fixtures.rejectedSnapshot, at: now))
        } catch {
            blackHole(error)
        }
    }

    // Validation has no entry point of its own (OrderIntake.prepare always calculates); the
    // calculation does, so intake minus this is roughly the cost of the rules.
    Benchmark("Calculate totals, 4 lines", configuration: .orderFlow(batch: .kilo)) { benchmark in
        var order = Fixtures.fourLineOrder
        for _ in benchmark.scaledIterations {
            OrderCalculator.calculate(&order)
            blackHole(order.totals)
        }
    }

    // MARK: The whole create-order CPU path

    Benchmark("Create order, CPU path, 4 lines", configuration: .orderFlow()) { _ in
        let body = try decoder.decode(Components.Schemas.CreateOrderRequest.self, from: Fixtures.fourLineBody)
        let draft = Representation.draft(body)
        let order = try OrderIntake.prepare(draft, catalog: Fixtures.fourLineSnapshot, at: now)
        let response = Representation.order(order, history: Fixtures.created(order))
        blackHole(try encoder.encode(response))
    }

    // MARK: Pipeline and monitoring, per order

    Benchmark("Status moves, allocate + release", configuration: .orderFlow(batch: .kilo)) { benchmark in
        var order = Fixtures.fourLineOrder
        for _ in benchmark.scaledIterations {
            order.status = .open
            blackHole(try order.move(to: .allocated, reason: "stock reserved at \(order.shipFromLocationID)", actor: "pipeline", at: now))
            blackHole(try order.move(to: .released, reason: "released to fulfilment as one release", actor: "pipeline", at: now))
        }
    }

    Benchmark("Classify transmission", configuration: .orderFlow(batch: .kilo)) { benchmark in
        let cases = Fixtures.transmissions
        for index in benchmark.scaledIterations {
            let (deadline, acknowledgedAt, failed, now) = cases[index & 7]
            blackHole(TransmissionStatus.classify(deadline: deadline, acknowledgedAt: acknowledgedAt, failed: failed, now: now))
        }
    }

    Benchmark("Normalize order reference", configuration: .orderFlow(batch: .kilo)) { benchmark in
        let normalizer = OrderReferenceNormalizer()
        let references = Fixtures.references
        for index in benchmark.scaledIterations {
            blackHole(normalizer.normalize(references[index & 7]))
        }
    }
}
