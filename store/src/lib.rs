//! The embedded `SQLite` store of `DriftGuard`: findings, transitions (write-ahead
//! intents), acknowledgements, runs and history.
//!
//! Timestamps are stored as fixed-width RFC 3339 UTC text (nanosecond
//! precision) so that string comparison in SQL equals time order and values
//! round-trip exactly.

mod migrations;
mod records;

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, Row, TransactionBehavior, params};

use migrations::MIGRATIONS;
pub use records::{
    AckRecord, EffectsStatus, FindingRecord, HistoryEntry, HistoryFilter, JanitorItem, JanitorTransition, OutboxEntry,
    OutboxState, TransitionRecord,
};

/// On-disk format version: the number of migrations this build knows.
pub const FORMAT_VERSION: u32 = 3;

const _: () = assert!(MIGRATIONS.len() == FORMAT_VERSION as usize);

const FINDING_COLS: &str = "id, fingerprint, provider, account, region, resource_type, resource_id, \
     address, kind, attribute, severity, flow, state, attempts, detail, created_at, updated_at";
const TRANSITION_COLS: &str = "seq, run_id, finding_id, at, from_state, to_state, event, effects, \
     effects_status, outcome, dry_run, policy_hash";

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened.
    #[error("cannot open store {}: {reason}", path.display())]
    Open {
        /// Database path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file was written by a newer driftguard.
    #[error(
        "store {} has format version {found}, newer than this driftguard supports ({supported}); upgrade driftguard or point store.path elsewhere",
        path.display()
    )]
    TooNew {
        /// Database path.
        path: PathBuf,
        /// Version found in the file.
        found: u32,
        /// Highest version this build supports.
        supported: u32,
    },
    /// A schema migration failed; the transaction was rolled back.
    #[error("store {}: migration to format version {version} failed: {source}", path.display())]
    Migrate {
        /// Database path.
        path: PathBuf,
        /// Version the failed migration would have produced.
        version: u32,
        /// Underlying error.
        source: rusqlite::Error,
    },
    /// Any other `SQLite` error.
    #[error("sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored data is unreadable or inconsistent.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// JSON encoding of a record failed.
    #[error("json encoding failed: {0}")]
    Serde(#[from] serde_json::Error),
    /// The caller passed arguments the store cannot act on.
    #[error("invalid store request: {0}")]
    Invalid(String),
}

