import Foundation

/// The API contract as published at `/openapi.yaml`: the same file the generator reads.
public enum OpenAPIDocument {
    /// The document's bytes, read once from the module's resources.
    public static let yaml: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return Data() }
        return data
    }()
}
