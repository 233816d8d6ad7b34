use super::*;
use chrono::TimeZone;
use serde_json::json;

fn t(secs: i64) -> DateTime<Utc> {
    // Sub-second part checks that timestamps round-trip without loss.
    Utc.timestamp_opt(1_700_000_000 + secs, 123_456_789).unwrap()
}

fn finding(id: &str, state: &str) -> FindingRecord {
    FindingRecord {
        id: id.to_owned(),
        fingerprint: format!("fp-{id}"),
        provider: "aws".to_owned(),
        account: "123456789012".to_owned(),
        region: "eu-west-1".to_owned(),
        resource_type: "aws_s3_bucket".to_owned(),
        resource_id: format!("bucket-{id}"),
        address: format!("aws_s3_bucket.{id}"),
        kind: "drift".to_owned(),
        attribute: "versioning".to_owned(),
        severity: Some("high".to_owned()),
        flow: None,
        state: state.to_owned(),
        attempts: 0,
        detail: json!({"expected": true, "observed": false}),
        created_at: t(0),
        updated_at: t(0),
    }
}

fn transition(f: &FindingRecord, at: DateTime<Utc>, to: &str, effects: serde_json::Value) -> TransitionRecord {
    TransitionRecord {
        seq: None,
        run_id: "run-1".to_owned(),
        finding_id: f.id.clone(),
        at,
        from_state: f.state.clone(),
        to_state: to.to_owned(),
        event: "detected".to_owned(),
        effects,
        effects_status: EffectsStatus::None,
        outcome: None,
        dry_run: false,
        policy_hash: "abc".to_owned(),
    }
}

fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open(&path).unwrap();
    (dir, path, store)
}

#[test]
fn migrations_create_schema() {
    let (_dir, _path, store) = temp_store();
    let version: u32 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, FORMAT_VERSION);
    let mode: String = store.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    for name in ["findings", "transitions", "acknowledgements", "runs", "transitions_finding", "transitions_at"] {
        let n: i64 =
            store.conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = ?1", [name], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "{name} missing");
    }
    store.integrity_check().unwrap();
}

#[test]
fn reopen_keeps_data() {
    let (_dir, path, mut store) = temp_store();
    let f = finding("a", "open");
    let seq = store.record_transition(&f, &transition(&f, t(1), "open", json!([]))).unwrap();
    store.begin_run("run-1", "drift", t(0)).unwrap();
    store.finish_run("run-1", "ok", t(2)).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.finding("a").unwrap(), Some(f));
    let hist = store.history(&HistoryFilter::default()).unwrap();
    assert_eq!(hist.len(), 1);
    assert_eq!(hist[0].transition.seq, Some(seq));
    assert_eq!(hist[0].transition.at, t(1));
    assert!(store.finding("missing").unwrap().is_none());
}

#[test]
fn newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", FORMAT_VERSION + 1).unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found, .. } if found == FORMAT_VERSION + 1));
    assert_eq!(
        err.to_string(),
        format!(
            "store {} has format version {}, newer than this driftguard supports ({FORMAT_VERSION}); \
             upgrade driftguard or point store.path elsewhere",
            path.display(),
            FORMAT_VERSION + 1
        )
    );
}

#[test]
fn missing_parent_directory_names_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("state.db");
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }));
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert!(!path.parent().unwrap().exists());
}

#[test]
fn record_transition_is_atomic() {
    let (_dir, _path, mut store) = temp_store();
    let f = finding("a", "open");
    store.record_transition(&f, &transition(&f, t(1), "open", json!([]))).unwrap();
    // Make the second statement of the transaction fail after the upsert ran.
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER fail_transition BEFORE INSERT ON transitions \
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();
    let mut changed = f.clone();
    changed.state = "remediating".to_owned();
    changed.attempts = 1;
    let err = store.record_transition(&changed, &transition(&f, t(2), "remediating", json!(["apply"]))).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err}");
    assert_eq!(store.finding("a").unwrap(), Some(f.clone()));
    assert_eq!(store.history(&HistoryFilter::default()).unwrap().len(), 1);

    // A transition for another finding is a caller bug and changes nothing.
    let other = finding("b", "open");
    let err = store.record_transition(&other, &transition(&f, t(3), "open", json!([]))).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(store.finding("b").unwrap().is_none());
}

