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

    /// Registers an adapter; a second adapter for the same run type is an error.
    pub fn register(mut self, adapter: Arc<dyn ReconciliationAdapter>) -> Result<Self, RegistryError> {
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
