//! Evidence documents against PostgreSQL: stored once, content-addressed and append-only,
//! referenced (not carried) by the capture events; captures written in the 1.0 shape are
//! moved to the store by the migration and still compose; environments load from a cached
//! state that is only ever an optimisation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::borrow::Cow;

use common::{app, operator, TestDb};
use runproof::event_store::NewEvent;
use runproof::reviews::worker::Executed;
use runproof::reviews::Feedback;
use runproof_domain::environment::ManagedEnvironment;
use runproof_domain::findings::content_hash;
use runproof_domain::review::ReviewStatus;
use serde_json::{json, Value};
use sqlx::migrate::Migrator;
use uuid::Uuid;

fn findings(seed: usize) -> Value {
    json!({ "findings": [
        { "severity": "high", "category": "identity", "title": format!("finding {seed}") },
        { "severity": "low", "category": "network" }
    ]})
}

struct Scene {
    db: TestDb,
    app: runproof::app::App,
    workspace: Uuid,
    environment: Uuid,
    actor: Uuid,
}

async fn scene_on(db: TestDb) -> Scene {
    let (app, _) = app(&db);
    let ctx = operator();
    let (workspace, actor) = common::workspace_with_member(&app).await;
    let environment = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "prod", &ctx)
        .await
        .unwrap();
    Scene {
        db,
        app,
        workspace,
        environment,
        actor,
    }
}

#[tokio::test]
async fn a_capture_stores_its_document_once_and_its_event_only_the_reference() {
    let s = scene_on(TestDb::new().await).await;
    let doc = findings(1);
    for _ in 0..3 {
        s.app
            .directory
            .capture_evidence(s.environment, doc.clone(), &operator())
            .await
            .unwrap();
    }
    // Another workspace capturing the same document gets its own copy: nothing is shared
    // across tenants.
    let other_ws = s
        .app
        .directory
        .create_workspace(Uuid::new_v4(), "Fabrikam", &operator())
        .await
        .unwrap();
    let other_env = s
        .app
        .directory
        .create_environment(other_ws, Uuid::new_v4(), "prod", &operator())
        .await
        .unwrap();
    s.app
        .directory
        .capture_evidence(other_env, doc.clone(), &operator())
        .await
        .unwrap();

    let stored: Vec<(Uuid, String, Value)> = sqlx::query_as(
        "SELECT workspace_id, content_hash, document FROM evidence_documents ORDER BY workspace_id",
    )
    .fetch_all(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), 2, "one document per workspace");
    for (_, hash, document) in &stored {
        assert_eq!(*hash, content_hash(&doc));
        assert_eq!(*document, doc);
    }
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT event_version, payload::jsonb FROM events WHERE event_type = 'EvidenceSnapshotCaptured'",
    )
    .fetch_all(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(events.len(), 4);
    for (version, payload) in events {
        assert_eq!(version, "2.0");
        let body = &payload["EvidenceSnapshotCaptured"];
        assert_eq!(body["content_hash"], json!(content_hash(&doc)));
        assert!(body.get("document").is_none(), "{body}");
    }
}

#[tokio::test]
async fn documents_whose_numbers_a_database_would_rewrite_compose_from_exactly_what_was_captured() {
    let s = scene_on(TestDb::new().await).await;
    // `jsonb` would turn -0.0 into 0.0 and 1e16 into 10000000000000000: a different hash.
    let doc = json!({ "findings": [
        { "severity": "high", "category": "identity", "score": -0.0 },
        { "severity": "low", "category": "network", "score": 1e16, "ratio": 0.1 }
    ]});
    s.app
        .directory
        .capture_evidence(s.environment, doc, &operator())
        .await
        .unwrap();
    s.app
        .reviews
        .create_or_refresh(s.actor, s.workspace, s.environment, &operator())
        .await
        .unwrap();
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert!(
        matches!(&done[..], [(_, Executed::Composed { .. })]),
        "{done:?}"
    );
}

