import Logging
import OrderFlowDomain
import OrderFlowPersistence

/// The demo's stores, products and stock: a small chain of convenience stores in two regions.
enum DemoCatalog {
    static let locations: [Location] = [
        Location(id: LocationID("QC-BKK-001"), name: "Sukhumvit 24", region: "BKK", format: .qcSmallFormat),
        Location(id: LocationID("QC-BKK-002"), name: "Ari", region: "BKK", format: .qcSmallFormat),
        Location(id: LocationID("QC-BKK-003"), name: "Thonglor", region: "BKK", format: .qcSmallFormat),
        Location(id: LocationID("QC-CNX-001"), name: "Nimman", region: "CNX", format: .qcSmallFormat),
        Location(id: LocationID("STD-BKK-DC1"), name: "Bangna distribution centre", region: "BKK", format: .standard),
        Location(id: LocationID("STD-CNX-001"), name: "Chiang Mai Festival", region: "CNX", format: .standard),
    ]

    /// (SKU, name, category, price). Shelf prices include 7 % VAT.
    static let products: [(String, String, String, String)] = [
        ("COF-AMZ-250", "Amazon Café coffee beans 250 g", "beverages", "159.00"),
        ("COF-NES-3IN1", "Nescafé 3in1, 27 sticks", "beverages", "119.00"),
        ("TEA-CHA-THAI", "ChaTraMue Thai tea mix 400 g", "beverages", "95.00"),
        ("WAT-SNG-1500", "Singha drinking water 1.5 L", "beverages", "14.00"),
        ("WAT-SNG-600", "Singha drinking water 600 ml", "beverages", "7.00"),
        ("MLK-MEJ-1L", "Meiji fresh milk 1 L", "dairy", "52.00"),
        ("YOG-DUT-4", "Dutchie yoghurt, 4 cups", "dairy", "46.00"),
        ("EGG-CPF-10", "CP fresh eggs, 10 pack", "fresh", "55.00"),
        ("BRD-FRM-WHT", "Farmhouse white bread", "bakery", "42.00"),
        ("RIC-HOM-5KG", "Hom Mali jasmine rice 5 kg", "grocery", "215.00"),
        ("NDL-MAM-PORK", "Mama instant noodles, pork, 10 pack", "grocery", "65.00"),
        ("OIL-ORC-1L", "Orchid palm oil 1 L", "grocery", "49.00"),
        ("SAU-FIS-700", "Tiparos fish sauce 700 ml", "grocery", "38.00"),
        ("SNK-LAY-75", "Lay's classic 75 g", "snacks", "30.00"),
        ("SNK-TAR-SEA", "Taro fish snack 52 g", "snacks", "25.00"),
        ("CHO-KIT-4F", "KitKat 4 finger", "snacks", "22.00"),
        ("ICE-WAL-COR", "Wall's Cornetto", "frozen", "35.00"),
        ("DUM-CPF-12", "CP shrimp dumplings, 12 pieces", "frozen", "89.00"),
        ("SHP-SUN-350", "Sunsilk shampoo 350 ml", "personal care", "129.00"),
        ("TPS-COL-150", "Colgate toothpaste 150 g", "personal care", "65.00"),
        ("DIA-MAM-M40", "MamyPoko pants M, 40", "baby", "399.00"),
        ("DET-BRZ-800", "Breeze detergent 800 g", "household", "89.00"),
        ("TIS-SCT-6", "Scott tissue, 6 rolls", "household", "75.00"),
        ("BAT-ENR-AA4", "Energizer AA batteries, 4", "household", "119.00"),
    ]

    /// Seeds locations, products and stock, unless the catalog already has products.
    static func seedIfEmpty(database: Database, clock: any WallClock, logger: Logger) async throws {
        let catalog = CatalogRepository(database: database, clock: clock)
        guard try await catalog.search(ProductQuery()).products.isEmpty else { return }
        let inventory = InventoryRepository(database: database, clock: clock)
        let existing = Set(try await catalog.locations().map(\.id))
        for location in locations where !existing.contains(location.id) {
            try await catalog.create(location)
        }
        for (index, (sku, name, category, price)) in products.enumerated() {
            let product = Product(
                sku: SKU(sku), name: name, category: category, unitPrice: Money(decimal: price)!,
                taxRate: Percent(decimal: "7")!, taxIncluded: true,
                imageURL: "https://images.example.com/\(sku.lowercased()).png")
            try await catalog.create(product)
            for (position, location) in locations.enumerated() {
                // Deterministic, uneven stock: some shelves run low so allocation failures happen.
                let onHand = 5 + (index * 37 + position * 53) % 160
                _ = try await inventory.setOnHand(onHand, sku: product.sku, at: location.id)
            }
        }
        logger.info(
            "demo catalog seeded", metadata: ["locations": "\(locations.count)", "products": "\(products.count)"])
    }
}
