import OrderFlowDomain
import Testing

@Suite("Status transitions")
struct OrderStatusTests {
    /// The transition table of docs/api.md, written out independently of the code.
    static let legal: [Int: [Int]] = [
        1000: [2000, 9000],
        2000: [3000, 9000],
        3000: [3500, 3600, 3700, 7000, 9000],
        3500: [3600, 3700, 7000, 9000],
        3600: [3700, 7000, 9000],
        3700: [7000, 9000],
        7000: [7100, 7200, 7300, 7400, 7500],
        7100: [7200, 7300, 7400, 7500],
        7200: [7300, 7400, 7500],
        7300: [7400, 7500],
        7400: [7200, 7300, 7500, 9000],
        7500: [],
        9000: [],
    ]

    @Test func codesAreSeed002s() {
        #expect(
            OrderStatus.allCases.map(\.rawValue) == [
                1000, 2000, 3000, 3500, 3600, 3700, 7000, 7100, 7200, 7300, 7400, 7500, 9000,
            ])
        #expect(OrderStatus.outForDelivery.name == "Out for delivery")
    }

    @Test func everyPairMatchesTheDocumentedTable() {
        for from in OrderStatus.allCases {
            for to in OrderStatus.allCases {
                let expected = Self.legal[from.rawValue]!.contains(to.rawValue)
                #expect(from.canMove(to: to) == expected, "\(from) → \(to)")
            }
        }
    }

    @Test func aSampleOfIllegalMoves() {
        #expect(!OrderStatus.open.canMove(to: .released)) // skips allocation
        #expect(!OrderStatus.packed.canMove(to: .picking)) // backwards
        #expect(!OrderStatus.fulfilled.canMove(to: .cancelled)) // goods have left the store
        #expect(!OrderStatus.delivered.canMove(to: .cancelled))
        #expect(!OrderStatus.cancelled.canMove(to: .open))
    }

    @Test func finalAndLockedStatuses() {
        #expect(OrderStatus.allCases.filter(\.isFinal) == [.delivered, .cancelled])
        #expect(!OrderStatus.allocated.locksLines)
        #expect(OrderStatus.released.locksLines)
        #expect(OrderStatus.delivered.locksLines)
    }

    @Test func paymentStatusLifecycles() {
        #expect(PaymentStatus.awaitingPayment.canMove(to: .codPending))
        #expect(PaymentStatus.codPending.canMove(to: .codConfirmed))
        #expect(PaymentStatus.codConfirmed.canMove(to: .codCollected))
        #expect(PaymentStatus.awaitingPayment.canMove(to: .paid))
        #expect(PaymentStatus.paid.canMove(to: .refunded))
        #expect(!PaymentStatus.codCollected.canMove(to: .codPending))
        #expect(!PaymentStatus.voided.canMove(to: .paid))
    }
}
