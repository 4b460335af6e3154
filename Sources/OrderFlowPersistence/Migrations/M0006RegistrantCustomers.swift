/// Shoppers who register themselves get customer IDs of their own (`R-` and ten random symbols):
/// unique, so two accounts can never be one customer and see each other's orders.
let m0006RegistrantCustomers = Migration(
    version: 6, name: "registrant customer IDs",
    apply: { _ in
        ["CREATE UNIQUE INDEX users_registrant_customer ON users (customer_id) WHERE customer_id LIKE 'R-%'"]
    },
    revert: { _ in
        ["DROP INDEX users_registrant_customer"]
    })
