import OrderFlowDomain
import Testing

@Suite("Acknowledgement matching and alert notifications")
struct AcknowledgementMatchingTests {
    static let t0 = Timestamp(microseconds: 1_800_000_000_000_000)

    static func candidate(
        _ id: Int64, order: String = "ORD-1", acknowledgedAt: Timestamp? = nil, state: Transmission.State = .pending,
        total: String = "100"
    ) -> AcknowledgementCandidate {
        AcknowledgementCandidate(
            id: id, orderID: order, channel: "commerce", eventID: "ev-\(id)", eventType: "order.created", state: state,
            classification: acknowledgedAt == nil ? .pending : .success, createdAt: t0,
            deadline: t0.adding(seconds: 30),
            acknowledgedAt: acknowledgedAt, orderTotal: Money(decimal: total), payload: "{}", attempts: 1)
    }

    static func ack(
        _ status: IncomingAcknowledgement.Status = .accepted, reference: String = "their-1", eventID: String? = nil,
        orderID: String? = nil,
        amount: String? = nil, at: Timestamp = t0.adding(seconds: 5)
    ) -> IncomingAcknowledgement {
        IncomingAcknowledgement(
            channel: "commerce", reference: reference, status: status, occurredAt: at, eventID: eventID,
            orderID: orderID,
            amount: amount.flatMap { Money(decimal: $0) }, reason: status == .rejected ? "bad SKU" : nil)
    }

    /// Answers lookups from a table and remembers which were asked, in order.
    actor Lookups {
        let answers: [AcknowledgementLookup: [AcknowledgementCandidate]]
        private(set) var asked: [AcknowledgementLookup] = []
        init(_ answers: [AcknowledgementLookup: [AcknowledgementCandidate]]) { self.answers = answers }
        func answer(_ lookup: AcknowledgementLookup) -> [AcknowledgementCandidate] {
            asked.append(lookup)
            return answers[lookup] ?? []
        }
    }

    @Test func theEventIDIsTriedFirstThenTheOrderIDThenItsNormalFormThenTheAmount() async throws {
        let matcher = AcknowledgementMatcher()
        let lookups = Lookups([
            .amount(Money(decimal: "100")!, around: Self.t0.adding(seconds: 5), seconds: 600): [Self.candidate(7)]
        ])
        let match = try await matcher.match(Self.ack(eventID: "ev-x", orderID: "ord 0001", amount: "100")) {
            await lookups.answer($0)
        }
        #expect(match == .found(Self.candidate(7), .amountWindow))
        #expect(
            await lookups.asked == [
                .eventID("ev-x"), .eventID("their-1"), .orderID("ord 0001"), .orderKey("1"),
                .amount(Money(decimal: "100")!, around: Self.t0.adding(seconds: 5), seconds: 600),
            ])