/// Handle on an open store. One connection; not shared across threads.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Outbox entries written to the log and not yet removed: removed by the next write
    /// transaction, or when the store is dropped (see [`Store::outbox_delivered`]).
    delivered: std::cell::RefCell<Vec<String>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        // A failure leaves the rows: the next start writes those records again, with the
        // same `event_id`s.
        let _ = self.outbox_flush();
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open { path: path.to_path_buf(), reason };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.is_dir()
        {
            return Err(open_err(format!("parent directory {} does not exist", parent.display())));
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        Self::init(conn, path.to_path_buf())
    }

    /// Opens a private in-memory store (for tests and dry experiments).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Store, StoreError> {
        let open_err = |e: rusqlite::Error| StoreError::Open { path: path.clone(), reason: e.to_string() };
        conn.busy_timeout(Duration::from_secs(5)).map_err(open_err)?;
        // Every statement is prepared once per connection and kept (`prepare_cached`):
        // parsing the SQL again for each transition was 8% of a detect run's CPU samples.
        // Room for all of them, so that none is evicted and parsed again in a loop.
        conn.set_prepared_statement_cache_capacity(32);
        // Check the version before anything that rewrites the file header
        // (journal_mode), so a newer store is left untouched. This read is
        // also where a non-SQLite file is first detected.
        let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(open_err)?;
        if found > FORMAT_VERSION {
            return Err(StoreError::TooNew { path, found, supported: FORMAT_VERSION });
        }
        // In-memory databases answer "memory"; only the attempt matters.
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_err)?;
        // SQLite's own page cache, 512 KiB instead of its default 2 MB: a run touches the
        // right edges of its tables' trees and a few index pages, and the kernel caches the
        // file anyway. The default held the whole store (1.1 MB after one bench/compare
        // detect run), a fifth of phase A's heap peak.
        conn.pragma_update(None, "cache_size", -512).map_err(open_err)?;
        let mut store = Store { conn, path, delivered: std::cell::RefCell::new(Vec::new()) };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let migrate_err = |version: u32, source| StoreError::Migrate { path: self.path.clone(), version, source };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| migrate_err(0, e))?;
        // Re-read under the write lock: another process may have migrated.
        let current: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| migrate_err(0, e))?;
        if current > FORMAT_VERSION {
            return Err(StoreError::TooNew { path: self.path.clone(), found: current, supported: FORMAT_VERSION });
        }
        for (version, sql) in (1..=FORMAT_VERSION).zip(MIGRATIONS).skip(current as usize) {
            tx.execute_batch(sql)
                .and_then(|()| tx.pragma_update(None, "user_version", version))
                .map_err(|e| migrate_err(version, e))?;
        }
        tx.commit().map_err(|e| migrate_err(FORMAT_VERSION, e))
    }

    /// Path the store was opened from (`:memory:` for in-memory stores).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write-ahead intent: upserts `finding` and appends `transition` in one
    /// IMMEDIATE transaction, returning the new sequence number.
    ///
    /// `transition.effects_status` and `transition.seq` are ignored: the
    /// status is `Pending` when the transition has effects, `None`
    /// otherwise. On conflict only the mutable finding columns (state,
    /// attempts, severity, flow, detail, `updated_at`) are updated.
    pub fn record_transition(
        &mut self,
        finding: &FindingRecord,
        transition: &TransitionRecord,
    ) -> Result<i64, StoreError> {
        self.record_transition_audited::<OutboxEntry>(finding, transition, &[])
    }

    /// [`Store::record_transition`], with the audit records that tell of it put in the
    /// outbox by the same transaction: the transition is never stored without its record
    /// waiting to be written, nor written without being stored.
    pub fn record_transition_audited<E: AsRef<OutboxEntry>>(
        &mut self,
        finding: &FindingRecord,
        transition: &TransitionRecord,
        outbox: &[E],
    ) -> Result<i64, StoreError> {
        if transition.finding_id != finding.id {
            return Err(StoreError::Invalid(format!(
                "transition for finding {:?} recorded with finding {:?}",
                transition.finding_id, finding.id
            )));
        }
        let status = if transition.has_effects() { EffectsStatus::Pending } else { EffectsStatus::None };
        let effects =
            if transition.effects.is_null() { "[]".to_owned() } else { serde_json::to_string(&transition.effects)? };
        let detail = serde_json::to_string(&finding.detail)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(&format!(
            "INSERT INTO findings ({FINDING_COLS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
                 ON CONFLICT(id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, \
                 severity = excluded.severity, flow = excluded.flow, detail = excluded.detail, \
                 updated_at = excluded.updated_at"
        ))?
        .execute(params![
            finding.id,
            finding.fingerprint,
            finding.provider,
            finding.account,
            finding.region,
            finding.resource_type,
            finding.resource_id,
            finding.address,
            finding.kind,
            finding.attribute,
            finding.severity,
            finding.flow,
            finding.state,
            finding.attempts,
            detail,
            ts(&finding.created_at),
            ts(&finding.updated_at),
        ])?;
        tx.prepare_cached(
            "INSERT INTO transitions (run_id, finding_id, at, from_state, to_state, event, effects, \
             effects_status, outcome, dry_run, policy_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            transition.run_id,
            transition.finding_id,
            ts(&transition.at),
            transition.from_state,
            transition.to_state,
            transition.event,
            effects,
            status.as_str(),
            transition.outcome,
            transition.dry_run,
            transition.policy_hash,
        ])?;
        let seq = tx.last_insert_rowid();
        outbox_insert(&tx, outbox)?;
        let removed = remove_delivered(&self.delivered, &tx)?;
        tx.commit()?;
        self.delivered.borrow_mut().drain(..removed);
        Ok(seq)
    }

    /// Records the result of running the effects of transition `seq`.
    pub fn complete_effects(&self, seq: i64, status: EffectsStatus, outcome: Option<&str>) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached("UPDATE transitions SET effects_status = ?2, outcome = ?3 WHERE seq = ?1")?
            .execute(params![seq, status.as_str(), outcome])?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!("no transition with seq {seq}")));
        }
        Ok(())
    }

    /// Transitions whose effects were recorded but never completed, oldest
    /// first: after a crash these must be resumed or reconciled.
    pub fn pending_effects(&self) -> Result<Vec<TransitionRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TRANSITION_COLS} FROM transitions WHERE effects_status = 'pending' ORDER BY seq"
        ))?;
        stmt.query_and_then([], transition_from_row)?.collect()
    }

    /// The finding with this id, if any.
    pub fn finding(&self, id: &str) -> Result<Option<FindingRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {FINDING_COLS} FROM findings WHERE id = ?1"))?;
        stmt.query_and_then([id], finding_from_row)?.next().transpose()
    }

    /// All findings with this fingerprint, oldest first.
    pub fn findings_by_fingerprint(&self, fp: &str) -> Result<Vec<FindingRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {FINDING_COLS} FROM findings WHERE fingerprint = ?1 ORDER BY created_at, id"
        ))?;
        stmt.query_and_then([fp], finding_from_row)?.collect()
    }

    /// All findings whose state is one of `states`, oldest first. The store
    /// knows no lifecycle: "open" findings are those in the caller's
    /// non-terminal states. An empty slice yields nothing.
    pub fn findings_in_states(&self, states: &[&str]) -> Result<Vec<FindingRecord>, StoreError> {
        self.findings_in_states_where(states, |_| true)
    }

    /// The same, only those whose fingerprint `wanted` accepts: the others are passed over
    /// before the rest of their row is read. (A detect run asks for the open findings it
    /// did not see again, a few out of all of them; reading every one whole, detail and
    /// all, was more than a quarter of its heap at the end of the run.)
    pub fn findings_in_states_where(
        &self,
        states: &[&str],
        mut wanted: impl FnMut(&str) -> bool,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; states.len()].join(", ");
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {FINDING_COLS} FROM findings WHERE state IN ({marks}) ORDER BY created_at, id"
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(states))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let fingerprint: String = row.get(1)?;
            if wanted(&fingerprint) {
                found.push(finding_from_row(row)?);
            }
        }
        Ok(found)
    }

    /// Transitions matching `filter`, in ascending `seq` order. With a
    /// limit, the most recent `limit` matches are returned.
    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<HistoryEntry>, StoreError> {
        let limit = filter.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM (
                SELECT t.seq, t.run_id, t.finding_id, t.at, t.from_state, t.to_state, t.event,
                       t.effects, t.effects_status, t.outcome, t.dry_run, t.policy_hash,
                       f.provider, f.resource_type, f.resource_id, f.address
                FROM transitions t JOIN findings f ON f.id = t.finding_id
                WHERE (?1 IS NULL OR t.finding_id = ?1)
                  AND (?2 IS NULL OR f.resource_id = ?2 OR f.address = ?2)
                  AND (?3 IS NULL OR t.at >= ?3)
                ORDER BY t.seq DESC LIMIT ?4
             ) ORDER BY seq",
        )?;
        let since = filter.since.as_ref().map(ts);
        stmt.query_and_then(params![filter.finding, filter.resource, since, limit], |row| {
            Ok(HistoryEntry {
                transition: transition_from_row(row)?,
                provider: row.get(12)?,
                resource_type: row.get(13)?,
                resource_id: row.get(14)?,
                address: row.get(15)?,
            })
        })?
        .collect()
    }

    /// Creates or replaces the acknowledgement of `ack.finding_id`.
    pub fn put_ack(&self, ack: &AckRecord) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO acknowledgements \
             (finding_id, fingerprint, until, reason, by_whom, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                ack.finding_id,
                ack.fingerprint,
                ack.until.as_ref().map(ts),
                ack.reason,
                ack.by_whom,
                ts(&ack.created_at),
            ])?;
        Ok(())
    }

    /// The acknowledgement of `finding_id`, expired or not.
    pub fn ack(&self, finding_id: &str) -> Result<Option<AckRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT finding_id, fingerprint, until, reason, by_whom, created_at \
             FROM acknowledgements WHERE finding_id = ?1",
        )?;
        stmt.query_and_then([finding_id], |row| {
            let key: String = row.get(0)?;
            let until: Option<String> = row.get(2)?;
            let created_at: String = row.get(5)?;
            Ok(AckRecord {
                until: until.map(|u| parse_ts(&u, "acknowledgements", &key, "until")).transpose()?,
                created_at: parse_ts(&created_at, "acknowledgements", &key, "created_at")?,
                fingerprint: row.get(1)?,
                reason: row.get(3)?,
                by_whom: row.get(4)?,
                finding_id: key,
            })
        })?
        .next()
        .transpose()
    }

    /// Records the start of a run with status `running`.
    pub fn begin_run(&self, run_id: &str, job: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT INTO runs (run_id, job, started_at, status) VALUES (?1, ?2, ?3, 'running')")?
            .execute(params![run_id, job, ts(&at)])?;
        Ok(())
    }

    /// Janitor: upserts the item and appends its transition in one IMMEDIATE
    /// transaction (the write-ahead record of a deletion step).
    pub fn record_janitor_transition(
        &mut self,
        item: &JanitorItem,
        transition: &JanitorTransition,
    ) -> Result<i64, StoreError> {
        self.record_janitor_transition_audited::<OutboxEntry>(item, transition, &[])
    }

    /// [`Store::record_janitor_transition`] with its audit records put in the outbox by
    /// the same transaction.
    pub fn record_janitor_transition_audited<E: AsRef<OutboxEntry>>(
        &mut self,
        item: &JanitorItem,
        transition: &JanitorTransition,
        outbox: &[E],
    ) -> Result<i64, StoreError> {
        let detail = serde_json::to_string(&item.detail)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO janitor_items (key, provider, account, region, resource_type, resource_id, name, state, \
             detail, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT(key) DO UPDATE SET state = excluded.state, name = excluded.name, \
             detail = excluded.detail, updated_at = excluded.updated_at",
        )?
        .execute(params![
            item.key,
            item.provider,
            item.account,
            item.region,
            item.resource_type,
            item.resource_id,
            item.name,
            item.state,
            detail,
            ts(&item.updated_at),
        ])?;
        tx.prepare_cached(
            "INSERT INTO janitor_transitions (run_id, key, at, from_state, to_state, event, reason, dry_run) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            transition.run_id,
            item.key,
            ts(&transition.at),
            transition.from_state,
            transition.to_state,
            transition.event,
            transition.reason,
            transition.dry_run,
        ])?;
        let seq = tx.last_insert_rowid();
        outbox_insert(&tx, outbox)?;
        let removed = remove_delivered(&self.delivered, &tx)?;
        tx.commit()?;
        self.delivered.borrow_mut().drain(..removed);
        Ok(seq)
    }

    /// Puts audit records in the outbox (one transaction). An `in_doubt` entry is the
    /// record of a call about to be made: stored before the call, settled after it.
    pub fn outbox_put<E: AsRef<OutboxEntry>>(&mut self, entries: &[E]) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        outbox_insert(&tx, entries)?;
        let removed = remove_delivered(&self.delivered, &tx)?;
        tx.commit()?;
        self.delivered.borrow_mut().drain(..removed);
        Ok(())
    }

    /// Settles an in-doubt entry with its final record. Returns whether this call settled
    /// it (`false`: it was settled already, or delivered, by someone else).
    pub fn outbox_settle(&self, event_id: &str, record: &str, message: &str) -> Result<bool, StoreError> {
        // A write like any other: what was delivered before leaves with it, so that a
        // crash rewrites at most the records of the last delivery (a batch of calls settles
        // one record after another, with no transition in between).
        let tx = self.conn.unchecked_transaction()?;
        let removed = remove_delivered(&self.delivered, &tx)?;
        let changed = tx
            .prepare_cached(
                "UPDATE audit_outbox SET state = 'ready', record = ?2, message = ?3 \
             WHERE event_id = ?1 AND state = 'in_doubt'",
            )?
            .execute(params![event_id, record, message])?;
        tx.commit()?;
        self.delivered.borrow_mut().drain(..removed);
        Ok(changed == 1)
    }

    /// Notes entries as written to the log. They leave the outbox in the next write
    /// transaction (the transition or call that follows, no commit of their own) or at
    /// [`Store::outbox_flush`] (also on drop). A crash before that writes them again at
    /// the next start, with the same `event_id`s: at most the records of the last
    /// delivery.
    pub fn outbox_delivered(&self, event_ids: &[&str]) -> Result<(), StoreError> {
        self.delivered.borrow_mut().extend(event_ids.iter().map(|id| (*id).to_owned()));
        Ok(())
    }

    /// Removes the entries noted as written, now.
    pub fn outbox_flush(&self) -> Result<(), StoreError> {
        if self.delivered.borrow().is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction()?;
        let removed = remove_delivered(&self.delivered, &tx)?;
        tx.commit()?;
        self.delivered.borrow_mut().drain(..removed);
        Ok(())
    }

    /// Every entry not yet delivered, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, run_id, subject, state, record, message FROM audit_outbox ORDER BY seq",
        )?;
        stmt.query_and_then([], |row: &Row<'_>| -> Result<OutboxEntry, StoreError> {
            let event_id: String = row.get(0)?;
            let state: String = row.get(3)?;
            Ok(OutboxEntry {
                run_id: row.get(1)?,
                subject: row.get(2)?,
                state: OutboxState::parse(&state)
                    .ok_or_else(|| corrupt("audit_outbox", &event_id, "state", format!("unknown value {state:?}")))?,
                record: row.get(4)?,
                message: row.get(5)?,
                event_id,
            })
        })?
        .collect()
    }

    /// Janitor: every item, by key.
    pub fn janitor_items(&self) -> Result<Vec<JanitorItem>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, provider, account, region, resource_type, resource_id, name, state, detail, updated_at \
             FROM janitor_items ORDER BY key",
        )?;
        stmt.query_and_then([], |row: &Row<'_>| -> Result<JanitorItem, StoreError> {
            let key: String = row.get(0)?;
            let detail: String = row.get(8)?;
            let updated_at: String = row.get(9)?;
            Ok(JanitorItem {
                provider: row.get(1)?,
                account: row.get(2)?,
                region: row.get(3)?,
                resource_type: row.get(4)?,
                resource_id: row.get(5)?,
                name: row.get(6)?,
                state: row.get(7)?,
                detail: serde_json::from_str(&detail)?,
                updated_at: parse_ts(&updated_at, "janitor_items", &key, "updated_at")?,
                key,
            })
        })?
        .collect()
    }

    /// Janitor: the transitions of one item, oldest first.
    pub fn janitor_transitions(&self, key: &str) -> Result<Vec<JanitorTransition>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT run_id, key, at, from_state, to_state, event, reason, dry_run FROM janitor_transitions \
             WHERE key = ?1 ORDER BY seq",
        )?;
        stmt.query_and_then([key], |row: &Row<'_>| -> Result<JanitorTransition, StoreError> {
            let at: String = row.get(2)?;
            Ok(JanitorTransition {
                run_id: row.get(0)?,
                key: row.get(1)?,
                at: parse_ts(&at, "janitor_transitions", key, "at")?,
                from_state: row.get(3)?,
                to_state: row.get(4)?,
                event: row.get(5)?,
                reason: row.get(6)?,
                dry_run: row.get(7)?,
            })
        })?
        .collect()
    }

    /// Records the end of a run begun with [`Store::begin_run`].
    pub fn finish_run(&self, run_id: &str, status: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached("UPDATE runs SET status = ?2, finished_at = ?3 WHERE run_id = ?1")?
            .execute(params![run_id, status, ts(&at)])?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!("no run {run_id:?}")));
        }
        Ok(())
    }

    /// Runs `SQLite` integrity and foreign-key checks; both must be clean.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let problems: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        if problems != ["ok"] {
            return Err(StoreError::Corrupt(format!(
                "{}: integrity_check: {}",
                self.path.display(),
                problems.join("; ")
            )));
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let dangling: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} rowid {} -> {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?.unwrap_or_default(),
                    r.get::<_, String>(2)?
                ))
            })?
            .collect::<Result<_, _>>()?;
        if !dangling.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "{}: foreign_key_check: {}",
                self.path.display(),
                dangling.join("; ")
            )));
        }
        Ok(())
    }
}

