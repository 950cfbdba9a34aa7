//! `apply`: runs the migration files after the last one migrated, each
//! recorded in the metadata stream as RUNNING, then MIGRATED (or ERROR),
//! as ksql-migrations' `ApplyMigrationCommand` does.

use serde_json::{Map, Value};

use super::files::MigrationFile;
use super::{now_ms, Failure, Migrations, NONE};

/// Which files `apply` runs.
pub enum Selection {
    All,
    Next,
    Until(u32),
    Version(u32),
}

/// The statements of a migration file, split as ksql-migrations'
/// `CommandParser.splitSql` splits them: on `;` outside quotes, with
/// comments dropped.
pub fn split_sql(sql: &str) -> Result<Vec<String>, Failure> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    let closing = |from: usize, token: &str| -> Result<usize, Failure> {
        let rest: String = chars[from..].iter().collect();
        rest.find(token)
            .map(|at| from + rest[..at].chars().count() + token.chars().count())
            .ok_or_else(|| {
                Failure(format!(
                    "Invalid sql - failed to find closing token '{token}'"
                ))
            })
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\'' {
            let end = closing(i + 1, "'")?;
            current.extend(&chars[i..end]);
            i = end;
        } else if c == '-' && next == Some('-') {
            i = closing(i + 2, "\n")?;
        } else if c == '/' && next == Some('*') {
            i = closing(i + 2, "*/")?;
        } else if c == ';' {
            current.push(';');
            out.push(std::mem::take(&mut current));
            i += 1;
        } else {
            current.push(c);
            i += 1;
        }
    }
    if !current.trim().is_empty() {
        return Err(Failure(format!(
            "Unmatched command at end of file; missing semicolon: '{current}'"
        )));
    }
    Ok(out)
}