        let byEvent = Lookups([.eventID("ev-3"): [Self.candidate(3)], .orderID("ORD-1"): [Self.candidate(4)]])
        #expect(
            try await matcher.match(Self.ack(eventID: "ev-3", orderID: "ORD-1")) { await byEvent.answer($0) }
                == .found(Self.candidate(3), .eventID))
    }

    @Test func severalOrdersAlikeAreAmbiguousAndOneOrdersNextWaitingTransmissionIsTaken() async throws {
        let matcher = AcknowledgementMatcher()
        let twoOrders = Lookups([
            .orderKey("1"): [Self.candidate(1, order: "ORD-1"), Self.candidate(2, order: "ord-001")]
        ])
        #expect(
            try await matcher.match(Self.ack(orderID: "ORD 1")) { await twoOrders.answer($0) }
                == .ambiguous(["ORD-1", "ord-001"]))

        let acknowledged = Self.candidate(1, acknowledgedAt: Self.t0)
        let waiting = Lookups([.orderID("ORD-1"): [acknowledged, Self.candidate(2), Self.candidate(3)]])
        #expect(
            try await matcher.match(Self.ack(orderID: "ORD-1")) { await waiting.answer($0) }
                == .found(Self.candidate(2), .orderID))
        let allDone = Lookups([.orderID("ORD-1"): [acknowledged, Self.candidate(2, acknowledgedAt: Self.t0)]])
        #expect(
            try await matcher.match(Self.ack(orderID: "ORD-1")) { await allDone.answer($0) }
                == .found(Self.candidate(2, acknowledgedAt: Self.t0), .orderID))
    }

    @Test func whatAnAcknowledgementMeans() {
        let matcher = AcknowledgementMatcher()
        let now = Self.t0.adding(seconds: 60)
        // Their clock decides when, but never before we sent nor after now; after the deadline it is late.
        #expect(
            matcher.decide(
                Self.ack(at: Self.t0.adding(seconds: 40)), for: Self.candidate(1), checkAmount: true, now: now)
                == .accept(
                    at: Self.t0.adding(seconds: 40), latencyMicroseconds: 40_000_000, classification: .successLate))
        #expect(
            matcher.decide(
                Self.ack(at: Self.t0.adding(seconds: -9)), for: Self.candidate(1), checkAmount: true, now: now)
                == .accept(at: Self.t0, latencyMicroseconds: 0, classification: .success))
        #expect(
            matcher.decide(Self.ack(amount: "99"), for: Self.candidate(1), checkAmount: true, now: now)
                == .contradiction("amount 99.0000 differs from the order total 100.0000"))
        #expect(
            matcher.decide(Self.ack(amount: "99"), for: Self.candidate(1), checkAmount: false, now: now)
                != .contradiction("amount 99.0000 differs from the order total 100.0000"))
        #expect(
            matcher.decide(Self.ack(), for: Self.candidate(1, acknowledgedAt: Self.t0), checkAmount: true, now: now)
                == .duplicate("already acknowledged"))
        #expect(
            matcher.decide(
                Self.ack(.rejected), for: Self.candidate(1, acknowledgedAt: Self.t0), checkAmount: true, now: now)
                == .contradiction("the transmission is already acknowledged; this says rejected"))
        #expect(
            matcher.decide(Self.ack(.rejected), for: Self.candidate(1), checkAmount: true, now: now)
                == .reject(reason: "rejected by commerce: bad SKU"))
    }

    @Test func whoHearsOfAnAlert() {
        let everyone = ["email", "slack"]
        #expect(
            AlertNotificationPolicy.plans(
                from: nil, to: .firing, silenced: false, recipients: everyone, toldOfFiring: [])
                == [AlertNotificationPlan(event: .firing, notifiers: everyone)])
        #expect(
            AlertNotificationPolicy.plans(
                from: nil, to: .pending, silenced: false, recipients: everyone, toldOfFiring: []
            ).isEmpty)
        #expect(
            AlertNotificationPolicy.plans(
                from: .pending, to: .firing, silenced: true, recipients: everyone, toldOfFiring: []
            ).isEmpty)
        #expect(
            AlertNotificationPolicy.plans(
                from: .acknowledged, to: .firing, silenced: false, recipients: everyone, toldOfFiring: ["email"])
                == [AlertNotificationPlan(event: .firing, notifiers: everyone, again: true)])
        #expect(
            AlertNotificationPolicy.plans(
                from: .firing, to: .resolved, silenced: false, recipients: everyone, toldOfFiring: ["slack"])
                == [AlertNotificationPlan(event: .resolved, notifiers: ["slack"])])
        #expect(
            AlertNotificationPolicy.plans(
                from: .pending, to: .resolved, silenced: false, recipients: everyone, toldOfFiring: []
            ).isEmpty)
        #expect(
            AlertNotificationPolicy.silenceChanged(state: .firing, silenced: false, recipients: everyone)
                == [AlertNotificationPlan(event: .firing, notifiers: everyone)])
        #expect(AlertNotificationPolicy.silenceChanged(state: .firing, silenced: true, recipients: everyone).isEmpty)
        #expect(AlertNotificationPolicy.silenceChanged(state: .pending, silenced: false, recipients: everyone).isEmpty)
    }
}
