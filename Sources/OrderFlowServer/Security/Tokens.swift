import Crypto
import Foundation
import OrderFlowDomain
import Synchronization

/// Signs and checks access tokens (JWT, HS256) and makes the random secrets OrderFlow hands out.
///
/// Only HS256 is accepted: a token whose header names any other algorithm (`none` included) is
/// refused before its signature is looked at, and signatures are compared in constant time.
public final class TokenService: Sendable {
    private let signingKey = Mutex<SymmetricKey?>(nil)
    let accessLifetime: Double
    let clock: any WallClock
    static let issuer = "orderflow"

    /// The key comes later (`configure`), from configuration or the database, before the server
    /// listens; until then nothing is issued and every token is refused.
    public init(accessLifetimeSeconds: Double, clock: any WallClock) {
        accessLifetime = accessLifetimeSeconds
        self.clock = clock
    }

    public func configure(secret: String) {
        signingKey.withLock { $0 = SymmetricKey(data: Data(secret.utf8)) }
    }

    private var key: SymmetricKey {
        get throws(Invalid) {
            guard let key = signingKey.withLock({ $0 }) else { throw .notReady }
            return key
        }
    }

    /// What a valid access token says.
    public struct Claims: Codable, Sendable, Equatable {
        public var iss: String
        /// The user's ID.
        public var sub: String
        public var iat: Int64
        public var exp: Int64
        public var jti: String
        /// When the user's password last changed (microseconds): a reset invalidates older tokens.
        public var pwd: Int64
        /// The sign-in the token belongs to (its refresh-token family): signing out, or a replayed
        /// refresh token, revokes the family and with it the access tokens it issued.
        public var fam: String
    }

    public enum Invalid: Error, Equatable {
        case malformed, algorithm, signature, expired, issuer, notReady
    }

    public func issue(userID: String, passwordChangedAt: Timestamp, family: String) throws(Invalid) -> (
        token: String, expiresIn: Int
    ) {
        let key = try key
        let now = clock.now().microseconds / 1_000_000
        let claims = Claims(
            iss: Self.issuer, sub: userID, iat: now, exp: now + Int64(accessLifetime),
            jti: UUID().uuidString.lowercased(), pwd: passwordChangedAt.microseconds, fam: family)
        let header = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode((try? JSONEncoder().encode(claims)) ?? Data())
        let signingInput = header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return (signingInput + "." + Base64URL.encode(Data(signature)), Int(accessLifetime))
    }

    public func verify(_ token: String) throws(Invalid) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = Base64URL.decodeData(String(parts[0])),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
        else { throw .malformed }
        guard header["alg"] as? String == "HS256" else { throw .algorithm }
        let key = try key
        guard let signature = Base64URL.decodeData(String(parts[2])),
            HMAC<SHA256>.isValidAuthenticationCode(
                signature, authenticating: Data("\(parts[0]).\(parts[1])".utf8), using: key)
        else { throw .signature }
        guard let payload = Base64URL.decodeData(String(parts[1])),
            let claims = try? JSONDecoder().decode(Claims.self, from: payload)
        else {
            throw .malformed
        }
        guard claims.iss == Self.issuer else { throw .issuer }
        guard claims.exp > clock.now().microseconds / 1_000_000 else { throw .expired }
        return claims
    }

    /// A new secret with `prefix`: 32 random bytes, URL-safe (refresh tokens `ofr_`, API keys `ofk_`).
    public static func randomSecret(prefix: String) -> String {
        prefix + Base64URL.encode(randomBytes(32))
    }

    /// A password people can type: 20 characters from an unambiguous alphabet (≈ 115 bits).
    public static func randomPassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// SHA-256 in hex: how refresh tokens and API keys are stored and looked up (on every request
    /// that sends a key, so without a formatter per byte).
    public static func hash(_ secret: String) -> String {
        hex(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Lower-case hex of a digest.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for byte in bytes {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
