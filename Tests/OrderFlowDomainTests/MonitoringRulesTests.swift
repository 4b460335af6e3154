import OrderFlowDomain
import Testing

@Suite("Transmission classification, reference normalisation and the alert lifecycle")
struct MonitoringRulesTests {
    let t0 = Timestamp(microseconds: 1_800_000_000_000_000)

    @Test func theDeadlineItselfIsStillInTime() {
        let deadline = t0.adding(seconds: 30)
        #expect(
            TransmissionStatus.classify(deadline: deadline, acknowledgedAt: nil, failed: false, now: deadline)
                == .pending)
        #expect(
            TransmissionStatus.classify(
                deadline: deadline, acknowledgedAt: nil, failed: false, now: deadline.adding(seconds: 0.000001))
                == .delayed)
        #expect(
            TransmissionStatus.classify(
                deadline: deadline, acknowledgedAt: deadline, failed: false, now: deadline.adding(seconds: 5))
                == .success)
        #expect(
            TransmissionStatus.classify(
                deadline: deadline, acknowledgedAt: deadline.adding(seconds: 0.000001), failed: false,
                now: deadline.adding(seconds: 5)) == .successLate)
        #expect(TransmissionStatus.classify(deadline: deadline, acknowledgedAt: nil, failed: true, now: t0) == .failed)
        #expect(TransmissionStatus.successLate.isSuccess && TransmissionStatus.successLate.wasDelayed)
    }

    @Test(arguments: [
        ("ORD-000123", "123"), (" ord 000123 ", "123"), ("ORD000123", "123"), ("#000123-CE", "123"),
        ("oms:123/ack", "123"),
        ("SHIP-1", "SHIP1"), ("ship 001", "SHIP1"), ("QC-BKK-001-000042", "QCBKK142"), ("0000", "0"), ("ORD", "ORD"),
    ])
    func referencesNormaliseAlike(_ reference: String, _ expected: String) {
        #expect(OrderReferenceNormalizer().normalize(reference) == expected)
    }

    @Test func aBreachFiresOnlyAfterItsForDuration() {
        let breached = RuleMeasurement.value(0.2, breached: true)
        #expect(AlertLifecycle.next(nil, measurement: breached, forSeconds: 60, now: t0) == .open(.pending))
        #expect(AlertLifecycle.next(nil, measurement: breached, forSeconds: 0, now: t0) == .open(.firing))
        let pending = AlertLifecycle.Active(state: .pending, pendingSince: t0)
        #expect(
            AlertLifecycle.next(pending, measurement: breached, forSeconds: 60, now: t0.adding(seconds: 59.9))
                == AlertLifecycle.Transition.none)
        #expect(
            AlertLifecycle.next(pending, measurement: breached, forSeconds: 60, now: t0.adding(seconds: 60)) == .fire)
        #expect(
            AlertLifecycle.next(
                pending, measurement: .value(0.01, breached: false), forSeconds: 60, now: t0.adding(seconds: 30))
                == .resolve)
    }

    @Test func missingDataIsNeitherRecoveryNorBreach() {
        let firing = AlertLifecycle.Active(state: .firing, pendingSince: t0)
        #expect(
            AlertLifecycle.next(firing, measurement: .noData, forSeconds: 0, now: t0.adding(seconds: 600))
                == AlertLifecycle.Transition.none)
        #expect(
            AlertLifecycle.next(nil, measurement: .noData, forSeconds: 0, now: t0) == AlertLifecycle.Transition.none)
        #expect(
            AlertLifecycle.next(firing, measurement: .value(0, breached: false), forSeconds: 0, now: t0) == .resolve)
    }

    @Test func anExpiredAcknowledgementFiresAgain() {
        let acknowledged = AlertLifecycle.Active(
            state: .acknowledged, pendingSince: t0, acknowledgementExpiresAt: t0.adding(seconds: 300))
        let breached = RuleMeasurement.value(1, breached: true)
        #expect(
            AlertLifecycle.next(acknowledged, measurement: breached, forSeconds: 0, now: t0.adding(seconds: 299))
                == AlertLifecycle.Transition.none)
        #expect(
            AlertLifecycle.next(acknowledged, measurement: breached, forSeconds: 0, now: t0.adding(seconds: 300))
                == .refire)
        let forever = AlertLifecycle.Active(state: .acknowledged, pendingSince: t0)
        #expect(
            AlertLifecycle.next(forever, measurement: breached, forSeconds: 0, now: t0.adding(seconds: 86_400))
                == AlertLifecycle.Transition.none)
    }

    @Test func thresholdsAndRulesAreChecked() {
        #expect(AlertRuleKind.noNewOrders.breaches(0, threshold: 0))
        #expect(!AlertRuleKind.noNewOrders.breaches(1, threshold: 0))
        #expect(AlertRuleKind.failureRatio.breaches(0.051, threshold: 0.05))
        #expect(!AlertRuleKind.failureRatio.breaches(0.05, threshold: 0.05))
        let bad = AlertRule(
            name: "9bad name", kind: .noNewOrders, channel: "commerce", threshold: -1, windowSeconds: 5, forSeconds: -1)
        #expect(Set(bad.problems().map(\.field)) == ["name", "channel", "threshold", "windowSeconds", "forSeconds"])
        #expect(AlertRule(name: "Ratio", kind: .failureRatio, threshold: 5).problems().map(\.rule) == ["range"])
        #expect(
            SilenceMatcher.matches(
                [SilenceMatcher(name: "channel", value: "commerce")], labels: ["channel": "commerce", "alertname": "X"])
        )
        #expect(!SilenceMatcher.matches([], labels: ["channel": "commerce"]))
    }

    @Test func percentilesUseTheNearestRank() {
        #expect(Percentile.rank(0.5, of: 100) == 50)
        #expect(Percentile.rank(0.95, of: 100) == 95)
        #expect(Percentile.rank(0.99, of: 100) == 99)
        #expect(Percentile.rank(0.95, of: 21) == 20)
        #expect(Percentile.rank(0.99, of: 1) == 1)
        #expect(Percentile.rank(0.5, of: 0) == nil)
    }
}
