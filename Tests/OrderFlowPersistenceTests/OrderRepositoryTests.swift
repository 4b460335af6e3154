import Foundation
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@Suite("Orders in storage", .databaseSlots)
struct OrderRepositoryTests {
    static let start = Timestamp(microseconds: 1_795_000_000_000_000)

    @Test(arguments: TestDatabase.kinds)
    func roundTripKeepsEveryFieldExactly(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            var order = try Samples.order("ORD-1", at: Self.start)
            order.t1MembershipID = "1234567890123456"
            order.custRef = "REF/1"
            #expect(try await Samples.create(order, in: repository) == .created)

            let stored = try #require(try await repository.find(OrderID("ord-1")))
            #expect(stored.order == order)
            #expect(stored.order.totals.orderTotal.description == "413.0000")
            #expect(stored.history.map(\.status) == [.open])
            #expect(stored.history.first?.actor == "test")

            let events = try await repository.events(of: order.id)
            #expect(events.map(\.type) == ["order.created"])
            let payload = try JSONSerialization.jsonObject(with: Data(events[0].payload.utf8)) as? [String: Any]
            #expect(payload?["orderId"] as? String == "ORD-1")
            #expect(payload?["orderTotal"] as? String == "413.0000")
            #expect((payload?["lines"] as? [Any])?.count == 2)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func duplicateOrderIDIsRefusedAndChangesNothing(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            try await Samples.create(try Samples.order("ORD-1", at: Self.start), in: repository)
            await #expect(throws: DomainError.duplicateOrder(OrderID("ORD-1"))) {
                try await Samples.create(
                    try Samples.order("ord-1", customer: "Someone Else", at: Self.start.adding(seconds: 1)),
                    in: repository)
            }
            #expect(try await database.count("orders") == 1)
            #expect(try await database.count("order_lines") == 2)
            #expect(try await database.count("order_status_history") == 1)
            #expect(try await database.count("outbox") == 1)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func idempotencyKeyReplaysAndRefusesOtherBodies(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            let order = try Samples.order("ORD-1", at: Self.start)
            let claim = IdempotencyClaim(
                scope: "caller", key: "k-1", requestHash: "hash-a", statusCode: 201,
                responseBody: #"{"orderId":"ORD-1"}"#)
            #expect(try await Samples.create(order, in: repository, idempotency: claim) == .created)
            #expect(
                try await Samples.create(order, in: repository, idempotency: claim)
                    == .replayed(statusCode: 201, body: #"{"orderId":"ORD-1"}"#))

            var other = claim
            other.requestHash = "hash-b"
            await #expect(throws: DomainError.self) {
                try await Samples.create(try Samples.order("ORD-2", at: Self.start), in: repository, idempotency: other)
            }
            // Another caller's identical key is its own.
            var otherCaller = claim
            otherCaller.scope = "someone-else"
            #expect(
                try await Samples.create(
                    try Samples.order("ORD-3", at: Self.start), in: repository, idempotency: otherCaller) == .created)
            #expect(try await database.count("orders") == 2)
            #expect(try await database.count("idempotency_keys") == 2)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func concurrentRetriesWithOneKeyCreateOneOrder(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            let order = try Samples.order("ORD-RACE", at: Self.start)
            let claim = IdempotencyClaim(
                scope: "caller", key: "race", requestHash: "same", statusCode: 201, responseBody: "{}")
            let outcomes = try await withThrowingTaskGroup(of: CreateOutcome.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await Samples.create(order, in: repository, idempotency: claim) }
                }
                return try await group.reduce(into: [CreateOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .created }.count == 1)
            #expect(outcomes.filter { $0 != .created }.count == 19)
            #expect(try await database.count("orders") == 1)
            #expect(try await database.count("outbox") == 1)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func updateDetectsAConcurrentChange(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            try await Samples.create(try Samples.order("ORD-1", at: Self.start), in: repository)
            let read = try #require(try await repository.find(OrderID("ORD-1"))).order

            var first = read
            let change = try first.cancel(reason: "customer asked", actor: "clerk", at: Self.start.adding(seconds: 5))
            try await repository.update(
                first, expectedVersion: read.version, history: change,
                events: [.forOrder("order.cancelled", first, at: first.updatedAt)])

            var second = read
            try second.changeLine(
                1, LineChange(quantity: 3, reason: "more"), products: [:], at: Self.start.adding(seconds: 6))
            await #expect(throws: DomainError.self) {
                try await repository.update(second, expectedVersion: read.version, linesChanged: [1], events: [])
            }
            let stored = try #require(try await repository.find(OrderID("ORD-1")))
            #expect(stored.order.status == .cancelled)
            #expect(stored.order.paymentStatus == .voided)
            #expect(stored.order.lines[0].quantity == 2)
            #expect(stored.history.map(\.status) == [.open, .cancelled])
            #expect(stored.history.last?.reason == "customer asked")
            #expect(
                try await repository.events(of: OrderID("ORD-1")).map(\.type) == ["order.created", "order.cancelled"])
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func lineChangeRewritesTheLineAndTotals(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            try await Samples.create(try Samples.order("ORD-1", at: Self.start), in: repository)
            var order = try #require(try await repository.find(OrderID("ORD-1"))).order
            let version = order.version
            try order.changeLine(
                2, LineChange(sku: "NOODLES", quantity: 10, unitPrice: "7.5", reason: "substitute"),
                products: [Samples.noodles.sku: Samples.noodles], at: Self.start.adding(seconds: 9))
            try await repository.update(order, expectedVersion: version, linesChanged: [2], events: [])
            let stored = try #require(try await repository.find(OrderID("ORD-1"))).order
            #expect(stored.lines[1].sku == SKU("NOODLES"))
            #expect(stored.lines[1].amounts.net.description == "70.0000") // 10 × 7.5 − 5
            #expect(stored.totals.orderTotal.description == "413.0000")
            #expect(stored.version == version + 1)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func searchFiltersAndPagesNewestFirst(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            for index in 0..<12 {
                let store = index % 3 == 0 ? Samples.otherStore : Samples.qcStore
                var order = try Samples.order(
                    "ORD-\(100 + index)", store: store, customer: index == 5 ? "Malee Srisuk" : "Somchai Jaidee",
                    at: Self.start.adding(seconds: Double(index)))
                if index >= 8 { _ = try order.move(to: .allocated, reason: nil, actor: "t", at: order.createdAt) }
                if index >= 10 { _ = try order.move(to: .released, reason: nil, actor: "t", at: order.createdAt) }
                if index == 11 { _ = try order.move(to: .picked, reason: nil, actor: "t", at: order.createdAt) }
                try await Samples.create(order, in: repository)
            }
            func ids(_ query: OrderQuery) async throws -> [String] {
                try await repository.search(query).orders.map(\.order.id.rawValue)
            }
            var query = OrderQuery()
            query.statuses = [.allocated]
            #expect(try await ids(query) == ["ORD-109", "ORD-108"])
            query = OrderQuery()
            query.statusRange = 3000...3700
            #expect(try await ids(query) == ["ORD-111", "ORD-110"])
            query = OrderQuery()
            query.locations = [Samples.otherStore.id]
            #expect(try await ids(query) == ["ORD-109", "ORD-106", "ORD-103", "ORD-100"])
            query = OrderQuery()
            query.text = "malee"
            #expect(try await ids(query) == ["ORD-105"])
            query.text = "rd-10"
            #expect(try await ids(query).count == 10)
            query = OrderQuery()
            query.text = "%"
            #expect(try await ids(query) == [], "LIKE wildcards are matched literally")
            query = OrderQuery()
            query.createdFrom = Self.start.adding(seconds: 2)
            query.createdTo = Self.start.adding(seconds: 4)
            #expect(try await ids(query) == ["ORD-104", "ORD-103", "ORD-102"])
            let page = try await repository.search(OrderQuery())
            #expect(page.orders.first?.lineCount == 2)
        }
    }

    @Test(arguments: TestDatabase.kinds)
    func pagesStayStableWhileOrdersArrive(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            // Several orders share a timestamp, so the cursor must break ties.
            for index in 0..<7 {
                try await Samples.create(
                    try Samples.order("ORD-\(index)", at: Self.start.adding(seconds: Double(index / 3))), in: repository
                )
            }
            var query = OrderQuery()
            query.limit = 3
            let first = try await repository.search(query)
            #expect(first.orders.count == 3)
            for index in 7..<10 {
                try await Samples.create(
                    try Samples.order("ORD-\(index)", at: Self.start.adding(seconds: 100)), in: repository)
            }
            var seen = first.orders.map(\.order.id.rawValue)
            var cursor = first.next
            while let next = cursor {
                query.after = next
                let page = try await repository.search(query)
                seen += page.orders.map(\.order.id.rawValue)
                cursor = page.next
            }
            #expect(seen == ["ORD-6", "ORD-5", "ORD-4", "ORD-3", "ORD-2", "ORD-1", "ORD-0"])
            #expect(OrderCursor(token: first.next!.token) == first.next)
        }
    }
}

