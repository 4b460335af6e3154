/// Failed sign-ins counted per account and client address, so one address cannot lock an account
/// for everyone, and reserved before the password is checked, so guesses sent at once cannot pass
/// the limit together. The per-account columns of migration 2 go.
let m0007SignInAttempts = Migration(
    version: 7, name: "sign-in attempts",
    apply: { _ in
        [
            """
            CREATE TABLE sign_in_attempts (
                username TEXT NOT NULL,
                address TEXT NOT NULL,
                failures INTEGER NOT NULL,
                locked_until BIGINT,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (username, address)
            )
            """,
            "ALTER TABLE users DROP COLUMN failed_logins",
            "ALTER TABLE users DROP COLUMN locked_until",
        ]
    },
    revert: { _ in
        [
            "ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE users ADD COLUMN locked_until BIGINT",
            "DROP TABLE sign_in_attempts",
        ]
    })
