//! HTTP test support: the real router over a test database, requests with a bearer
//! token, and a small world of two workspaces with a member, an outsider and an operator.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use runproof::cli::serve::api_state;
use runproof::database::DatabaseTarget;
use runproof::http::{self, Limits};
use runproof::lifecycle::EnsureRun;
use runproof_domain::actor::ActorKind;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

use super::TestDb;

pub async fn router(db: &TestDb, limits: Limits) -> Router {
    let target = DatabaseTarget::parse(&db.url()).unwrap();
    http::router(api_state(&target, limits).await.unwrap())
}

pub async fn call(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

/// The real HTTP server on a free loopback port, served by the test's runtime (as
/// `runproof serve` serves it); stopped when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on `127.0.0.1:0` (the OS picks a free port).
pub async fn serve(router: Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Server {
        url: format!("http://{address}"),
        task,
    }
}

/// The real server over `db`, with the default limits.
pub async fn serve_db(db: &TestDb) -> Server {
    serve(router(db, Limits::default()).await).await
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// Two workspaces with a run each; a member of the first, an outsider, an operator, and a
/// service actor that is a member of the first (it drives run lifecycles there).
pub struct Api {
    /// Kept alive: dropping it drops the database.
    pub _db: TestDb,
    pub app: runproof::app::App,
    /// The services' clock (the router's is the system clock).
    pub clock: std::sync::Arc<runproof::clock::ManualClock>,
    pub router: Router,
    pub ours: Uuid,
    pub theirs: Uuid,
    pub our_run: Uuid,
    pub their_run: Uuid,
    pub member: String,
    pub member_id: Uuid,
    pub outsider: String,
    pub operator: String,
    /// A service actor's token; the actor is a member of `ours`.
    pub service: String,
    pub service_id: Uuid,
}

impl Api {
    /// This world's router as a real server, for a browser or any HTTP client.
    pub async fn serve(&self) -> Server {
        serve(self.router.clone()).await
    }
}

pub async fn token(app: &runproof::app::App, actor: Uuid) -> String {
    app.tokens
        .issue(actor, Some("test"), None, &super::operator())
        .await
        .unwrap()
        .token
}

pub async fn api() -> Api {
    let db = TestDb::new().await;
    let (app, clock) = super::app(&db);
    let ctx = super::operator();
    let d = &app.directory;
    let ours = d
        .create_workspace(Uuid::new_v4(), "Contoso", &ctx)
        .await
        .unwrap();
    let theirs = d
        .create_workspace(Uuid::new_v4(), "Fabrikam", &ctx)
        .await
        .unwrap();
    let member = d.create_actor(Uuid::new_v4(), "Ada", &ctx).await.unwrap();
    d.add_member(ours, member, &ctx).await.unwrap();
    let outsider = d.create_actor(Uuid::new_v4(), "Eve", &ctx).await.unwrap();
    d.add_member(theirs, outsider, &ctx).await.unwrap();
    let operator = d
        .create_actor_as(Uuid::new_v4(), "Ops", ActorKind::Member, true, &ctx)
        .await
        .unwrap();
    let service = d
        .create_actor_as(
            Uuid::new_v4(),
            "Backup jobs",
            ActorKind::Service,
            false,
            &ctx,
        )
        .await
        .unwrap();
    d.add_member(ours, service, &ctx).await.unwrap();
    let run = |ws: Uuid| EnsureRun {
        workspace_id: ws,
        environment_id: None,
        run_type: "report.export".into(),
        identity_inputs: serde_json::json!({ "n": ws }),
        context: serde_json::json!({}),
    };
    let our_run = app
        .lifecycle
        .ensure(run(ours), &ctx)
        .await
        .unwrap()
        .run_id();
    let their_run = app
        .lifecycle
        .ensure(run(theirs), &ctx)
        .await
        .unwrap()
        .run_id();
    let router = router(&db, Limits::default()).await;
    Api {
        _db: db,
        member: token(&app, member).await,
        member_id: member,
        outsider: token(&app, outsider).await,
        operator: token(&app, operator).await,
        service: token(&app, service).await,
        service_id: service,
        app,
        clock,
        router,
        ours,
        theirs,
        our_run,
        their_run,
    }
}

pub fn get_as(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// The raw answer: status and body bytes.
pub async fn raw(router: &Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, bytes)
}

/// A request with a JSON body and the caller's token.
pub fn send_as(method: &str, path: &str, token: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}
