//! `ASSERT [NOT EXISTS] TOPIC name [WITH (PARTITIONS=n, REPLICAS=m)]` and
//! `ASSERT [NOT EXISTS] SCHEMA [SUBJECT s] [ID n]`, each `[TIMEOUT n unit]`,
//! as ksqlDB's `AssertTopicExecutor` and `AssertSchemaExecutor` run them: the
//! check is tried every 100 ms until it holds or the timeout
//! (`ksql.assert.topic.default.timeout.ms`, `ksql.assert.schema.default.timeout.ms`:
//! 1 s) has passed; a failed assertion is [`EngineError::AssertionFailed`]
//! with ksqlDB's words (its REST API answers 417).

use std::time::{Duration, Instant};

use sluice_sql::{Assert, Literal, Properties, Statement};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::result::{Asserted, StatementResult};

const RETRY: Duration = Duration::from_millis(100);

/// Runs `check` until it gives anything but a failed assertion, or
/// `timeout` has passed (then that failure), every 100 ms: how ASSERT waits,
/// here and in a server that lets go of the engine between checks.
pub fn until_asserted<T>(timeout: Duration, mut check: impl FnMut() -> Result<T>) -> Result<T> {
    let until = Instant::now() + timeout;
    loop {
        match check() {
            Err(EngineError::AssertionFailed(_)) if Instant::now() < until => {
                std::thread::sleep(RETRY)
            }
            other => return other,
        }
    }
}

/// Runs `check` until it holds or `timeout` has passed; the last failure's
/// message otherwise.
fn retry(
    timeout: Duration,
    mut check: impl FnMut() -> std::result::Result<(), String>,
) -> Result<()> {
    until_asserted(timeout, || check().map_err(EngineError::AssertionFailed))
}

use crate::settings::{
    ASSERT_SCHEMA_TIMEOUT_MS as SCHEMA_TIMEOUT, ASSERT_TOPIC_TIMEOUT_MS as TOPIC_TIMEOUT,
};

impl Engine {
    /// How long the ASSERT `stmt` waits for what it asserts (its TIMEOUT,
    /// else the default); `None` for any other statement. A server runs an
    /// ASSERT as [`Engine::check_assertion`] under [`until_asserted`],
    /// letting go of the engine between checks so that other requests go on.
    pub fn assertion_timeout(
        &mut self,
        session: &mut crate::Session,
        stmt: &crate::Prepared,
    ) -> Option<Duration> {
        self.in_session(session, |engine| match &stmt.0.statement {
            Statement::Assert(a) => engine.assert_timeout(a),
            _ => None,
        })
    }

    /// The ASSERT `stmt`, checked once, without waiting.
    pub fn check_assertion(
        &mut self,
        session: &mut crate::Session,
        stmt: &crate::Prepared,
    ) -> Result<StatementResult> {
        self.in_session(session, |engine| match &stmt.0.statement {
            Statement::Assert(a) => engine.run_assert(a, Some(Duration::ZERO)),
            _ => Err(EngineError::statement("not an ASSERT statement")),
        })
    }

    /// Runs an ASSERT, retrying for `wait` (else the statement's timeout).
    pub(crate) fn run_assert(
        &self,
        assert: &Assert,
        wait: Option<Duration>,
    ) -> Result<StatementResult> {
        let wait = wait.or_else(|| self.assert_timeout(assert));
        match assert {
            Assert::Topic {
                exists,
                name,
                properties,
                ..
            } => self.assert_topic(*exists, &name.value, properties, wait.unwrap_or_default()),
            Assert::Schema {
                exists, subject, id, ..
            } => self.assert_schema(*exists, subject.as_deref(), *id, wait.unwrap_or_default()),
            // the test runner's own assertions
            _ => Err(EngineError::Unsupported(
                "ASSERT VALUES and ASSERT STREAM|TABLE are statements of the test runner (sluice test)."
                    .into(),
            )),
        }
    }