#[test]
fn pending_effects_and_completion() {
    let (_dir, _path, mut store) = temp_store();
    let mut f = finding("a", "open");
    let quiet = store.record_transition(&f, &transition(&f, t(1), "open", serde_json::Value::Null)).unwrap();
    f.state = "remediating".to_owned();
    let first = store.record_transition(&f, &transition(&f, t(2), "remediating", json!([{"apply": "x"}]))).unwrap();
    let second = store.record_transition(&f, &transition(&f, t(3), "remediating", json!(["notify"]))).unwrap();
    assert!(quiet < first && first < second);
    let pending = store.pending_effects().unwrap();
    let seqs: Vec<_> = pending.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, [Some(first), Some(second)]);
    assert_eq!(pending[0].effects, json!([{"apply": "x"}]));
    assert!(pending.iter().all(|p| p.effects_status == EffectsStatus::Pending));

    store.complete_effects(first, EffectsStatus::Done, Some("applied")).unwrap();
    store.complete_effects(second, EffectsStatus::Failed, Some("timeout")).unwrap();
    assert!(store.pending_effects().unwrap().is_empty());
    let hist = store.history(&HistoryFilter::default()).unwrap();
    assert_eq!(hist[0].transition.effects_status, EffectsStatus::None);
    assert_eq!(hist[0].transition.effects, json!([]));
    assert_eq!(hist[1].transition.effects_status, EffectsStatus::Done);
    assert_eq!(hist[1].transition.outcome.as_deref(), Some("applied"));
    assert_eq!(hist[2].transition.effects_status, EffectsStatus::Failed);
    assert!(matches!(store.complete_effects(999, EffectsStatus::Done, None), Err(StoreError::Invalid(_))));
}

#[test]
fn history_filters() {
    let (_dir, _path, mut store) = temp_store();
    let a = finding("a", "open");
    let b = finding("b", "open");
    for i in 0..3 {
        store.record_transition(&a, &transition(&a, t(i * 10), "open", json!([]))).unwrap();
        store.record_transition(&b, &transition(&b, t(i * 10 + 5), "open", json!([]))).unwrap();
    }
    let all = store.history(&HistoryFilter::default()).unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].transition.seq < w[1].transition.seq));

    let by_id = HistoryFilter { resource: Some("bucket-a".to_owned()), ..HistoryFilter::default() };
    let by_addr = HistoryFilter { resource: Some("aws_s3_bucket.a".to_owned()), ..HistoryFilter::default() };
    for filter in [by_id, by_addr] {
        let hist = store.history(&filter).unwrap();
        assert_eq!(hist.len(), 3);
        assert!(hist.iter().all(|h| h.resource_id == "bucket-a" && h.provider == "aws"));
    }

    let since = HistoryFilter { since: Some(t(15)), ..HistoryFilter::default() };
    let ats: Vec<_> = store.history(&since).unwrap().into_iter().map(|h| h.transition.at).collect();
    assert_eq!(ats, [t(15), t(20), t(25)], "since is inclusive");

    let limited = HistoryFilter { finding: Some("b".to_owned()), limit: Some(2), ..HistoryFilter::default() };
    let ats: Vec<_> = store.history(&limited).unwrap().into_iter().map(|h| h.transition.at).collect();
    assert_eq!(ats, [t(15), t(25)]);
}

#[test]
fn finding_queries() {
    let (_dir, _path, mut store) = temp_store();
    let a = finding("a", "open");
    let mut b = finding("b", "closed");
    b.fingerprint = a.fingerprint.clone();
    for f in [&a, &b] {
        store.record_transition(f, &transition(f, t(1), &f.state, json!([]))).unwrap();
    }
    assert_eq!(store.findings_by_fingerprint("fp-a").unwrap().len(), 2);
    assert_eq!(store.findings_in_states(&["open"]).unwrap(), [a]);
    assert_eq!(store.findings_in_states(&["open", "closed"]).unwrap().len(), 2);
    assert!(store.findings_in_states(&[]).unwrap().is_empty());
    let c = finding("c", "open");
    store.record_transition(&c, &transition(&c, t(2), &c.state, json!([]))).unwrap();
    let others = store.findings_in_states_where(&["open", "closed"], |fingerprint| fingerprint != "fp-a").unwrap();
    assert_eq!(others, [c]);
}

