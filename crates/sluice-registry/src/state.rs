//! The registry's state as the `_schemas` topic gives it (each [`Change`]
//! applied in order), and the reads and checks the operations share.

use std::collections::BTreeMap;

use sluice_formats::RegisteredSchema;

use crate::compat::{self, CompatibilityLevel};
use crate::error::RegistryError;
use crate::schema::{self, Parsed};
use crate::storage::Change;

/// A version of a subject, as a URL names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(i32),
}

impl VersionSpec {
    /// `latest`, `-1` (Confluent's alias for it) or a positive number.
    pub fn parse(text: &str) -> Result<VersionSpec, RegistryError> {
        if text.eq_ignore_ascii_case("latest") || text == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match text.parse::<i32>() {
            Ok(n) if n > 0 => Ok(VersionSpec::Number(n)),
            _ => Err(RegistryError::InvalidVersion(text.to_string())),
        }
    }
}

/// One version of a subject, as the REST API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema: RegisteredSchema,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct VersionEntry {
    pub(crate) id: i32,
    pub(crate) deleted: bool,
}

/// What the `_schemas` topic says, as of `offset`.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The next offset of `_schemas` to read.
    pub(crate) offset: i64,
    /// Every schema ever registered, by id; ids are never reused for another schema.
    pub(crate) schemas: BTreeMap<i32, RegisteredSchema>,
    /// Subjects' versions, by number.
    pub(crate) subjects: BTreeMap<String, BTreeMap<i32, VersionEntry>>,
    pub(crate) global: CompatibilityLevel,
    pub(crate) subject_levels: BTreeMap<String, CompatibilityLevel>,
}

impl State {
    pub(crate) fn apply(&mut self, change: Change) {
        match change {
            Change::Version {
                subject,
                version,
                id,
                schema,
                deleted,
            } => {
                self.schemas.entry(id).or_insert(schema);
                self.subjects
                    .entry(subject)
                    .or_default()
                    .insert(version, VersionEntry { id, deleted });
            }
            Change::VersionRemoved { subject, version } => {
                if let Some(versions) = self.subjects.get_mut(&subject) {
                    versions.remove(&version);
                    if versions.is_empty() {
                        self.subjects.remove(&subject);
                    }
                }
            }
            Change::Config {
                subject: None,
                level,
            } => self.global = level.unwrap_or_default(),
            Change::Config {
                subject: Some(subject),
                level: Some(level),
            } => {
                self.subject_levels.insert(subject, level);
            }
            Change::Config {
                subject: Some(subject),
                level: None,
            } => {
                self.subject_levels.remove(&subject);
            }
        }
    }

    pub(crate) fn id_of(&self, schema: &RegisteredSchema) -> Option<i32> {
        self.schemas
            .iter()
            .find(|(_, s)| *s == schema)
            .map(|(id, _)| *id)
    }

    pub(crate) fn next_id(&self) -> i32 {
        self.schemas.keys().next_back().map_or(1, |id| id + 1)
    }

    /// A subject's versions; `deleted` includes soft-deleted ones. Not found
    /// when there are none to show.
    pub(crate) fn versions(
        &self,
        subject: &str,
        deleted: bool,
    ) -> Result<Vec<(i32, VersionEntry)>, RegistryError> {
        let versions: Vec<_> = self
            .subjects
            .get(subject)
            .into_iter()
            .flatten()
            .filter(|(_, e)| deleted || !e.deleted)
            .map(|(v, e)| (*v, *e))
            .collect();
        if versions.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        Ok(versions)
    }

    pub(crate) fn version(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<(i32, VersionEntry), RegistryError> {
        let versions = self.versions(subject, deleted)?;
        let found = match spec {
            VersionSpec::Latest => versions.last().copied(),
            VersionSpec::Number(n) => versions.iter().find(|(v, _)| *v == n).copied(),
        };
        found.ok_or_else(|| RegistryError::VersionNotFound {
            subject: subject.to_string(),
            version: match spec {
                VersionSpec::Latest => "latest".to_string(),
                VersionSpec::Number(n) => n.to_string(),
            },
        })
    }

    pub(crate) fn schema(&self, id: i32) -> Result<&RegisteredSchema, RegistryError> {
        self.schemas
            .get(&id)
            .ok_or_else(|| RegistryError::SchemaIdNotFound(id.to_string()))
    }

    pub(crate) fn level(&self, subject: &str) -> CompatibilityLevel {
        self.subject_levels
            .get(subject)
            .copied()
            .unwrap_or(self.global)
    }

    /// The texts of the schemas `schema` refers to, transitively, by the names
    /// it uses; an unknown reference makes the schema invalid.
    pub(crate) fn referenced(
        &self,
        schema: &RegisteredSchema,
    ) -> Result<Vec<(String, String)>, RegistryError> {
        let mut found: Vec<(String, String)> = Vec::new();
        let mut pending = schema.references.clone();
        while let Some(r) = pending.pop() {
            if found.iter().any(|(name, _)| *name == r.name) {
                continue;
            }
            let (_, entry) = self
                .version(&r.subject, VersionSpec::Number(r.version), true)
                .map_err(|_| {
                    RegistryError::InvalidSchema(format!(
                        "reference '{}' to subject '{}' version {} not found",
                        r.name, r.subject, r.version
                    ))
                })?;
            let target = self.schema(entry.id)?;
            pending.extend(target.references.iter().cloned());
            found.push((r.name.clone(), target.schema.clone()));
        }
        Ok(found)
    }

    pub(crate) fn parse(&self, schema: &RegisteredSchema) -> Result<Parsed, RegistryError> {
        schema::parse(schema, &self.referenced(schema)?)
    }

    /// Why `new` may not follow the live versions `against` of `subject` at `level`.
    pub(crate) fn incompatibilities(
        &self,
        level: CompatibilityLevel,
        new: &RegisteredSchema,
        against: &[VersionEntry],
    ) -> Result<Vec<String>, RegistryError> {
        let parsed = self.parse(new)?;
        if level == CompatibilityLevel::None {
            return Ok(Vec::new());
        }
        let previous = against
            .iter()
            .map(|e| self.schema(e.id).and_then(|s| self.parse(s)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(compat::check(level, &parsed, &previous))
    }
}
