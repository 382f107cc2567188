//! The review stories: two requests for one environment (one run, one review); a compose
//! whose worker died mid-way, ended by the reconciler, whose draft the next request takes
//! over; and a published review that a refresh and a stray legacy run both reuse.

use runproof_domain::actor::Actor;
use runproof_domain::environment::ManagedEnvironment;
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::review::COMPOSER_VERSION;
use runproof_domain::run_type::RunType;
use runproof_domain::workspace::Workspace;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{demo_id, DemoText, Pointers, Stage};
use crate::app::App;
use crate::cli::error::CliError;
use crate::cli::reviews::feedback_text;
use crate::reviews::worker::Executed;
use crate::reviews::{Claim, Feedback};
use crate::service_error::ServiceError;

fn failed(e: ServiceError) -> CliError {
    CliError::from_service(&e)
}

/// A findings document of a realistic shape.
fn findings(seed: usize) -> Value {
    let categories = [
        "identity",
        "conditional-access",
        "backup",
        "network",
        "devices",
    ];
    let severities = ["critical", "high", "medium", "low", "info"];
    let items: Vec<Value> = (0..12 + seed % 5)
        .map(|i| {
            json!({
                "id": format!("F-{:03}", i + 1),
                "severity": severities[(i * 3 + seed) % 5],
                "category": categories[(i + seed) % 5],
                "title": format!("Finding {} of the weekly scan", i + 1),
            })
        })
        .collect();
    json!({ "source": "scanner 4.2", "findings": items })
}

/// Creates what the stories need unless an earlier demo did.
async fn directory(
    stage: &Stage,
    workspace: Uuid,
    actor: Uuid,
    environments: &[(Uuid, &str)],
) -> Result<(), CliError> {
    let (app, ctx) = (&stage.app, &stage.operator);
    if app
        .store
        .load::<Workspace>(&workspace.to_string())
        .await
        .map_err(|e| CliError::internal(&e))?
        .aggregate
        .state()
        .is_none()
    {
        app.directory
            .create_workspace(workspace, "Contoso", ctx)
            .await
            .map_err(failed)?;
    }
    let existing = app
        .store
        .load::<Actor>(&actor.to_string())
        .await
        .map_err(|e| CliError::internal(&e))?;
    if existing.aggregate.state().is_none() {
        app.directory
            .create_actor(actor, "Ops Lead", ctx)
            .await
            .map_err(failed)?;
        app.directory
            .add_member(workspace, actor, ctx)
            .await
            .map_err(failed)?;
    }
    for (id, name) in environments {
        let env = app
            .store
            .load::<ManagedEnvironment>(&id.to_string())
            .await
            .map_err(|e| CliError::internal(&e))?;
        if env.aggregate.state().is_none() {
            app.directory
                .create_environment(workspace, *id, name, ctx)
                .await
                .map_err(failed)?;
        }
    }
    Ok(())
}

async fn request(
    app: &App,
    actor: Uuid,
    workspace: Uuid,
    environment: Uuid,
    stage: &Stage,
) -> Result<Feedback, CliError> {
    app.reviews
        .create_or_refresh(actor, workspace, environment, &stage.operator)
        .await
        .map_err(failed)
}

/// What the stories leave for after the reconciler's pass: the environment whose compose
/// crashed.
pub(super) struct Crashed {
    workspace: Uuid,
    actor: Uuid,
    environment: Uuid,
}

/// After the reconciler ended the crashed compose run, the next request for the same
/// evidence queues a new run, whose worker takes the orphaned draft over and composes it.
pub(super) async fn after_reconcile(stage: &Stage, crashed: &Crashed) -> Result<(), CliError> {
    let (app, out, lang) = (&stage.app, &stage.out, stage.out.lang);
    let feedback = request(
        app,
        crashed.actor,
        crashed.workspace,
        crashed.environment,
        stage,
    )
    .await?;
    out.line(format!("  {}", feedback_text(&feedback, out)));
    let done = app
        .worker()
        .run_until_idle()
        .await
        .map_err(|e| CliError::internal(&e))?;
    for (run, e) in &done {
        if let Executed::Composed { review_id } = e {
            out.line(format!(
                "  {}",
                DemoText::TakenOver.render(
                    lang,
                    &[
                        ("run", &run.to_string()),
                        ("review", &review_id.to_string())
                    ]
                )
            ));
        }
    }
    Ok(())
}

