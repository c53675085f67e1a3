//! The scheduler's in-memory copy of its configuration: wards, signers, the procedure catalogue and
//! delegations. Loaded from the store at start-up and updated through the store on every change,
//! so that validating a submit or choosing a delegation never waits on the database.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::model::{Delegation, Procedure, Signer, Ward};

/// The configuration as of now.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    /// Wards by id.
    pub wards: HashMap<String, Ward>,
    /// Signers by id.
    pub signers: HashMap<String, Signer>,
    /// Procedures by code.
    pub procedures: HashMap<String, Procedure>,
    /// Delegations by id.
    pub delegations: HashMap<String, Delegation>,
}

impl Directory {
    /// The configuration as the store holds it.
    pub async fn load(
        store: &dyn crate::store::Store,
    ) -> Result<Directory, crate::store::StoreError> {
        let mut directory = Directory::default();
        for w in store.wards().await? {
            directory.wards.insert(w.id.clone(), w);
        }
        for s in store.signers(None).await? {
            directory.signers.insert(s.id.clone(), s);
        }
        for p in store.procedures().await? {
            directory.procedures.insert(p.code.clone(), p);
        }
        for d in store.delegations(None).await? {
            directory.delegations.insert(d.id.clone(), d);
        }
        Ok(directory)
    }

    /// The delegations of a ward.
    pub fn ward_delegations(&self, ward: &str) -> Vec<Delegation> {
        self.delegations
            .values()
            .filter(|d| d.ward == ward)
            .cloned()
            .collect()
    }

    /// A delegation under which `deputy` may sign `procedure` at `now`, preferring the one that
    /// ends last.
    pub fn covering(
        &self,
        deputy: &str,
        procedure: &str,
        now: OffsetDateTime,
    ) -> Option<&Delegation> {
        self.delegations
            .values()
            .filter(|d| d.deputy_id == deputy && d.covers(procedure, now))
            .max_by_key(|d| (d.not_after, d.id.clone()))
    }

    /// The director of a ward.
    pub fn director_of(&self, ward: &str) -> Option<&Signer> {
        self.signers
            .values()
            .find(|s| s.ward == ward && s.role == crate::model::SignerRole::Director)
    }
}