    /// How long `assert` waits: its TIMEOUT, else its kind's default
    /// setting; `None` for the test runner's own assertions.
    fn assert_timeout(&self, assert: &Assert) -> Option<Duration> {
        let (timeout, default) = match assert {
            Assert::Topic { timeout, .. } => (timeout, &TOPIC_TIMEOUT),
            Assert::Schema { timeout, .. } => (timeout, &SCHEMA_TIMEOUT),
            _ => return None,
        };
        let millis = match timeout {
            Some(t) => t.millis(),
            None => self.setting_value(default),
        };
        Some(Duration::from_millis(millis.max(0) as u64))
    }

    fn assert_topic(
        &self,
        exists: bool,
        topic: &str,
        properties: &Properties,
        timeout: Duration,
    ) -> Result<StatementResult> {
        retry(timeout, || {
            let found = self
                .log
                .topic_exists(topic)
                .map_err(|e| format!("Cannot check topic existence: {e}"))?;
            match (exists, found) {
                (false, true) => Err(format!("Topic {topic} exists")),
                (false, false) => Ok(()),
                (true, false) => Err(format!("Topic {topic} does not exist")),
                (true, true) => {
                    let d = self
                        .log
                        .describe_topic(topic)
                        .map_err(|e| format!("Cannot check topic existence: {e}"))?;
                    check_configs(topic, properties, d.partitions.len(), d.replicas as usize)
                }
            }
        })?;
        Ok(StatementResult::Asserted(Asserted::Topic {
            name: topic.to_string(),
            exists,
        }))
    }

    fn assert_schema(
        &self,
        exists: bool,
        subject: Option<&str>,
        id: Option<i64>,
        timeout: Duration,
    ) -> Result<StatementResult> {
        if subject.is_none() && id.is_none() {
            return Err(EngineError::statement(
                "ASSERT SCHEMA statements much include a subject name or an id",
            ));
        }
        let id = id
            .map(|n| i32::try_from(n).map_err(|_| EngineError::statement("ID must be an integer")))
            .transpose()?;
        let named = format!(
            "Schema with{}{}",
            subject
                .map(|s| format!(" subject name {s}"))
                .unwrap_or_default(),
            id.map(|i| format!(" id {i}")).unwrap_or_default()
        );
        retry(timeout, || {
            let found = self
                .schema_exists(subject, id)
                .map_err(|e| format!("Cannot check schema existence: {e}"))?;
            match (exists, found) {
                (true, false) => Err(format!("{named} does not exist")),
                (false, true) => Err(format!("{named} exists")),
                _ => Ok(()),
            }
        })?;
        Ok(StatementResult::Asserted(Asserted::Schema {
            subject: subject.map(str::to_string),
            id,
            exists,
        }))
    }

    /// Whether the registry has `subject` (its latest version), schema `id`,
    /// or `id` under `subject`.
    fn schema_exists(
        &self,
        subject: Option<&str>,
        id: Option<i32>,
    ) -> std::result::Result<bool, sluice_formats::FormatError> {
        Ok(match (subject, id) {
            (Some(s), Some(i)) => self.registry.subjects_of(i)?.iter().any(|x| x == s),
            (None, Some(i)) => !self.registry.subjects_of(i)?.is_empty(),
            (Some(s), None) => self.registry.latest(s)?.is_some(),
            (None, None) => false,
        })
    }
}

/// ksqlDB's `AssertTopicExecutor.checkConfigs`: PARTITIONS and REPLICAS as
/// integers, anything else refused.
fn check_configs(
    topic: &str,
    properties: &Properties,
    partitions: usize,
    replicas: usize,
) -> std::result::Result<(), String> {
    let mut errors = Vec::new();
    for (key, value) in properties {
        let actual = match key.to_ascii_lowercase().as_str() {
            "partitions" => partitions,
            "replicas" => replicas,
            _ => {
                errors.push(format!("Cannot assert unknown topic property: {key}"));
                continue;
            }
        };
        let matches = matches!(value, Literal::Integer(n) if *n == actual as i64);
        if !matches {
            errors.push(format!(
                "Mismatched configuration for topic {topic}: For config {}, expected {} got {actual}",
                key.to_ascii_lowercase(),
                value.as_property_text()
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}