#[tokio::test]
async fn the_document_store_refuses_updates_deletes_and_truncation() {
    let s = scene_on(TestDb::new().await).await;
    s.app
        .directory
        .capture_evidence(s.environment, findings(1), &operator())
        .await
        .unwrap();
    for sql in [
        "UPDATE evidence_documents SET document = '{}'",
        "DELETE FROM evidence_documents",
        "TRUNCATE evidence_documents",
    ] {
        let refused = sqlx::query(sql).execute(&s.db.pool).await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    assert_eq!(
        s.db.count("SELECT count(*) FROM evidence_documents").await,
        1
    );
}

#[tokio::test]
async fn a_document_that_no_longer_matches_its_hash_is_never_composed_from() {
    let s = scene_on(TestDb::new().await).await;
    s.app
        .directory
        .capture_evidence(s.environment, findings(1), &operator())
        .await
        .unwrap();
    // Someone with the database's owner rights disables the guard and edits the document.
    sqlx::raw_sql(
        "ALTER TABLE evidence_documents DISABLE TRIGGER evidence_documents_append_only_rows; \
         UPDATE evidence_documents SET document = '{\"findings\": []}'; \
         ALTER TABLE evidence_documents ENABLE TRIGGER evidence_documents_append_only_rows;",
    )
    .execute(&s.db.pool)
    .await
    .unwrap();
    let Feedback::Queued { run_id } = s
        .app
        .reviews
        .create_or_refresh(s.actor, s.workspace, s.environment, &operator())
        .await
        .unwrap()
    else {
        panic!("expected a queued run")
    };
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert!(
        matches!(&done[..], [(r, Executed::Failed { .. })] if *r == run_id),
        "{done:?}"
    );
}

#[tokio::test]
async fn captures_stored_in_the_1_0_shape_are_moved_to_the_store_by_the_migration_and_compose() {
    // A database as the build before EvidenceSnapshotCaptured 2.0 left it: migrated up to
    // 0007, with a capture whose document is inline in the event.
    let db = TestDb::unmigrated().await;
    let before: Vec<_> = runproof::MIGRATOR
        .iter()
        .filter(|m| m.version < 8)
        .cloned()
        .collect();
    Migrator {
        migrations: Cow::Owned(before),
        ..Migrator::DEFAULT
    }
    .run(&db.pool)
    .await
    .unwrap();
    let s = scene_on(db).await;
    let doc = findings(7);
    let snapshot_id = Uuid::new_v4();
    let now = chrono::Utc::now();
    let legacy = NewEvent {
        aggregate_type: "managed_environment",
        aggregate_id: s.environment.to_string(),
        sequence: 2,
        event_type: "EvidenceSnapshotCaptured".into(),
        event_version: "1.0".into(),
        payload: json!({ "EvidenceSnapshotCaptured": {
            "snapshot_id": snapshot_id,
            "workspace_id": s.workspace,
            "content_hash": content_hash(&doc),
            "finding_count": 2,
            "document": doc,
            "captured_at": now,
        }})
        .to_string(),
        metadata: serde_json::to_string(&operator().metadata(now, "1.0").to_map()).unwrap(),
    };
    s.app.store.append_atomically(&[legacy]).await.unwrap();

    // The upgrade: the remaining migrations move the document into the store.
    runproof::MIGRATOR.run(&s.db.pool).await.unwrap();
    let moved: Value = sqlx::query_scalar(
        "SELECT document FROM evidence_documents WHERE workspace_id = $1 AND content_hash = $2",
    )
    .bind(s.workspace)
    .bind(content_hash(&doc))
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(moved, doc);

    // The 1.0 event loads (upcast), projects, and a compose reads its document.
    let env = s
        .app
        .store
        .load::<ManagedEnvironment>(&s.environment.to_string())
        .await
        .unwrap();
    let latest = env
        .aggregate
        .state()
        .unwrap()
        .latest_snapshot
        .clone()
        .unwrap();
    assert_eq!(latest.snapshot_id, snapshot_id);
    common::wait_projected(&s.db, &s.app.projector).await;
    assert_eq!(
        s.db.count("SELECT count(*) FROM evidence_snapshots").await,
        1
    );
    s.app
        .reviews
        .create_or_refresh(s.actor, s.workspace, s.environment, &operator())
        .await
        .unwrap();
    let done = s.app.worker().run_until_idle().await.unwrap();
    let [(_, Executed::Composed { review_id })] = &done[..] else {
        panic!("{done:?}")
    };
    let review = s.app.reviews.load(*review_id).await.unwrap().unwrap();
    assert_eq!(review.status, ReviewStatus::Ready);
    assert_eq!(review.content.unwrap().total_findings, 2);
    // And a rebuild from the log gives the same rows.
    let report =
        runproof_projections::rebuild::verify(&s.app.projector, &runproof_projections::NoProgress)
            .await
            .unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
}

/// Edits the environment's cached state by hand (its checksum no longer matches).
async fn forge_cached_state(s: &Scene) {
    sqlx::query(
        "UPDATE aggregate_state_cache SET state = json_build_object('state', json_build_object('id', $1::uuid, 'workspace_id', $2::uuid, 'name', 'forged', 'created_at', '2026-01-01T00:00:00Z', 'latest_snapshot', null, 'published_review', null))",
    )
    .bind(s.environment)
    .bind(Uuid::new_v4())
    .execute(&s.db.pool)
    .await
    .unwrap();
}

/// The environment loaded together with its workspace in one statement
/// (`load_with_cached`), checked against loading each alone.
async fn loaded_with_workspace(s: &Scene) -> runproof::event_store::Loaded<ManagedEnvironment> {
    let store = &s.app.store;
    let (workspace, environment) = store
        .load_with_cached::<runproof_domain::workspace::Workspace, ManagedEnvironment>(
            &s.workspace.to_string(),
            &s.environment.to_string(),
        )
        .await
        .unwrap();
    let alone = store
        .load::<runproof_domain::workspace::Workspace>(&s.workspace.to_string())
        .await
        .unwrap();
    assert_eq!(workspace, alone, "the workspace as loaded alone");
    assert!(workspace.version > 0);
    environment
}

#[tokio::test]
async fn an_environment_with_many_captures_loads_from_its_cached_state_exactly_as_folded() {
    let s = scene_on(TestDb::new().await).await;
    let direct = s.app.clone().without_read_your_writes();
    for i in 0..40 {
        direct
            .directory
            .capture_evidence(s.environment, findings(i), &operator())
            .await
            .unwrap();
    }
    let id = s.environment.to_string();
    // The first load folds 41 events and caches the state; the next starts from it.
    let first = s.app.store.load::<ManagedEnvironment>(&id).await.unwrap();
    assert_eq!(first.version, 41);
    assert_eq!(
        s.db.count("SELECT count(*) FROM aggregate_state_cache")
            .await,
        1
    );
    // Loaded with its workspace in one statement, from the cached state: the same.
    assert_eq!(loaded_with_workspace(&s).await, first);
    let again = s.app.store.load::<ManagedEnvironment>(&id).await.unwrap();
    assert_eq!(
        (again.aggregate, again.version),
        (first.aggregate.clone(), 41)
    );
    // The same state as folding every event.
    let mut conn = s.db.pool.acquire().await.unwrap();
    let mut folded = ManagedEnvironment::default();
    for e in runproof_projections::log::read_stream(&mut conn, "managed_environment", &id)
        .await
        .unwrap()
    {
        cqrs_es::Aggregate::apply(&mut folded, e.decode().unwrap());
    }
    assert_eq!(folded, first.aggregate);
    // A state edited by hand no longer matches its checksum and is ignored.
    forge_cached_state(&s).await;
    let unforged = s.app.store.load::<ManagedEnvironment>(&id).await.unwrap();
    assert_eq!(unforged.aggregate, folded, "the edited state was not used");
    forge_cached_state(&s).await;
    assert_eq!(
        loaded_with_workspace(&s).await.aggregate,
        folded,
        "loaded with its workspace, the edited state was not used either"
    );
    // A state cached by another build's fold is ignored, and the cache may be dropped.
    sqlx::query("UPDATE aggregate_state_cache SET format = 'managed_environment/0.0.0/1'")
        .execute(&s.db.pool)
        .await
        .unwrap();
    let ignored = s.app.store.load::<ManagedEnvironment>(&id).await.unwrap();
    assert_eq!(ignored.aggregate, folded);
    assert_eq!(loaded_with_workspace(&s).await, ignored);
    sqlx::query("DELETE FROM aggregate_state_cache")
        .execute(&s.db.pool)
        .await
        .unwrap();
    s.app
        .directory
        .capture_evidence(s.environment, findings(99), &operator())
        .await
        .unwrap();
    let after = s.app.store.load::<ManagedEnvironment>(&id).await.unwrap();
    assert_eq!(after.version, 42);
    assert_eq!(loaded_with_workspace(&s).await, after);
}
