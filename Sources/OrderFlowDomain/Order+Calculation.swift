/// Seed 002's calculations Cal A–F, exact to 0.0001.
///
/// Per line: gross = quantity × unit price; discount = Σ discounts; net = gross − discount; each
/// exclusive tax = net × rate / 100 and each inclusive tax = net × rate / (100 + rate), both rounded
/// half away from zero to 0.0001; total = net + exclusive taxes.
///
/// Per order: Cal A subTotal = Σ net; Cal D totalDiscount = Σ discount; Cal E totalTaxes = Σ exclusive
/// taxes; Cal F informationalTaxes = Σ inclusive taxes; totalFees = Σ charges; Cal B totalCharge =
/// subTotal + totalTaxes + totalFees; Cal C orderTotal = totalCharge rounded half away from zero to
/// 0.01, the amount a customer can pay; roundingAdjustment = orderTotal − totalCharge.
public enum OrderCalculator {
    public static func calculate(_ order: inout Order) {
        for index in order.lines.indices {
            calculate(&order.lines[index])
        }
        let lines = order.lines.map(\.amounts)
        let subTotal = lines.map(\.net).sum()
        let totalTaxes = lines.map(\.tax).sum()
        let totalFees = order.charges.map(\.amount).sum()
        let totalCharge = subTotal + totalTaxes + totalFees
        let orderTotal = totalCharge.rounded(toPlaces: 2)
        order.totals = OrderTotals(
            subTotal: subTotal,
            totalDiscount: lines.map(\.discount).sum(),
            totalTaxes: totalTaxes,
            informationalTaxes: lines.map(\.includedTax).sum(),
            totalFees: totalFees,
            totalCharge: totalCharge,
            orderTotal: orderTotal,
            roundingAdjustment: orderTotal - totalCharge)
    }

    public static func calculate(_ line: inout OrderLine) {
        let gross = line.unitPrice * line.quantity
        let discount = line.discounts.map(\.amount).sum()
        let net = gross - discount
        var tax = Money.zero
        var includedTax = Money.zero
        for index in line.taxes.indices {
            let rate = line.taxes[index].rate
            if line.taxes[index].inclusive {
                line.taxes[index].amount = rate.includedIn(net)
                includedTax += line.taxes[index].amount
            } else {
                line.taxes[index].amount = rate.of(net)
                tax += line.taxes[index].amount
            }
        }
        line.amounts = LineAmounts(
            gross: gross, discount: discount, net: net, tax: tax, includedTax: includedTax, total: net + tax)
    }
}