/// A string literal of `text`.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Migrations {
    /// Writes a migration's state (the `CURRENT` row, then its version's).
    #[allow(clippy::too_many_arguments)]
    fn write_state(
        &self,
        file: &MigrationFile,
        state: &str,
        started: &str,
        completed: &str,
        previous: &str,
        reason: &str,
    ) -> Result<(), Failure> {
        let checksum = file.checksum()?;
        for key in ["CURRENT".to_string(), file.version.to_string()] {
            let values = [
                key.as_str(),
                &file.version.to_string(),
                &file.name,
                state,
                &checksum,
                started,
                completed,
                previous,
                reason,
            ]
            .map(quoted)
            .join(", ");
            let sql = format!(
                "INSERT INTO {} (version_key, version, name, state, checksum, started_on, completed_on, previous, error_reason) VALUES ({values});",
                self.config.stream
            );
            self.client.statement(&sql).map_err(Failure)?;
        }
        Ok(())
    }

    /// Waits until version `v` shows MIGRATED in the metadata table (the
    /// table follows the stream: up to 11 tries, a second apart).
    fn await_migrated(&self, v: &str) -> Result<(), Failure> {
        let mut last = String::new();
        for attempt in 0..11 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1000));
            }
            match self.version_info(v) {
                Ok(Some(info)) if info.state == "MIGRATED" => return Ok(()),
                Ok(Some(info)) => {
                    last = format!(
                        "Expected status MIGRATED for version {v}. Got {}",
                        info.state
                    )
                }
                Ok(None) => last = format!("Expected status MIGRATED for version {v}. Got <none>"),
                Err(e) => last = e.0,
            }
        }
        (self.out)(&last);
        Err(Failure(format!("Failed to verify status of version {v}")))
    }

    pub fn apply(
        &self,
        selection: Selection,
        defines: &[String],
        dry_run: bool,
    ) -> Result<(), Failure> {
        if dry_run {
            (self.out)(
                "This is a dry run. No ksqlDB statements will be submitted to the ksqlDB server.",
            );
        }
        (self.out)("Validating current migration state before applying new migrations");
        self.validate()?;
        let mut previous = self.latest_migrated()?;
        let min = if previous == NONE {
            1
        } else {
            previous.parse::<u32>().map_err(|_| {
                Failure(format!(
                    "The last version migrated is not a version: {previous}"
                ))
            })? + 1
        };
        (self.out)("Loading migration files");
        let files = self.files()?;
        let chosen: Vec<MigrationFile> = match selection {
            Selection::Version(v) => {
                let file = files.into_iter().find(|f| f.version == v).ok_or_else(|| {
                    Failure(format!("No migration file with version {v} exists."))
                })?;
                if v < min {
                    return Err(Failure(format!(
                        "Version must be newer than the last version migrated. Last version migrated was {previous}"
                    )));
                }
                vec![file]
            }
            Selection::All => files.into_iter().filter(|f| f.version >= min).collect(),
            Selection::Until(u) => files
                .into_iter()
                .filter(|f| f.version >= min && f.version <= u)
                .collect(),
            Selection::Next => {
                let next: Vec<MigrationFile> = files
                    .into_iter()
                    .filter(|f| f.version >= min)
                    .take(1)
                    .collect();
                if next.is_empty() {
                    return Err(Failure("No eligible migrations found.".into()));
                }
                next
            }
        };
        if chosen.is_empty() {
            (self.out)("No eligible migrations found.");
            return Ok(());
        }
        (self.out)(&format!("{} migration file(s) loaded.", chosen.len()));
        for file in chosen {
            (self.out)(&format!(
                "Applying migration version {}: {}",
                file.version, file.name
            ));
            let contents = file.contents()?;
            (self.out)(&format!("{} contents:\n{contents}", file.path.display()));
            if dry_run {
                (self.out)("Dry run complete. No migrations were actually applied.");
                continue;
            }
            if previous != NONE {
                self.await_migrated(&previous)?;
            }
            let started = now_ms();
            self.write_state(&file, "RUNNING", &started, "", &previous, "N/A")?;
            if let Err(e) = self.run_file(&contents, defines) {
                self.write_state(&file, "ERROR", &started, &now_ms(), &previous, &e.0)?;
                return Err(e);
            }
            self.write_state(&file, "MIGRATED", &started, &now_ms(), &previous, "N/A")?;
            (self.out)("Successfully migrated");
            previous = file.version.to_string();
        }
        Ok(())
    }

    /// Runs a file's statements: all parsed first (nothing runs when one
    /// does not parse), then each sent, with the file's SET and DEFINE
    /// (and `--define`s) applied as the client keeps them.
    fn run_file(&self, contents: &str, defines: &[String]) -> Result<(), Failure> {
        let commands = split_sql(contents)?;
        for execute in [false, true] {
            let verb = if execute { "execute" } else { "parse" };
            let mut vars: Map<String, Value> = Map::new();
            for d in defines {
                let parts: Vec<&str> = d.split('=').collect();
                if parts.len() != 2 {
                    return Err(Failure(format!(
                        "Failed to parse argument {d}: variables must be defined using '=' (i.e. var=val)."
                    )));
                }
                vars.insert(parts[0].to_string(), Value::String(parts[1].to_string()));
            }
            let mut props: Map<String, Value> = Map::new();
            for command in &commands {
                let failed =
                    |e: String| Failure(format!("Failed to {verb} sql: {command}. Error: {e}"));
                let first = command
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                if ["DESCRIBE", "EXPLAIN", "SELECT", "PRINT", "SHOW", "LIST"]
                    .contains(&first.as_str())
                {
                    return Err(failed(format!("'{first}' statements are not supported.")));
                }
                let var_map: std::collections::HashMap<String, String> = vars
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                let text = sluice_sql::substitute_variables(command, &var_map)
                    .map_err(|e| failed(e.to_string()))?;
                let parsed = sluice_sql::parse(&text).map_err(|e| {
                    failed(format!(
                        "Failed to parse the statement. Statement: {}. Reason: {e}",
                        text.trim()
                    ))
                })?;
                for stmt in parsed {
                    use sluice_sql::Statement;
                    match stmt.statement {
                        Statement::RunScript { .. } => {
                            return Err(failed("'RUN SCRIPT' statements are not supported.".into()))
                        }
                        Statement::Define { name, value } => {
                            vars.insert(name, Value::String(value));
                        }
                        Statement::Undefine { name } => {
                            vars.remove(&name);
                        }
                        Statement::Set { property, value } => {
                            props.insert(property, Value::String(value));
                        }
                        Statement::Unset { property } => {
                            props.remove(&property);
                        }
                        _ if execute => {
                            self.client
                                .execute(stmt.text.trim(), &props, &vars)
                                .map_err(failed)?;
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::split_sql;

    #[test]
    fn files_split_on_semicolons_outside_quotes_without_comments() {
        let sql = "CREATE STREAM a (x STRING) WITH (kafka_topic='a;b', value_format='JSON');\n-- a comment; not a statement\nINSERT INTO a (x) VALUES ('it''s'); /* block; */ DEFINE v = 'x';";
        assert_eq!(
            split_sql(sql).unwrap(),
            vec![
                "CREATE STREAM a (x STRING) WITH (kafka_topic='a;b', value_format='JSON');",
                "\nINSERT INTO a (x) VALUES ('it''s');",
                "  DEFINE v = 'x';",
            ]
        );
        assert_eq!(
            split_sql("SELECT 1").unwrap_err().0,
            "Unmatched command at end of file; missing semicolon: 'SELECT 1'"
        );
        assert_eq!(
            split_sql("INSERT INTO a VALUES ('x);").unwrap_err().0,
            "Invalid sql - failed to find closing token '''"
        );
    }
}