#[test]
fn ack_round_trip() {
    let store = Store::open_in_memory().unwrap();
    let mut ack = AckRecord {
        finding_id: "a".to_owned(),
        fingerprint: "fp-a".to_owned(),
        until: Some(t(3600)),
        reason: "planned change".to_owned(),
        by_whom: "alice".to_owned(),
        created_at: t(0),
    };
    assert!(store.ack("a").unwrap().is_none());
    store.put_ack(&ack).unwrap();
    assert_eq!(store.ack("a").unwrap().as_ref(), Some(&ack));
    ack.until = None;
    store.put_ack(&ack).unwrap();
    assert_eq!(store.ack("a").unwrap(), Some(ack));
}

#[test]
fn corrupt_rows_are_reported() {
    let (_dir, _path, mut store) = temp_store();
    let f = finding("a", "open");
    store.record_transition(&f, &transition(&f, t(1), "open", json!([]))).unwrap();
    store.conn.execute("UPDATE findings SET detail = '{not json' WHERE id = 'a'", []).unwrap();
    let err = store.finding("a").unwrap_err();
    let StoreError::Corrupt(msg) = &err else {
        panic!("expected Corrupt, got {err}");
    };
    assert!(msg.contains("findings") && msg.contains("\"a\"") && msg.contains("detail"), "{msg}");

    store.conn.execute("UPDATE transitions SET at = 'yesterday'", []).unwrap();
    let err = store.history(&HistoryFilter::default()).unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("transitions")), "{err}");
}

#[test]
fn integrity_check_reports_dangling_references() {
    let (_dir, _path, store) = temp_store();
    store.integrity_check().unwrap();
    store
        .conn
        .execute_batch(
            "PRAGMA foreign_keys = OFF; \
             INSERT INTO transitions (run_id, finding_id, at, from_state, to_state, event, effects, \
             effects_status, dry_run, policy_hash) \
             VALUES ('r', 'ghost', 'x', 'a', 'b', 'e', '[]', 'none', 0, 'h');",
        )
        .unwrap();
    assert!(matches!(store.integrity_check(), Err(StoreError::Corrupt(_))));
}

#[test]
fn finish_unknown_run_fails() {
    let store = Store::open_in_memory().unwrap();
    assert!(matches!(store.finish_run("nope", "ok", t(0)), Err(StoreError::Invalid(_))));
}

#[test]
fn a_version_1_store_is_migrated_in_place_and_keeps_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        // What a driftguard of format version 1 left behind.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute(
            "INSERT INTO findings VALUES ('f-1','fp','aws','1','r','t','i','a','modified','x',NULL,NULL,'detected',0,'{}',?1,?1)",
            [ts(&t(0))],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(store.finding("f-1").unwrap().is_some());
    assert!(store.janitor_items().unwrap().is_empty());
    assert!(store.outbox().unwrap().is_empty());
    store.integrity_check().unwrap();
}

#[test]
fn janitor_items_and_their_transitions_round_trip() {
    let (_dir, _path, mut store) = temp_store();
    let mut item = JanitorItem {
        key: "aws/123456789012/us-east-1/aws_s3_bucket/dg-x".to_owned(),
        provider: "aws".to_owned(),
        account: "123456789012".to_owned(),
        region: "us-east-1".to_owned(),
        resource_type: "aws_s3_bucket".to_owned(),
        resource_id: "dg-x".to_owned(),
        name: "dg-x".to_owned(),
        state: "marked".to_owned(),
        detail: json!({"marked_at": "2026-11-22T00:00:00Z"}),
        updated_at: t(0),
    };
    let mut transition = JanitorTransition {
        run_id: "run-1".to_owned(),
        key: item.key.clone(),
        at: t(0),
        from_state: "none".to_owned(),
        to_state: "marked".to_owned(),
        event: "marked".to_owned(),
        reason: None,
        dry_run: false,
    };
    store.record_janitor_transition(&item, &transition).unwrap();
    item.state = "phase2".to_owned();
    item.updated_at = t(5);
    transition.from_state = "marked".to_owned();
    transition.to_state = "phase2".to_owned();
    transition.event = "delete".to_owned();
    transition.at = t(5);
    store.record_janitor_transition(&item, &transition).unwrap();
    assert_eq!(store.janitor_items().unwrap(), vec![item.clone()]);
    let history = store.janitor_transitions(&item.key).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], transition);
}

