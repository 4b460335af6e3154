import Crypto
import Foundation
import Hummingbird
import NIOCore

/// The dashboard's one stylesheet and one script (`Assets/app.css`, `Assets/app.js`), resources
/// of this module: nothing to install, nothing fetched from elsewhere, so the pages work offline
/// (ARCHITECTURE.md). Each is read once; `Dashboard.register` asks for both at start-up.
enum Assets {
    static let css = resource("app", "css")
    static let script = resource("app", "js")

    /// Changes when either file does; pages ask for `?v=` it, so a browser never keeps an old copy.
    static let version: String = {
        let digest = SHA256.hash(data: Data((css + script).utf8))
        return digest.prefix(6).map { String(format: "%02x", $0) }.joined()
    }()

    static func response(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=31536000, immutable"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// SwiftPM puts the module's resource bundle beside the executable, so a file missing from it
    /// is a broken build, not something a running server could recover from.
    private static func resource(_ name: String, _ type: String) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: type, subdirectory: "Assets"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { preconditionFailure("Assets/\(name).\(type) is missing from OrderFlowServer's resources") }
        return text
    }
}