/// Deletes the entries noted as written inside `tx`; returns how many were noted (drop
/// that many from the list once `tx` commits, so a failed one forgets none).
fn remove_delivered(
    delivered: &std::cell::RefCell<Vec<String>>,
    tx: &rusqlite::Transaction<'_>,
) -> Result<usize, StoreError> {
    let delivered = delivered.borrow();
    if !delivered.is_empty() {
        let mut stmt = tx.prepare_cached("DELETE FROM audit_outbox WHERE event_id = ?1")?;
        for id in delivered.iter() {
            stmt.execute([id])?;
        }
    }
    Ok(delivered.len())
}

fn outbox_insert<E: AsRef<OutboxEntry>>(tx: &rusqlite::Transaction<'_>, entries: &[E]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO audit_outbox (event_id, run_id, subject, state, record, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for entry in entries {
        let entry = entry.as_ref();
        stmt.execute(params![
            entry.event_id,
            entry.run_id,
            entry.subject,
            entry.state.as_str(),
            entry.record,
            entry.message
        ])?;
    }
    Ok(())
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn corrupt(table: &str, key: &str, column: &str, what: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{table} row {key:?}: column {column}: {what}"))
}

fn parse_ts(raw: &str, table: &str, key: &str, column: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(table, key, column, format!("bad timestamp {raw:?}: {e}")))
}