extension OrderRepositoryTests {
    /// Group commit: concurrent orders share transactions; a refused order fails alone; each
    /// caller hears back only once its order is committed.
    @Test(arguments: TestDatabase.kinds)
    func concurrentOrdersShareTransactionsAndARefusedOneFailsAlone(kind: Database.Kind) async throws {
        try await TestDatabase.with(kind) { database in
            try await Samples.seed(database)
            let repository = OrderRepository(database: database)
            for index in 0..<10 {
                try await Samples.create(try Samples.order("DUP-\(index)", at: Self.start), in: repository)
            }
            let before = repository.intakeStatistics
            let claim = IdempotencyClaim(
                scope: "caller", key: "retry-1", requestHash: "h", statusCode: 201,
                responseBody: #"{"orderId":"RETRY-1"}"#)

            enum Answer: Equatable {
                case created, replayed, duplicate
                case other(String)
            }
            // 100 new orders, 10 that exist already, and one request sent twice with its Idempotency-Key.
            let requests: [(id: String, claim: IdempotencyClaim?)] =
                (0..<100).map { ("NEW-\($0)", nil) } + (0..<10).map { ("DUP-\($0)", nil) } + [
                    ("RETRY-1", claim), ("RETRY-1", claim),
                ]
            let answers = try await withThrowingTaskGroup(of: (String, Answer).self) { group in
                for (index, request) in requests.enumerated() {
                    group.addTask {
                        let order = try Samples.order(
                            request.id, customer: "Customer \(index)", at: Self.start.adding(seconds: Double(index)))
                        do {
                            let outcome = try await Samples.create(order, in: repository, idempotency: request.claim)
                            // Answered after the commit: a reader connection sees the order.
                            #expect(try await repository.find(order.id) != nil)
                            return (request.id, outcome == .created ? .created : .replayed)
                        } catch DomainError.duplicateOrder {
                            return (request.id, .duplicate)
                        } catch {
                            return (request.id, .other("\(error)"))
                        }
                    }
                }
                return try await group.reduce(into: [(String, Answer)]()) { $0.append($1) }
            }
            #expect(answers.filter { $0.0.hasPrefix("NEW-") }.allSatisfy { $0.1 == .created })
            #expect(answers.filter { $0.0.hasPrefix("DUP-") }.allSatisfy { $0.1 == .duplicate })
            #expect(
                answers.filter { $0.0 == "RETRY-1" }.map(\.1).sorted { "\($0)" < "\($1)" } == [.created, .replayed])
            #expect(try await database.count("orders") == 10 + 100 + 1)
            #expect(try await database.count("order_lines") == 2 * 111)
            #expect(try await database.count("order_status_history") == 111)
            #expect(try await database.count("outbox") == 111)
            #expect(try await database.count("idempotency_keys") == 1)

            let after = repository.intakeStatistics
            #expect(after.items - before.items >= requests.count)
            #expect(after.batches - before.batches < requests.count, "concurrent orders were grouped")
            #expect(after.largestBatch > 1)
        }
    }
}
