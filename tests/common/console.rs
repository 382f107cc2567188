//! The console as a browser without JavaScript uses it, over the real router: a client
//! that keeps the cookies the server sets and sends them back, reads hidden fields and
//! links, signs in through the form.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::Duration;
use runproof::cli::serve::metrics_handle;
use runproof::database::DatabaseTarget;
use runproof::http::state::Shared;
use runproof::http::{ApiState, Limits};
use tower::ServiceExt;

use super::http::Api;

/// The router over the world's own services, so the test's manual clock is the
/// console's clock.
pub fn console(a: &Api) -> Router {
    runproof::http::router(ApiState::new(Shared {
        app: a.app.clone(),
        target: DatabaseTarget::parse(&a._db.url()).unwrap(),
        limits: Limits::default(),
        metrics: metrics_handle(),
        console: runproof::console::Settings::default(),
    }))
}

/// A browser: keeps the cookies the server sets, sends them back.
pub struct Browser {
    router: Router,
    pub cookies: BTreeMap<String, String>,
    headers: Vec<(String, String)>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the first hidden field `name`.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect(&marker) + marker.len();
        let rest = &self.body[start..];
        unescape(&rest[..rest.find('"').unwrap()])
    }

    /// The `href` of the link with `rel="…"`, if there is one.
    pub fn rel(&self, rel: &str) -> Option<String> {
        let marker = format!("\" rel=\"{rel}\"");
        let end = self.body.find(&marker)?;
        let start = self.body[..end].rfind("href=\"").unwrap() + "href=\"".len();
        Some(unescape(&self.body[start..end]))
    }

    /// The run ids of the list, in order (from the links to their pages).
    pub fn run_links(&self) -> Vec<String> {
        self.body
            .match_indices("href=\"/runs/")
            .map(|(i, m)| {
                let rest = &self.body[i + m.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect()
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
}

impl Browser {
    pub fn new(router: Router) -> Self {
        Browser {
            router,
            cookies: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> Page {
        self.send_with(method, path, form, &[]).await
    }

    pub async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        form: Option<String>,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut request = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(header::COOKIE, cookie);
        }
        for (k, v) in &self.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        let body = match form {
            Some(f) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(f)
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        for c in headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attributes) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Page {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let form = serde_urlencoded::to_string(fields).unwrap();
        self.send("POST", path, Some(form)).await
    }

    /// Opens the sign-in form and submits `token`.
    pub async fn sign_in(&mut self, token: &str, next: &str) -> Page {
        let form = self.get(&format!("/sign-in?next={next}")).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.field("csrf");
        let next = form.field("next");
        self.post(
            "/sign-in",
            &[("csrf", &csrf), ("next", &next), ("token", token)],
        )
        .await
    }

    /// Signs in and checks it worked.
    pub async fn signed_in(router: Router, token: &str) -> Browser {
        let mut b = Browser::new(router);
        let answer = b.sign_in(token, "/").await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        b
    }
}

/// Moves the console's (and the services') clock on.
pub fn advance(a: &Api, minutes: i64) {
    a.clock.advance(Duration::minutes(minutes));
}

/// A findings document of `n` findings across three categories.
pub fn findings(n: usize, tag: &str) -> serde_json::Value {
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let severity = ["critical", "high", "medium", "low", "info"][i % 5];
            let category = ["identity", "network", "backup"][i % 3];
            serde_json::json!({"severity": severity, "category": category, "title": format!("{tag} {i}")})
        })
        .collect();
    serde_json::json!({ "findings": items })
}

/// A `restore.execute` run in `environment` of `workspace` that its job never completed,
/// whose restore record finished cleanly: past its stale threshold the reconciler proves
/// it succeeded through the restore adapter (as tests/http_lifecycle.rs does over HTTP).
/// Returns the run's id.
pub async fn reconciled_restore(
    a: &Api,
    workspace: uuid::Uuid,
    environment: uuid::Uuid,
) -> uuid::Uuid {
    let restore_id = uuid::Uuid::new_v4();
    let ctx = super::worker();
    let run = a
        .app
        .lifecycle
        .ensure(
            runproof::lifecycle::EnsureRun {
                workspace_id: workspace,
                environment_id: Some(environment),
                run_type: "restore.execute".into(),
                identity_inputs: serde_json::json!({ "restore": restore_id }),
                context: serde_json::json!({ "restore_id": restore_id }),
            },
            &super::operator(),
        )
        .await
        .unwrap()
        .run_id();
    a.app.lifecycle.start(run, &ctx).await.unwrap();
    let scope = runproof::restore::RestoreScope {
        restore_id,
        run_id: run,
        workspace_id: workspace,
        environment_id: environment,
    };
    a.app.restores.request(scope, &ctx).await.unwrap();
    a.app.restores.start(restore_id, &ctx).await.unwrap();
    a.app
        .restores
        .finish(restore_id, false, 27, 0, &ctx)
        .await
        .unwrap();
    super::wait_projected(&a._db, &a.app.projector).await;
    let reconciler = runproof::reconciliation::reconciler(&a.app).unwrap();
    let report = reconciler
        .pass(runproof::clock::Clock::now(a.clock.as_ref()) + Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(report.counts().decided_by_adapter, 1, "{report:?}");
    super::wait_projected(&a._db, &a.app.projector).await;
    run
}

/// The world's console router with other limits (a short request time, one request at
/// a time).
pub fn console_with(a: &Api, limits: Limits) -> Router {
    runproof::http::router(ApiState::new(Shared {
        app: a.app.clone(),
        target: DatabaseTarget::parse(&a._db.url()).unwrap(),
        limits,
        metrics: metrics_handle(),
        console: runproof::console::Settings::default(),
    }))
}

/// A run of a workspace the directory has never heard of: the lifecycle records it all
/// the same (it does not ask the directory). Returns `(workspace, run)`.
pub async fn run_of_unknown_workspace(app: &runproof::app::App) -> (uuid::Uuid, uuid::Uuid) {
    let workspace = uuid::Uuid::new_v4();
    let run = app
        .lifecycle
        .ensure(
            runproof::lifecycle::EnsureRun {
                workspace_id: workspace,
                environment_id: None,
                run_type: "report.export".into(),
                identity_inputs: serde_json::json!({ "unknown": workspace }),
                context: serde_json::json!({}),
            },
            &super::operator(),
        )
        .await
        .unwrap()
        .run_id();
    (workspace, run)
}

/// An open transaction that holds the log's read horizon: events written after it began
/// stay out of the views (the projector reads only below the oldest open transaction)
/// until it ends.
pub async fn hold_the_horizon(db: &super::TestDb) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut holder = db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *holder)
        .await
        .unwrap();
    holder
}

/// `path` as `signed_in`'s session opens it on a router whose requests may take 300 ms,
/// while `operation_runs` is locked: it runs over its time. (The API's technique in
/// tests/http.rs; nothing sleeps.)
pub async fn timed_out(a: &Api, signed_in: &Browser, path: &str) -> Page {
    let router = console_with(
        a,
        Limits {
            request_timeout: std::time::Duration::from_millis(300),
            ..Limits::default()
        },
    );
    let mut b = Browser::new(router);
    b.cookies = signed_in.cookies.clone();
    let mut holder = a._db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE operation_runs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let page = b.get(path).await;
    holder.rollback().await.unwrap();
    page
}

/// A server that serves one request at a time, its slot held by a request that waits on
/// a lock: hands it to `during`, then lets the held request finish. (The API's technique
/// in tests/http.rs; nothing sleeps.)
pub async fn while_full<T>(a: &Api, during: impl AsyncFnOnce(&Router) -> T) -> T {
    let router = console_with(
        a,
        Limits {
            max_concurrent_requests: 1,
            ..Limits::default()
        },
    );
    let mut holder = a._db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let first = tokio::spawn({
        let r = router.clone();
        async move { super::http::call(&r, super::http::get("/readyz")).await }
    });
    // Wait until the first request holds the slot: then /healthz is refused.
    loop {
        let (status, _, _) = super::http::call(&router, super::http::get("/healthz")).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::task::yield_now().await;
    }
    let answer = during(&router).await;
    holder.rollback().await.unwrap();
    let (status, _, _) = first.await.unwrap();
    assert_eq!(status, StatusCode::OK, "the held request finishes");
    answer
}

/// `path` on a full server (see [`while_full`]).
pub async fn overloaded(a: &Api, path: &str) -> Page {
    let path = path.to_string();
    while_full(a, async |router: &Router| {
        Browser::new(router.clone()).get(&path).await
    })
    .await
}