fn parse_json(raw: &str, table: &str, key: &str, column: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(raw).map_err(|e| corrupt(table, key, column, format!("bad json: {e}")))
}

fn finding_from_row(row: &Row<'_>) -> Result<FindingRecord, StoreError> {
    let id: String = row.get(0)?;
    let attempts: i64 = row.get(13)?;
    Ok(FindingRecord {
        fingerprint: row.get(1)?,
        provider: row.get(2)?,
        account: row.get(3)?,
        region: row.get(4)?,
        resource_type: row.get(5)?,
        resource_id: row.get(6)?,
        address: row.get(7)?,
        kind: row.get(8)?,
        attribute: row.get(9)?,
        severity: row.get(10)?,
        flow: row.get(11)?,
        state: row.get(12)?,
        attempts: u32::try_from(attempts)
            .map_err(|_| corrupt("findings", &id, "attempts", format!("out of range: {attempts}")))?,
        detail: parse_json(&row.get::<_, String>(14)?, "findings", &id, "detail")?,
        created_at: parse_ts(&row.get::<_, String>(15)?, "findings", &id, "created_at")?,
        updated_at: parse_ts(&row.get::<_, String>(16)?, "findings", &id, "updated_at")?,
        id,
    })
}

fn transition_from_row(row: &Row<'_>) -> Result<TransitionRecord, StoreError> {
    let seq: i64 = row.get(0)?;
    let key = seq.to_string();
    let status: String = row.get(8)?;
    Ok(TransitionRecord {
        seq: Some(seq),
        run_id: row.get(1)?,
        finding_id: row.get(2)?,
        at: parse_ts(&row.get::<_, String>(3)?, "transitions", &key, "at")?,
        from_state: row.get(4)?,
        to_state: row.get(5)?,
        event: row.get(6)?,
        effects: parse_json(&row.get::<_, String>(7)?, "transitions", &key, "effects")?,
        effects_status: EffectsStatus::parse(&status)
            .ok_or_else(|| corrupt("transitions", &key, "effects_status", format!("unknown value {status:?}")))?,
        outcome: row.get(9)?,
        dry_run: row.get(10)?,
        policy_hash: row.get(11)?,
    })
}

#[cfg(test)]
mod tests;