pub(super) async fn record(stage: &Stage, pointers: &mut Pointers) -> Result<Crashed, CliError> {
    let (app, out, lang) = (&stage.app, &stage.out, stage.out.lang);
    let contoso = demo_id("workspace/contoso");
    let ops = demo_id("actor/ops-lead");
    let prod = demo_id("environment/contoso-prod");
    let dev = Uuid::new_v4();
    let staging = Uuid::new_v4();
    directory(
        stage,
        contoso,
        ops,
        &[(prod, "prod"), (dev, "dev"), (staging, "staging")],
    )
    .await?;
    out.say(DemoText::ReviewsHeading, &[]);

    // 1. Two requests for one environment: one run, one review; then "already available".
    app.directory
        .capture_evidence(prod, findings(0), &stage.operator)
        .await
        .map_err(failed)?;
    let first = request(app, ops, contoso, prod, stage).await?;
    out.line(format!(
        "  {} {}",
        DemoText::FirstTrigger.text(lang),
        feedback_text(&first, out)
    ));
    let second = request(app, ops, contoso, prod, stage).await?;
    out.line(format!(
        "  {} {}",
        DemoText::SecondTrigger.text(lang),
        feedback_text(&second, out)
    ));
    let done = app
        .worker()
        .run_until_idle()
        .await
        .map_err(|e| CliError::internal(&e))?;
    for (run, e) in &done {
        if let Executed::Composed { review_id } = e {
            out.line(format!(
                "  {} run {run} → review {review_id}",
                DemoText::WorkerRan.text(lang)
            ));
        }
    }
    let third = request(app, ops, contoso, prod, stage).await?;
    out.line(format!(
        "  {} {}",
        DemoText::ThirdTrigger.text(lang),
        feedback_text(&third, out)
    ));
    if let Feedback::AlreadyAvailable { review_id } = third {
        pointers.push((
            format!("runproof reviews show {review_id}"),
            DemoText::PointerReview.text(lang),
        ));
        pointers.push((
            format!("runproof history {review_id}"),
            DemoText::PointerReviewHistory.text(lang),
        ));
    }

    // 2. A compose three hours ago whose worker died mid-way: the claim and the draft are
    //    written, nothing after them. The reconciler ends the run (the draft was never
    //    finished); the next request takes the draft over (see `after_reconcile`).
    let past = &stage.past;
    past.directory
        .capture_evidence(dev, findings(1), &stage.operator)
        .await
        .map_err(failed)?;
    let Feedback::Queued { run_id: crashed } = request(past, ops, contoso, dev, stage).await?
    else {
        return Err(CliError::internal(&std::io::Error::other(
            "the dev environment had a review already",
        )));
    };
    past.lifecycle
        .start(crashed, &stage.worker)
        .await
        .map_err(|e| CliError::from_lifecycle(&e))?;
    let job = past.reviews.job_of(crashed).await.map_err(failed)?;
    if let Claim::Drafted(review) = past
        .reviews
        .claim(&job, &stage.worker)
        .await
        .map_err(failed)?
    {
        if let Some(drafted) = review.aggregate.state() {
            past.reviews.wait_visible(drafted.id, review.version).await;
        }
    }
    out.line(format!(
        "  {}",
        DemoText::CrashedCompose.render(lang, &[("run", &crashed.to_string())])
    ));

    // 3. A published review is available: a refresh of the same evidence reuses it, and a
    //    stray compose run of a legacy integration is proven a duplicate of it.
    app.directory
        .capture_evidence(staging, findings(2), &stage.operator)
        .await
        .map_err(failed)?;
    request(app, ops, contoso, staging, stage).await?;
    let mut published = None;
    for (_, e) in app
        .worker()
        .run_until_idle()
        .await
        .map_err(|e| CliError::internal(&e))?
    {
        if let Executed::Composed { review_id } = e {
            app.reviews
                .publish(review_id, Some(ops), &stage.operator)
                .await
                .map_err(failed)?;
            published = Some(review_id);
        }
    }
    let refresh = request(app, ops, contoso, staging, stage).await?;
    let env = app
        .store
        .load::<ManagedEnvironment>(&staging.to_string())
        .await
        .map_err(|e| CliError::internal(&e))?;
    let snapshot = env
        .aggregate
        .state()
        .and_then(|e| e.latest_snapshot.clone());
    let stray = match snapshot {
        Some(snapshot) => {
            let fingerprint =
                Fingerprint::compute(contoso, staging, &snapshot.content_hash, COMPOSER_VERSION);
            let inputs = json!({
                "fingerprint": fingerprint,
                "snapshot_id": snapshot.snapshot_id,
                "content_hash": snapshot.content_hash,
                "requested_by": "legacy-integration",
            });
            super::runs::ensure(
                past,
                &stage.operator,
                contoso,
                Some(staging),
                RunType::EnvironmentReviewCompose,
                inputs,
            )
            .await?
            .run_id()
        }
        None => Uuid::nil(),
    };
    if let Some(review) = published {
        out.line(format!(
            "  {}",
            DemoText::PublishedReused.render(
                lang,
                &[("review", &review.to_string()), ("run", &stray.to_string())]
            )
        ));
    }
    out.line(format!(
        "  {} {}",
        DemoText::StagingRefresh.text(lang),
        feedback_text(&refresh, out)
    ));

    pointers.push((
        format!("runproof history {crashed}"),
        DemoText::PointerCrashed.text(lang),
    ));
    pointers.push((
        format!("runproof history {stray}"),
        DemoText::PointerStray.text(lang),
    ));
    pointers.push((
        format!("runproof reviews list --workspace {contoso}"),
        DemoText::PointerReviews.text(lang),
    ));
    pointers.push((
        "runproof reconcile --once".into(),
        DemoText::PointerExplain.text(lang),
    ));
    pointers.push((
        "runproof replay --verify".into(),
        DemoText::PointerVerify.text(lang),
    ));
    Ok(Crashed {
        workspace: contoso,
        actor: ops,
        environment: dev,
    })
}
