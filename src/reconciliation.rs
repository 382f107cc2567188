//! Wiring of reconciliation: the adapter registry and the reconciler over this process's
//! services.

use std::sync::Arc;

use runproof_adapters::restore::RestoreAdapter;
use runproof_adapters::review_compose::ReviewComposeAdapter;
use runproof_adapters::{AdapterRegistry, Reconciler, RegistryError};

use crate::app::App;

/// Every adapter runproof ships, registered by run type. Registering two adapters for
/// one type fails here, at start-up.
pub fn registry(app: &App) -> Result<AdapterRegistry, RegistryError> {
    AdapterRegistry::new()
        .register(Arc::new(RestoreAdapter::new(app.pool.clone())))?
        .register(Arc::new(ReviewComposeAdapter::new(app.pool.clone())))
}

/// Every adapter runproof ships, for re-deciding recorded decisions only (`audit verify
/// DIR`, which opens no database): re-deciding calls nothing but the adapters' pure
/// decision functions, so their pool is a lazy one that is never opened.
pub fn decision_registry() -> Result<AdapterRegistry, RegistryError> {
    let never_opened = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(sqlx::postgres::PgConnectOptions::new_without_pgpass());
    AdapterRegistry::new()
        .register(Arc::new(RestoreAdapter::new(never_opened.clone())))?
        .register(Arc::new(ReviewComposeAdapter::new(never_opened)))
}

/// The reconciler of this process.
pub fn reconciler(app: &App) -> Result<Reconciler, RegistryError> {
    Ok(Reconciler::new(
        app.pool.clone(),
        app.projector.clone(),
        Arc::new(registry(app)?),
        Arc::new(app.lifecycle.clone()),
    ))
}
