//! A project's secrets and webhook signing secrets, between callers and the store: values are
//! sealed here before they are stored and opened here for the steps that use them, so the
//! store only ever holds ciphertext. The API sets and rotates; workers open.
//!
//! Without `ACTUATE_SECRETS_KEY` a process has no [`Keyring`]: it can neither set nor open a
//! secret ([`VaultError::NotConfigured`]), and its webhooks go out unsigned.

use crate::audit;
use crate::crypto::{Keyring, OpenError};
use crate::domain::audit::{AuditAction, NewAuditEntry};
use crate::domain::ids::{KeyId, Scope};
use crate::domain::secrets::{self, Redactor, SecretName, SecretValue};
use crate::domain::webhook_signing::{self, ROTATION_OVERLAP, SigningSecret};
use crate::storage::{DynStore, SealedTarget, SecretInfo, StoreError};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "secrets are not enabled on this server: its operator sets ACTUATE_SECRETS_KEY (see the \
         README)"
    )]
    NotConfigured,
    #[error("secret {name} cannot be read: {error}")]
    Unreadable { name: String, error: OpenError },
    #[error(
        "the project already has {} secrets, the most it may hold",
        secrets::PER_PROJECT_MAX
    )]
    TooMany,
    #[error(
        "{0} values are still under other keys, and were written again meanwhile: give every \
         process the new ACTUATE_SECRETS_KEY, then reseal again"
    )]
    StillUnderOldKeys(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The secrets of one project, opened, for one step.
#[derive(Clone, Debug, Default)]
pub struct ProjectSecrets {
    values: BTreeMap<SecretName, SecretValue>,
}

impl ProjectSecrets {
    pub fn get(&self, name: &str) -> Option<&SecretValue> {
        SecretName::parse(name)
            .ok()
            .and_then(|n| self.values.get(&n))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&SecretName, &SecretValue)> {
        self.values.iter()
    }

    /// What hides every one of these values in a step's result.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.values.values().cloned())
    }
}

#[derive(Clone)]
pub struct Vault {
    store: DynStore,
    keyring: Option<Keyring>,
}

impl Vault {
    pub fn new(store: DynStore, keyring: Option<Keyring>) -> Self {
        Self { store, keyring }
    }

    fn keyring(&self) -> Result<&Keyring, VaultError> {
        self.keyring.as_ref().ok_or(VaultError::NotConfigured)
    }

    /// Sets a secret; `true` when it was created rather than replaced.
    pub async fn put(
        &self,
        scope: Scope,
        name: &SecretName,
        value: &SecretValue,
    ) -> Result<(bool, SecretInfo), VaultError> {
        let keyring = self.keyring()?;
        let existing = self.store.list_secrets(scope).await?;
        if existing.len() as i64 >= secrets::PER_PROJECT_MAX
            && !existing.iter().any(|s| &s.name == name)
        {
            return Err(VaultError::TooMany);
        }
        let sealed = keyring.seal(
            &secrets::seal_context(scope, name),
            value.expose().as_bytes(),
        );
        Ok(self.store.put_secret(scope, name, sealed).await?)
    }

    /// Every secret of the project, opened. A project without secrets needs no key.
    pub async fn open_all(&self, scope: Scope) -> Result<ProjectSecrets, VaultError> {
        let sealed = self.store.sealed_secrets(scope).await?;
        if sealed.is_empty() {
            return Ok(ProjectSecrets::default());
        }
        let keyring = self.keyring()?;
        let mut values = BTreeMap::new();
        for (name, sealed) in sealed {
            let unreadable = |error| VaultError::Unreadable {
                name: name.to_string(),
                error,
            };
            let bytes = keyring
                .open(&secrets::seal_context(scope, &name), &sealed)
                .map_err(unreadable)?;
            // Values are checked when set; one that no longer passes was not written by us.
            let value = String::from_utf8(bytes)
                .ok()
                .and_then(|text| SecretValue::parse(text).ok())
                .ok_or_else(|| unreadable(OpenError::Damaged))?;
            values.insert(name, value);
        }
        Ok(ProjectSecrets { values })
    }

