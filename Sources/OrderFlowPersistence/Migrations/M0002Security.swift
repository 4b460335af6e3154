/// Users, refresh tokens, API keys, the append-only audit log, and instance-wide settings.
let m0002Security = Migration(
    version: 2, name: "security",
    apply: { flavor in
        var statements = [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                display_name TEXT NOT NULL,
                email TEXT,
                password_hash TEXT NOT NULL,
                roles TEXT NOT NULL,
                store_scope TEXT,
                region_scope TEXT,
                customer_id TEXT,
                disabled BOOLEAN NOT NULL,
                failed_logins INTEGER NOT NULL,
                locked_until BIGINT,
                password_changed_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE refresh_tokens (
                token_hash TEXT PRIMARY KEY,
                family_id TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users (id),
                issued_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                revoked_at BIGINT
            )
            """,
            "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
            "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)",
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                roles TEXT NOT NULL,
                store_scope TEXT,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT,
                revoked_at BIGINT
            )
            """,
            """
            CREATE TABLE audit_log (
                id \(flavor.autoIncrementKey),
                at BIGINT NOT NULL,
                actor TEXT NOT NULL,
                actor_kind TEXT NOT NULL,
                action TEXT NOT NULL,
                target_type TEXT,
                target_id TEXT,
                outcome TEXT NOT NULL,
                client_address TEXT,
                request_id TEXT,
                details TEXT
            )
            """,
            "CREATE INDEX audit_log_at ON audit_log (at)",
            "CREATE INDEX audit_log_action ON audit_log (action, at)",
            "CREATE INDEX audit_log_actor ON audit_log (actor, at)",
            "CREATE INDEX audit_log_target ON audit_log (target_type, target_id)",
            """
            CREATE TABLE settings (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
        ]
        // The audit log is append-only, enforced by the database itself.
        switch flavor.kind {
        case .sqlite:
            statements += ["UPDATE", "DELETE"].map {
                "CREATE TRIGGER audit_log_no_\($0.lowercased()) BEFORE \($0) ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            }
        case .postgres:
            statements += [
                "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
                "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            ]
        }
        return statements
    },
    revert: { flavor in
        (flavor.kind == .postgres
            ? ["DROP TRIGGER audit_log_no_change ON audit_log", "DROP FUNCTION audit_log_append_only()"] : [])
            + ["settings", "audit_log", "api_keys", "refresh_tokens", "users"].map { "DROP TABLE \($0)" }
    })
