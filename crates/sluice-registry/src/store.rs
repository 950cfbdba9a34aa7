//! The registry's state and operations: global schema ids, subjects and their
//! versions, soft and permanent deletes, compatibility levels.
//!
//! The state is derived from the `_schemas` topic alone, as Confluent's is: a
//! change is written to the topic and applied when read back, and every
//! operation first reads what the topic gained since (so opening a registry
//! replays it, and registries sharing a log see each other's changes). Two
//! registries writing at the same moment could still give out one id twice;
//! Confluent avoids that with a leader, which this embedded registry has no
//! need of while it is one per log.

use std::sync::{Arc, Mutex, MutexGuard};

use sluice_formats::{FormatError, RegisteredSchema, SchemaRegistry};
use sluice_log::Log;

use crate::compat::CompatibilityLevel;
use crate::error::RegistryError;
use crate::schema;
use crate::state::{State, VersionEntry};
pub use crate::state::{SubjectVersion, VersionSpec};
use crate::storage::{Change, Storage};

/// The embedded schema registry: shared by the engine (through
/// [`SchemaRegistry`]) and the REST API (through [`crate::http::router`]).
pub struct Registry {
    storage: Storage,
    state: Mutex<State>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens the registry stored on `log`: replays its `_schemas` topic
    /// (created when missing), so ids, versions and levels are as they were.
    pub fn open(log: Arc<dyn Log>) -> Result<Arc<Registry>, RegistryError> {
        let registry = Registry {
            storage: Storage::open(log)?,
            state: Mutex::new(State::default()),
        };
        // replay the topic now, so a damaged one fails here rather than later
        drop(registry.lock()?);
        Ok(Arc::new(registry))
    }

