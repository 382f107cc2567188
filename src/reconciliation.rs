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

/// The reconciler of this process.
pub fn reconciler(app: &App) -> Result<Reconciler, RegistryError> {
    Ok(Reconciler::new(
        app.pool.clone(),
        app.projector.clone(),
        Arc::new(registry(app)?),
        Arc::new(app.lifecycle.clone()),
    ))
}
