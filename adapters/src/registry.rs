//! The adapter registry: which run types have an adapter. Types without one take the
//! generic stale path.

use std::collections::BTreeMap;
use std::sync::Arc;

use runproof_domain::reconciliation::{stale, Decision, Reconciliation, ReconciliationSource};
use runproof_domain::run_type::RunType;

use crate::contract::ReconciliationAdapter;

/// A registration mistake, found at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two adapters claim one run type.
    #[error("run type {run_type} has two adapters: {first} and {second}")]
    DuplicateAdapter {
        run_type: RunType,
        first: String,
        second: String,
    },
}

/// The adapters, by the run type each supports.
#[derive(Clone, Default)]
pub struct AdapterRegistry {
    adapters: BTreeMap<RunType, Arc<dyn ReconciliationAdapter>>,
}

impl AdapterRegistry {
    pub fn new() -> Self {
        AdapterRegistry::default()
    }

    /// A registry of exactly one adapter (which cannot collide with another).
    pub fn single(adapter: Arc<dyn ReconciliationAdapter>) -> Self {
        let mut adapters = BTreeMap::new();
        adapters.insert(adapter.run_type(), adapter);
        AdapterRegistry { adapters }
    }

    /// Registers an adapter; a second adapter for the same run type is an error.
    pub fn register(
        mut self,
        adapter: Arc<dyn ReconciliationAdapter>,
    ) -> Result<Self, RegistryError> {
        let run_type = adapter.run_type();
        if let Some(existing) = self.adapters.get(&run_type) {
            return Err(RegistryError::DuplicateAdapter {
                run_type,
                first: existing.identity().to_string(),
                second: adapter.identity().to_string(),
            });
        }
        self.adapters.insert(run_type, adapter);
        Ok(self)
    }

    /// The adapter for `run_type`, if the type has one.
    pub fn for_type(&self, run_type: RunType) -> Option<&Arc<dyn ReconciliationAdapter>> {
        self.adapters.get(&run_type)
    }

    /// The run types that have an adapter.
    pub fn supported_types(&self) -> impl Iterator<Item = RunType> + '_ {
        self.adapters.keys().copied()
    }

    /// Decides a recorded reconciliation again from its recorded evidence, with the
    /// same pure function that decided it. `None` when the recorded adapter (name and
    /// version) is not registered any more.
    pub fn redecide(&self, recorded: &Reconciliation) -> Option<Decision> {
        match (recorded.source, &recorded.adapter) {
            (ReconciliationSource::Stale, _) => Some(stale::decide(&recorded.evidence)),
            (ReconciliationSource::Adapter, Some(adapter)) => self
                .adapters
                .values()
                .find(|a| a.identity() == *adapter)
                .map(|a| a.decide(&recorded.evidence)),
            (ReconciliationSource::Adapter, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::RestoreAdapter;
    use runproof_domain::reconciliation::{AdapterRef, DecisionKind, Evidence};
    use runproof_domain::ReasonCode;

    fn adapter() -> Arc<dyn ReconciliationAdapter> {
        // A lazy pool never connects: the registry does no I/O.
        let pool = sqlx::PgPool::connect_lazy("postgres://localhost/unused").unwrap();
        Arc::new(RestoreAdapter::new(pool))
    }

    #[tokio::test]
    async fn registering_two_adapters_for_one_type_is_an_error() {
        let err = AdapterRegistry::new()
            .register(adapter())
            .unwrap()
            .register(adapter())
            .err()
            .unwrap();
        assert_eq!(
            err,
            RegistryError::DuplicateAdapter {
                run_type: RunType::RestoreExecute,
                first: "restore@1.0.0".into(),
                second: "restore@1.0.0".into(),
            }
        );
    }

    #[tokio::test]
    async fn types_without_an_adapter_are_not_supported() {
        let registry = AdapterRegistry::new().register(adapter()).unwrap();
        assert!(registry.for_type(RunType::RestoreExecute).is_some());
        for t in [
            RunType::InventorySync,
            RunType::ReportExport,
            RunType::EnvironmentReviewCompose,
        ] {
            assert!(registry.for_type(t).is_none());
        }
        assert_eq!(
            registry.supported_types().collect::<Vec<_>>(),
            vec![RunType::RestoreExecute]
        );
    }

    #[tokio::test]
    async fn a_decision_of_an_unregistered_adapter_version_cannot_be_redecided() {
        let registry = AdapterRegistry::new().register(adapter()).unwrap();
        let recorded = Reconciliation {
            source: ReconciliationSource::Adapter,
            adapter: Some(AdapterRef::new("restore", "0.9.0").unwrap()),
            decision: DecisionKind::ProvenSucceeded,
            reason_code: ReasonCode::RestoreCompleted,
            evidence: Evidence::default(),
            decided_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        };
        assert!(registry.redecide(&recorded).is_none());
    }
}