    /// The state, caught up with the topic.
    fn lock(&self) -> Result<MutexGuard<'_, State>, RegistryError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| RegistryError::Store("the registry failed earlier; restart".into()))?;
        self.catch_up(&mut state)?;
        Ok(state)
    }

    fn catch_up(&self, state: &mut State) -> Result<(), RegistryError> {
        let (changes, next) = self.storage.read_from(state.offset)?;
        for c in changes {
            state.apply(c);
        }
        state.offset = next;
        Ok(())
    }

    /// Writes the changes to the topic and reads them back.
    fn commit(&self, state: &mut State, changes: Vec<Change>) -> Result<(), RegistryError> {
        self.storage.write(&changes)?;
        self.catch_up(state)
    }

    /// Subjects with live versions (`deleted`: with any versions), sorted.
    pub fn subjects(&self, deleted: bool) -> Result<Vec<String>, RegistryError> {
        let state = self.lock()?;
        Ok(state
            .subjects
            .iter()
            .filter(|(_, versions)| deleted || versions.values().any(|e| !e.deleted))
            .map(|(s, _)| s.clone())
            .collect())
    }

    /// A subject's version numbers, oldest first.
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>, RegistryError> {
        let state = self.lock()?;
        Ok(state
            .versions(subject, deleted)?
            .into_iter()
            .map(|(v, _)| v)
            .collect())
    }

    pub fn version(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let state = self.lock()?;
        let (version, entry) = state.version(subject, spec, deleted)?;
        Ok(SubjectVersion {
            subject: subject.to_string(),
            version,
            id: entry.id,
            schema: state.schema(entry.id)?.clone(),
        })
    }

    /// The schema with this id.
    pub fn schema(&self, id: i32) -> Result<RegisteredSchema, RegistryError> {
        self.lock()?.schema(id).cloned()
    }

    /// The subject versions using schema `id` (`deleted`: soft-deleted ones too).
    pub fn usages(&self, id: i32, deleted: bool) -> Result<Vec<(String, i32)>, RegistryError> {
        let state = self.lock()?;
        state.schema(id)?;
        Ok(state
            .subjects
            .iter()
            .flat_map(|(s, versions)| {
                versions
                    .iter()
                    .filter(|(_, e)| e.id == id && (deleted || !e.deleted))
                    .map(|(v, _)| (s.clone(), *v))
            })
            .collect())
    }

    /// Validates and normalizes a schema as it will be stored.
    fn prepare(&self, schema: &RegisteredSchema) -> Result<RegisteredSchema, RegistryError> {
        Ok(RegisteredSchema {
            schema_type: schema.schema_type,
            schema: schema::normalized_text(schema.schema_type, &schema.schema)?,
            references: schema.references.clone(),
        })
    }

    /// Registers `schema` under `subject`: the id of an equal live version, or
    /// a new version (with the schema's global id, new or reused) if it is
    /// compatible with the subject's level.
    pub fn register(&self, subject: &str, schema: &RegisteredSchema) -> Result<i32, RegistryError> {
        let schema = self.prepare(schema)?;
        let mut state = self.lock()?;
        let live: Vec<(i32, VersionEntry)> = state.versions(subject, false).unwrap_or_default();
        if let Some((_, e)) = live
            .iter()
            .find(|(_, e)| state.schemas.get(&e.id) == Some(&schema))
        {
            return Ok(e.id);
        }
        let against: Vec<VersionEntry> = live.iter().map(|(_, e)| *e).collect();
        let messages = state.incompatibilities(state.level(subject), &schema, &against)?;
        if !messages.is_empty() {
            return Err(RegistryError::Incompatible {
                subject: subject.to_string(),
                messages,
            });
        }
        let id = state.id_of(&schema).unwrap_or_else(|| state.next_id());
        // numbers of soft-deleted versions are not given out again, as in Confluent
        let version = state
            .subjects
            .get(subject)
            .and_then(|v| v.keys().next_back())
            .map_or(1, |v| v + 1);
        self.commit(
            &mut state,
            vec![Change::Version {
                subject: subject.to_string(),
                version,
                id,
                schema,
                deleted: false,
            }],
        )?;
        Ok(id)
    }

    /// The version of `subject` holding `schema` (Confluent's lookup).
    pub fn lookup(
        &self,
        subject: &str,
        schema: &RegisteredSchema,
        deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let schema = self.prepare(schema)?;
        let state = self.lock()?;
        let versions = state.versions(subject, deleted)?;
        versions
            .iter()
            .rev()
            .find(|(_, e)| state.schemas.get(&e.id) == Some(&schema))
            .map(|(version, e)| SubjectVersion {
                subject: subject.to_string(),
                version: *version,
                id: e.id,
                schema: schema.clone(),
            })
            .ok_or(RegistryError::SchemaNotFound)
    }

    /// Deletes every version of `subject`: soft (they stay readable with
    /// `deleted=true`), or permanently, which needs a soft delete first.
    /// Returns the deleted version numbers.
    pub fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        let mut state = self.lock()?;
        let all = state.versions(subject, true)?;
        let targets: Vec<(i32, VersionEntry)> = if permanent {
            if all.iter().any(|(_, e)| !e.deleted) {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_string()));
            }
            all
        } else {
            if all.iter().all(|(_, e)| e.deleted) {
                return Err(RegistryError::SubjectSoftDeleted(subject.to_string()));
            }
            all.into_iter().filter(|(_, e)| !e.deleted).collect()
        };
        let changes = targets
            .iter()
            .map(|(version, e)| {
                let (subject, version) = (subject.to_string(), *version);
                Ok(if permanent {
                    Change::VersionRemoved { subject, version }
                } else {
                    Change::Version {
                        subject,
                        version,
                        id: e.id,
                        schema: state.schema(e.id)?.clone(),
                        deleted: true,
                    }
                })
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        let versions = targets.iter().map(|(v, _)| *v).collect();
        self.commit(&mut state, changes)?;
        Ok(versions)
    }

    /// Deletes one version, soft or (after a soft delete) permanently.
    pub fn delete_version(
        &self,
        subject: &str,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<i32, RegistryError> {
        let mut state = self.lock()?;
        // `latest` of a soft delete is the newest live version; otherwise any
        let (version, entry) = match (permanent, spec) {
            (false, VersionSpec::Latest) => state.version(subject, spec, false)?,
            _ => state.version(subject, spec, true)?,
        };
        let change = match (permanent, entry.deleted) {
            (true, false) => {
                return Err(RegistryError::VersionNotSoftDeleted {
                    subject: subject.to_string(),
                    version,
                })
            }
            (false, true) => {
                return Err(RegistryError::VersionSoftDeleted {
                    subject: subject.to_string(),
                    version,
                })
            }
            (true, true) => Change::VersionRemoved {
                subject: subject.to_string(),
                version,
            },
            (false, false) => Change::Version {
                subject: subject.to_string(),
                version,
                id: entry.id,
                schema: state.schema(entry.id)?.clone(),
                deleted: true,
            },
        };
        self.commit(&mut state, vec![change])?;
        Ok(version)
    }

    /// The global level, or a subject's (`default_to_global`: the global one
    /// when the subject has none).
    pub fn config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let state = self.lock()?;
        match subject {
            None => Ok(state.global),
            Some(s) => match state.subject_levels.get(s) {
                Some(level) => Ok(*level),
                None if default_to_global => Ok(state.global),
                None => Err(RegistryError::SubjectConfigNotFound(s.to_string())),
            },
        }
    }

    pub fn set_config(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        let mut state = self.lock()?;
        let change = Change::Config {
            subject: subject.map(String::from),
            level: Some(level),
        };
        self.commit(&mut state, vec![change])
    }

    /// Removes a subject's level; returns the level it had.
    pub fn delete_config(&self, subject: &str) -> Result<CompatibilityLevel, RegistryError> {
        let mut state = self.lock()?;
        let Some(level) = state.subject_levels.get(subject).copied() else {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        };
        let change = Change::Config {
            subject: Some(subject.to_string()),
            level: None,
        };
        self.commit(&mut state, vec![change])?;
        Ok(level)
    }

    /// Why `schema` would break `subject`'s level against one version
    /// (`Some`), or against the versions the level names (`None`); empty
    /// when it would not. Against `latest` of a subject without versions,
    /// anything is compatible (as Confluent answers).
    pub fn test_compatibility(
        &self,
        subject: &str,
        spec: Option<VersionSpec>,
        schema: &RegisteredSchema,
    ) -> Result<Vec<String>, RegistryError> {
        let schema = self.prepare(schema)?;
        let state = self.lock()?;
        let level = state.level(subject);
        let live = || state.versions(subject, false).unwrap_or_default();
        let against: Vec<VersionEntry> = match spec {
            Some(VersionSpec::Number(n)) => {
                vec![state.version(subject, VersionSpec::Number(n), false)?.1]
            }
            Some(VersionSpec::Latest) => live().last().map(|(_, e)| *e).into_iter().collect(),
            None => live().into_iter().map(|(_, e)| e).collect(),
        };
        state.incompatibilities(level, &schema, &against)
    }
}

