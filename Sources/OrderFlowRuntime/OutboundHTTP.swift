import AsyncHTTPClient

/// The HTTP client for every call OrderFlow makes to a system someone configured: channels'
/// webhooks, the payment and SMS providers, alert notifiers. It follows no redirect: a 3xx is the
/// other side's answer, so nobody who runs one of those systems can point OrderFlow at another
/// host (an internal one, say) and have it send there what was meant for them.
public enum OutboundHTTP {
    public static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
}