fn entry(id: &str, state: OutboxState) -> OutboxEntry {
    OutboxEntry {
        event_id: id.to_owned(),
        run_id: "run-1".to_owned(),
        subject: "finding:a".to_owned(),
        state,
        record: json!({"event": "cloud.mutation", "outcome": "unknown"}).to_string(),
        message: format!("record {id}"),
    }
}

#[test]
fn a_transition_and_its_audit_records_are_stored_together_or_not_at_all() {
    let (_dir, _path, mut store) = temp_store();
    let f = finding("a", "open");
    store
        .record_transition_audited(&f, &transition(&f, t(1), "open", json!([])), &[entry("e1", OutboxState::Ready)])
        .unwrap();
    assert_eq!(store.outbox().unwrap(), vec![entry("e1", OutboxState::Ready)]);
    // A record that cannot be stored (its id is taken) takes the transition down with it.
    let mut changed = f.clone();
    changed.state = "remediating".to_owned();
    let err = store
        .record_transition_audited(
            &changed,
            &transition(&f, t(2), "remediating", json!([])),
            &[entry("e2", OutboxState::Ready), entry("e1", OutboxState::Ready)],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err}");
    assert_eq!(store.finding("a").unwrap(), Some(f.clone()));
    assert_eq!(store.history(&HistoryFilter::default()).unwrap().len(), 1);
    assert_eq!(store.outbox().unwrap().len(), 1);
}

#[test]
fn an_in_doubt_record_is_settled_once_and_delivered_records_leave_the_outbox() {
    let (_dir, path, mut store) = temp_store();
    store.outbox_put(&[entry("e1", OutboxState::InDoubt), entry("e2", OutboxState::Ready)]).unwrap();
    let settled = json!({"event": "cloud.mutation", "outcome": "succeeded"}).to_string();
    assert!(store.outbox_settle("e1", &settled, "settled").unwrap());
    // A second settler (another job, a replay) finds it settled and does nothing.
    assert!(!store.outbox_settle("e1", r#"{"outcome": "failed"}"#, "again").unwrap());
    assert!(!store.outbox_settle("e2", r#"{"outcome": "failed"}"#, "ready already").unwrap());
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox[0].state, OutboxState::Ready);
    assert_eq!(outbox[0].record, settled);
    assert_eq!(outbox[0].message, "settled");
    assert_eq!(outbox[1], entry("e2", OutboxState::Ready));
    // Written entries leave with the next write transaction, no commit of their own.
    store.outbox_delivered(&["e2"]).unwrap();
    assert_eq!(store.outbox().unwrap().len(), 2);
    let f = finding("a", "open");
    store.record_transition(&f, &transition(&f, t(1), "open", json!([]))).unwrap();
    assert_eq!(store.outbox().unwrap().iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(), ["e1"]);
    // Or when the store is closed: a reopened store (what a restarted process sees) has none.
    store.outbox_delivered(&["e1"]).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert!(store.outbox().unwrap().is_empty());
}

#[test]
fn a_failed_write_keeps_the_written_entries_noted_for_the_next_one() {
    let (_dir, _path, mut store) = temp_store();
    store.outbox_put(&[entry("e1", OutboxState::Ready)]).unwrap();
    store.outbox_delivered(&["e1"]).unwrap();
    // This transaction fails (its entry's id is taken): e1 must not be forgotten.
    assert!(store.outbox_put(&[entry("e1", OutboxState::Ready)]).is_err());
    assert_eq!(store.outbox().unwrap().len(), 1);
    store.outbox_flush().unwrap();
    assert!(store.outbox().unwrap().is_empty());
}
