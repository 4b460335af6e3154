/// API keys and users may carry a request budget of their own (requests a second and burst); null
/// takes the default of their roles.
let m0009RateLimits = Migration(
    version: 9, name: "rate limits per key and user",
    apply: { _ in
        [
            "ALTER TABLE api_keys ADD COLUMN rate_limit DOUBLE PRECISION",
            "ALTER TABLE api_keys ADD COLUMN rate_burst DOUBLE PRECISION",
            "ALTER TABLE users ADD COLUMN rate_limit DOUBLE PRECISION",
            "ALTER TABLE users ADD COLUMN rate_burst DOUBLE PRECISION",
        ]
    },
    revert: { _ in
        [
            "ALTER TABLE api_keys DROP COLUMN rate_limit",
            "ALTER TABLE api_keys DROP COLUMN rate_burst",
            "ALTER TABLE users DROP COLUMN rate_limit",
            "ALTER TABLE users DROP COLUMN rate_burst",
        ]
    })