    /// The project's live signing secrets, the current one first; the first call makes one,
    /// and records that in the audit log as made by `by` (`None`: by a worker, for a webhook).
    pub async fn signing_secrets(
        &self,
        scope: Scope,
        by: Option<KeyId>,
    ) -> Result<Vec<SigningSecret>, VaultError> {
        let keyring = self.keyring()?;
        let mut stored = self.store.signing_secrets(scope).await?;
        if stored.is_empty() {
            // First use. Two at once: one insert wins, and both read it back.
            let secret = SigningSecret::generate();
            let sealed = keyring.seal(
                &webhook_signing::seal_context(scope),
                secret.expose().as_bytes(),
            );
            if self.store.add_signing_secret(scope, sealed, None).await? {
                let summary = match by {
                    Some(_) => "made on first read",
                    None => "made for the project's first webhook",
                };
                audit::record(
                    &*self.store,
                    NewAuditEntry::new(
                        scope.tenant_id,
                        Some(scope.project_id),
                        by,
                        AuditAction::WebhookSecretCreate,
                        "webhooksecret",
                        summary,
                    ),
                )
                .await;
            }
            stored = self.store.signing_secrets(scope).await?;
        }
        stored
            .iter()
            .map(|s| self.open_signing(keyring, scope, &s.sealed))
            .collect()
    }

    /// Replaces the current signing secret with a new one; the old one keeps signing for
    /// [`ROTATION_OVERLAP`]. Answers the new one.
    pub async fn rotate_signing_secret(&self, scope: Scope) -> Result<SigningSecret, VaultError> {
        let keyring = self.keyring()?;
        loop {
            let secret = SigningSecret::generate();
            let sealed = keyring.seal(
                &webhook_signing::seal_context(scope),
                secret.expose().as_bytes(),
            );
            // Two rotations at once: the loser's insert finds the winner's secret current and
            // writes nothing; it rotates again, so each caller gets a secret that was current.
            if self
                .store
                .add_signing_secret(scope, sealed, Some(ROTATION_OVERLAP))
                .await?
            {
                return Ok(secret);
            }
        }
    }

    /// Seals every stored value again under the current key (after a key rotation, so the
    /// previous keys can be dropped); answers how many it sealed again. Safe beside running
    /// processes: a value changed meanwhile is left as its writer sealed it (under the current
    /// key, when that writer already has it).
    pub async fn reseal_all(&self) -> Result<u64, VaultError> {
        const BATCH: i64 = 200;
        let keyring = self.keyring()?;
        let mut resealed = 0;
        loop {
            let entries = self
                .store
                .sealed_under_other_keys(keyring.current_key_id(), BATCH)
                .await?;
            let mut progress = false;
            for entry in &entries {
                let (context, name) = match &entry.target {
                    SealedTarget::Secret(name) => {
                        (secrets::seal_context(entry.scope, name), name.to_string())
                    }
                    SealedTarget::SigningSecret(_) => (
                        webhook_signing::seal_context(entry.scope),
                        "webhook signing secret".to_string(),
                    ),
                };
                let plain = keyring
                    .open(&context, &entry.sealed)
                    .map_err(|error| VaultError::Unreadable { name, error })?;
                let sealed = keyring.seal(&context, &plain);
                // Not replaced: changed meanwhile. Under an old key still (a process not yet
                // given the new one wrote it), it comes back in the next batch.
                if self.store.replace_sealed(entry, sealed).await? {
                    resealed += 1;
                    progress = true;
                }
            }
            if entries.len() < BATCH as usize {
                return Ok(resealed);
            }
            if !progress {
                // A whole batch changed under us: processes still sealing under an old key.
                return Err(VaultError::StillUnderOldKeys(entries.len()));
            }
        }
    }

    fn open_signing(
        &self,
        keyring: &Keyring,
        scope: Scope,
        sealed: &crate::crypto::Sealed,
    ) -> Result<SigningSecret, VaultError> {
        let unreadable = |error| VaultError::Unreadable {
            name: "webhook signing secret".into(),
            error,
        };
        let bytes = keyring
            .open(&webhook_signing::seal_context(scope), sealed)
            .map_err(unreadable)?;
        String::from_utf8(bytes)
            .ok()
            .and_then(|text| SigningSecret::parse(&text).ok())
            .ok_or_else(|| unreadable(OpenError::Damaged))
    }
}
