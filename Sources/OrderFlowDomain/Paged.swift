/// A long result read a page at a time, as its reader asks for the next: whoever goes through it
/// holds one page in memory, however long the whole is.
public struct Paged<Item: Sendable, Cursor: Sendable>: AsyncSequence, Sendable {
    public typealias Element = [Item]
    let start: Cursor
    let page: @Sendable (Cursor) async throws -> (items: [Item], next: Cursor?)

    /// - Parameter page: the items from a cursor, and the cursor of the next page (nil at the end).
    public init(start: Cursor, page: @escaping @Sendable (Cursor) async throws -> (items: [Item], next: Cursor?)) {
        self.start = start
        self.page = page
    }

    public func makeAsyncIterator() -> Iterator { Iterator(cursor: start, page: page) }

    public struct Iterator: AsyncIteratorProtocol {
        var cursor: Cursor?
        let page: @Sendable (Cursor) async throws -> (items: [Item], next: Cursor?)

        /// The next page that has items; nil at the end.
        public mutating func next() async throws -> [Item]? {
            while let current = cursor {
                let (items, next) = try await page(current)
                cursor = next
                if !items.isEmpty { return items }
            }
            return nil
        }
    }
}
