//! The store's schema, as the list of migrations that build it.

/// Schema migrations, applied in order; never edit a shipped entry, append.
pub(crate) const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE findings (
    id TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    provider TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    attribute TEXT NOT NULL,
    severity TEXT,
    flow TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX findings_fingerprint ON findings(fingerprint);
CREATE TABLE transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    finding_id TEXT NOT NULL REFERENCES findings(id),
    at TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    event TEXT NOT NULL,
    effects TEXT NOT NULL,
    effects_status TEXT NOT NULL CHECK (effects_status IN ('none','pending','done','failed')),
    outcome TEXT,
    dry_run INTEGER NOT NULL,
    policy_hash TEXT NOT NULL
);
CREATE INDEX transitions_finding ON transitions(finding_id);
CREATE INDEX transitions_at ON transitions(at);
CREATE INDEX transitions_pending ON transitions(effects_status) WHERE effects_status = 'pending';
CREATE TABLE acknowledgements (
    finding_id TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    until TEXT,
    reason TEXT NOT NULL,
    by_whom TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY NOT NULL,
    job TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL
);
",
    r"
CREATE TABLE janitor_items (
    key TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX janitor_items_state ON janitor_items(state);
CREATE TABLE janitor_transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    key TEXT NOT NULL REFERENCES janitor_items(key),
    at TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT,
    dry_run INTEGER NOT NULL
);
CREATE INDEX janitor_transitions_key ON janitor_transitions(key);
",
    r"
CREATE TABLE audit_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'in_doubt')),
    record TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX audit_outbox_state ON audit_outbox(state);
",
];