/// Registry errors as the schema formats report them: Confluent's message and code.
fn format_error(e: RegistryError) -> FormatError {
    FormatError::Serialization(format!("{e}; error code: {}", e.code()))
}

impl SchemaRegistry for Registry {
    fn register(&self, subject: &str, schema: &RegisteredSchema) -> Result<i32, FormatError> {
        Registry::register(self, subject, schema).map_err(format_error)
    }

    fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, FormatError> {
        self.schema(id).map_err(format_error)
    }

    fn latest(&self, subject: &str) -> Result<Option<(i32, RegisteredSchema)>, FormatError> {
        match self.version(subject, VersionSpec::Latest, false) {
            Ok(v) => Ok(Some((v.id, v.schema))),
            Err(RegistryError::SubjectNotFound(_) | RegistryError::VersionNotFound { .. }) => {
                Ok(None)
            }
            Err(e) => Err(format_error(e)),
        }
    }

    fn subjects_of(&self, id: i32) -> Result<Vec<String>, FormatError> {
        match self.usages(id, false) {
            Ok(usages) => {
                let mut subjects: Vec<String> = usages.into_iter().map(|(s, _)| s).collect();
                subjects.dedup();
                Ok(subjects)
            }
            Err(RegistryError::SchemaNotFound | RegistryError::SchemaIdNotFound(_)) => {
                Ok(Vec::new())
            }
            Err(e) => Err(format_error(e)),
        }
    }
}
