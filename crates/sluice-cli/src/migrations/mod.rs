//! `sluice migrations`: ksqlDB's `ksql-migrations` tool for Sluice (and
//! ksqlDB) servers, over the REST API: the same project layout and
//! `ksql-migrations.properties`, the same `V000001__name.sql` files, the
//! same metadata (the `MIGRATION_EVENTS` stream and the
//! `MIGRATION_SCHEMA_VERSIONS` table over it), commands and messages, so
//! projects and deploy pipelines move between the two unchanged.

mod apply;
mod client;
pub mod config;
mod files;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use client::Client;
use config::Config;
use files::MigrationFile;

/// A version not (yet) there, as ksql-migrations writes it.
const NONE: &str = "<none>";

/// A command's failure: its message.
#[derive(Debug)]
pub struct Failure(pub String);

#[derive(Args)]
pub struct MigrationsArgs {
    /// The project's `ksql-migrations.properties`.
    #[arg(short = 'c', long = "config-file", global = true)]
    config_file: Option<PathBuf>,
    #[command(subcommand)]
    command: MigrationsCommand,
}

#[derive(Subcommand)]
enum MigrationsCommand {
    /// Creates a migrations project: the directory, its `migrations/` and its config file.
    NewProject {
        project_path: PathBuf,
        ksql_server_url: String,
    },
    /// Creates an empty migration file for the next (or a given) version.
    Create {
        #[arg(short = 'v', long = "version", value_parser = clap::value_parser!(u32).range(1..=999_999))]
        version: Option<u32>,
        description: String,
    },
    /// Creates the metadata stream and table on the server.
    InitializeMetadata,
    /// Runs migrations after the last one migrated.
    Apply {
        #[arg(short = 'a', long = "all", group = "which")]
        all: bool,
        #[arg(short = 'n', long = "next", group = "which")]
        next: bool,
        #[arg(short = 'u', long = "until", group = "which", value_parser = clap::value_parser!(u32).range(1..=999_999))]
        until: Option<u32>,
        #[arg(short = 'v', long = "version", group = "which", value_parser = clap::value_parser!(u32).range(1..=999_999))]
        version: Option<u32>,
        /// Variables for the migrations' statements (`name=value`).
        #[arg(short = 'd', long = "define")]
        define: Vec<String>,
        #[arg(long = "dry-run")]
        dry_run: bool,
    },
    /// Lists the migration files and their state on the server.
    Info,
    /// Checks the files of the migrations applied against their checksums.
    Validate,
    /// Drops the metadata stream and table (and the query between them).
    DestroyMetadata,
}

fn print(line: &str) {
    println!("{line}");
}

/// Epoch milliseconds now, as the metadata keeps times.
fn now_ms() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis().to_string())
        .unwrap_or_default()
}

pub fn run(args: MigrationsArgs) -> ExitCode {
    let started = std::time::Instant::now();
    let result = dispatch(args);
    if let Err(Failure(message)) = &result {
        print(message);
    }
    print(&format!(
        "Execution time: {:.4} seconds",
        started.elapsed().as_secs_f64()
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

fn dispatch(args: MigrationsArgs) -> Result<(), Failure> {
    if let MigrationsCommand::NewProject {
        project_path,
        ksql_server_url,
    } = &args.command
    {
        if args.config_file.is_some() {
            return Err(Failure("This command does not expect a config file to be passed. Rather, this command will create one as part of preparing the migrations directory.".into()));
        }
        return new_project(project_path, ksql_server_url);
    }
    let Some(path) = args.config_file.filter(|p| !p.as_os_str().is_empty()) else {
        return Err(Failure("Migrations config file required but not specified. Specify with --config-file (or, equivalently, -c).".into()));
    };
    let (config, client) = Config::load(&path)?;
    let m = Migrations {
        config,
        client,
        out: &print,
    };
    match args.command {
        MigrationsCommand::NewProject { .. } => unreachable!("handled above"),
        MigrationsCommand::Create {
            version,
            description,
        } => m.create(version, &description),
        MigrationsCommand::InitializeMetadata => m.initialize(),
        MigrationsCommand::Apply {
            all,
            next,
            until,
            version,
            define,
            dry_run,
        } => {
            let selection = match (all, next, until, version) {
                (true, ..) => apply::Selection::All,
                (_, true, ..) => apply::Selection::Next,
                (_, _, Some(u), _) => apply::Selection::Until(u),
                (_, _, _, Some(v)) => apply::Selection::Version(v),
                _ => {
                    return Err(Failure(
                        "Exactly one of the following options must be specified: --all, --next, --until, --version".into(),
                    ))
                }
            };
            m.check_metadata()?;
            m.apply(selection, &define, dry_run)
        }
        MigrationsCommand::Info => {
            m.check_metadata()?;
            m.info()
        }
        MigrationsCommand::Validate => {
            m.check_metadata()?;
            m.validate()?;
            print("Successfully validated checksums for migrations that have already been applied");
            Ok(())
        }
        MigrationsCommand::DestroyMetadata => m.destroy(),
    }
}

fn new_project(dir: &Path, url: &str) -> Result<(), Failure> {
    print(&format!(
        "Creating new migrations project at {}",
        dir.display()
    ));
    for d in [dir.to_path_buf(), dir.join("migrations")] {
        if d.is_dir() {
            print(&format!(
                "{} already exists. Skipping directory creation.",
                d.display()
            ));
        } else if d.exists() {
            return Err(Failure(format!(
                "{} already exists as a file. Cannot create directory.",
                d.display()
            )));
        } else {
            print(&format!("Creating directory: {}", d.display()));
            std::fs::create_dir_all(&d)
                .map_err(|e| Failure(format!("Failed to create directory {}: {e}", d.display())))?;
        }
    }
    let file = dir.join("ksql-migrations.properties");
    if file.exists() {
        return Err(Failure(format!(
            "Failed to create file. File already exists: {}",
            file.display()
        )));
    }
    print(&format!("Creating file: {}", file.display()));
    let content = config::template(url);
    print(&format!("Writing to config file: {}", content.trim_end()));
    std::fs::write(&file, content)
        .map_err(|e| Failure(format!("Failed to write {}: {e}", file.display())))?;
    print("Migrations project directory created successfully");
    Ok(())
}

/// One version's row of the metadata table.
struct VersionInfo {
    version: String,
    checksum: String,
    previous: String,
    state: String,
    name: String,
    started_on: String,
    completed_on: String,
    error_reason: String,
}

/// A migrations project against its server.
pub struct Migrations {
    config: Config,
    client: Client,
    out: &'static dyn Fn(&str),
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Migrations {
    fn files(&self) -> Result<Vec<MigrationFile>, Failure> {
        files::list(&self.config.dir, &mut |w| (self.out)(w))
    }

    fn create(&self, version: Option<u32>, description: &str) -> Result<(), Failure> {
        let files = self.files()?;
        if let Some(existing) = version.and_then(|v| files.iter().find(|f| f.version == v)) {
            return Err(Failure(format!(
                "Found existing migrations file for version {}: {}",
                existing.version,
                existing.path.display()
            )));
        }
        if description.trim().is_empty() {
            return Err(Failure("Description cannot be empty.".into()));
        }
        let version = version.unwrap_or_else(|| files.last().map_or(0, |f| f.version) + 1);
        if version > 999_999 {
            return Err(Failure(format!(
                "Invalid version file version: {version}. Version must fit into a six-digit integer."
            )));
        }
        let path = self.config.dir.join(files::file_name(version, description));
        (self.out)(&format!("Creating migration file: {}", path.display()));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Failure(format!("Failed to create file {}: {e}", path.display())))?;
        (self.out)("Migration file successfully created");
        Ok(())
    }

    fn initialize(&self) -> Result<(), Failure> {
        (self.out)("Initializing migrations metadata");
        let c = &self.config;
        let stream = format!(
            "CREATE STREAM {} (\n  version_key  STRING KEY,\n  version      STRING,\n  name         STRING,\n  state        STRING,  \n  checksum     STRING,\n  started_on   STRING,\n  completed_on STRING,\n  previous     STRING,\n  error_reason STRING\n) WITH (  \n  KAFKA_TOPIC='{}',\n  VALUE_FORMAT='JSON',\n  PARTITIONS=1,\n  REPLICAS= {} \n);\n",
            c.stream, c.stream_topic, c.replicas
        );
        let table = format!(
            "CREATE TABLE {}\n  WITH (\n    KAFKA_TOPIC='{}'\n  )\n  AS SELECT \n    version_key, \n    latest_by_offset(version) as version, \n    latest_by_offset(name) AS name, \n    latest_by_offset(state) AS state,     \n    latest_by_offset(checksum) AS checksum, \n    latest_by_offset(started_on) AS started_on, \n    latest_by_offset(completed_on) AS completed_on, \n    latest_by_offset(previous) AS previous, \n    latest_by_offset(error_reason) AS error_reason \n  FROM {} \n  GROUP BY version_key;\n",
            c.table, c.table_topic, c.stream
        );
        (self.out)(&format!("Creating stream: {}", c.stream));
        self.client
            .statement(&stream)
            .map_err(|e| Failure(format!("Failed to create stream {}: {e}", c.stream)))?;
        (self.out)(&format!("Creating table: {}", c.table));
        self.client
            .statement(&table)
            .map_err(|e| Failure(format!("Failed to create table {}: {e}", c.table)))?;
        (self.out)("Migrations metadata initialized successfully");
        Ok(())
    }

    /// The metadata stream and table are there (`initialize-metadata` ran).
    fn check_metadata(&self) -> Result<(), Failure> {
        for (kind, name) in [
            ("stream", &self.config.stream),
            ("table", &self.config.table),
        ] {
            self.client.statement(&format!("describe {name};")).map_err(|e| {
                Failure(format!("Failed to verify existence of migrations metadata {kind} '{name}'. Did you run `ksql-migrations initialize-metadata`? Error message: {e}"))
            })?;
        }
        Ok(())
    }

    /// The version the `CURRENT` row names, or [`NONE`].
    fn current(&self) -> Result<String, Failure> {
        let rows = self
            .client
            .pull(&format!(
                "SELECT VERSION FROM {} WHERE version_key = 'CURRENT';",
                self.config.table
            ))
            .map_err(|e| Failure(format!("Could not query {}: {e}", self.config.table)))?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .map_or(NONE.to_string(), text))
    }

    fn version_info(&self, v: &str) -> Result<Option<VersionInfo>, Failure> {
        let rows = self
            .client
            .pull(&format!(
                "SELECT version, checksum, previous, state, name, started_on, completed_on, error_reason FROM {} WHERE version_key = '{v}';",
                self.config.table
            ))
            .map_err(|e| Failure(format!("Failed to query state for migration with version {v}: {e}")))?;
        Ok(rows.first().map(|r| {
            let at = |i: usize| r.get(i).map(text).unwrap_or_default();
            VersionInfo {
                version: at(0),
                checksum: at(1),
                previous: at(2),
                state: at(3),
                name: at(4),
                started_on: at(5),
                completed_on: at(6),
                error_reason: at(7),
            }
        }))
    }

    fn require_info(&self, v: &str) -> Result<VersionInfo, Failure> {
        self.version_info(v)?.ok_or_else(|| {
            Failure(format!("Failed to query state for migration with version {v}: no such migration is present in the migrations metadata table"))
        })
    }

    /// The last version migrated: the current one when MIGRATED, else the
    /// one before it (a version left RUNNING or in ERROR is tried again).
    fn latest_migrated(&self) -> Result<String, Failure> {
        let current = self.current()?;
        if current == NONE {
            return Ok(current);
        }
        let info = self.require_info(&current)?;
        if info.state == "MIGRATED" {
            return Ok(current);
        }
        if info.previous == NONE {
            return Ok(NONE.to_string());
        }
        let previous = self.require_info(&info.previous)?;
        if previous.state != "MIGRATED" {
            return Err(Failure(format!(
                "Discovered version with previous version that does not have status MIGRATED. Version: {current}. Previous version: {}. Previous version status: {}",
                info.previous, previous.state
            )));
        }
        Ok(info.previous)
    }

    /// Every migration applied so far still has its file, unchanged.
    fn validate(&self) -> Result<(), Failure> {
        let files = self.files()?;
        let mut v = self.latest_migrated()?;
        let mut next: Option<String> = None;
        while v != NONE {
            let info = self.require_info(&v)?;
            if let (Some(n), false) = (&next, info.state == "MIGRATED") {
                return Err(Failure(format!(
                    "Discovered version with previous version that does not have status MIGRATED. Version: {n}. Previous version: {v}. Previous version status: {}",
                    info.state
                )));
            }
            let file = files
                .iter()
                .find(|f| f.version.to_string() == v)
                .ok_or_else(|| {
                    Failure(format!(
                        "No migrations file found for version with status MIGRATED. Version: {v}"
                    ))
                })?;
            let actual = file.checksum()?;
            if actual != info.checksum {
                return Err(Failure(format!(
                    "Migrations file found for version {v} does not match the checksum saved for this version. Expected checksum: {}. Actual checksum: {actual}. File name: {}",
                    info.checksum,
                    file.path.display()
                )));
            }
            next = Some(v);
            v = info.previous;
        }
        Ok(())
    }

    fn info(&self) -> Result<(), Failure> {
        (self.out)(&format!("Current migration version: {}", self.current()?));
        let files = self.files()?;
        if files.is_empty() {
            (self.out)("No migrations files found");
            return Ok(());
        }
        let header = [
            "Version",
            "Name",
            "State",
            "Previous Version",
            "Started On",
            "Completed On",
            "Error Reason",
        ];
        let mut rows: Vec<[String; 7]> = Vec::new();
        for f in &files {
            let v = f.version.to_string();
            rows.push(match self.version_info(&v)? {
                Some(i) => [
                    i.version,
                    i.name,
                    i.state,
                    i.previous,
                    timestamp(&i.started_on),
                    timestamp(&i.completed_on),
                    i.error_reason,
                ],
                None => [
                    v,
                    f.name.clone(),
                    "PENDING".into(),
                    "N/A".into(),
                    "N/A".into(),
                    "N/A".into(),
                    "N/A".into(),
                ],
            });
        }
        let widths: Vec<usize> = (0..7)
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].chars().count())
                    .chain([header[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!(" {} \n", padded.join(" | "))
        };
        let divider = format!("{}\n", "-".repeat(widths.iter().sum::<usize>() + 3 * 7 - 1));
        let mut table = divider.clone();
        table += &line(header.to_vec());
        table += &divider;
        for r in &rows {
            table += &line(r.iter().map(String::as_str).collect());
        }
        table += &divider;
        (self.out)(&table);
        Ok(())
    }

    fn destroy(&self) -> Result<(), Failure> {
        (self.out)("Cleaning migrations metadata stream and table from ksqlDB server");
        let c = &self.config;
        let listed = |what: &str, kind: &str, name: &str| -> Result<bool, Failure> {
            let entities = self
                .client
                .statement(&format!("list {what};"))
                .map_err(|e| {
                    Failure(format!(
                        "Failed to check for presence of metadata {kind} '{name}': {e}"
                    ))
                })?;
            Ok(entities
                .first()
                .and_then(|e| e[what].as_array())
                .is_some_and(|list| {
                    list.iter().any(|s| {
                        s["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    })
                }))
        };
        if !listed("tables", "table", &c.table)? {
            (self.out)("Metadata table does not exist. Skipping cleanup.");
        } else {
            let described = self
                .client
                .statement(&format!("describe {};", c.table))
                .map_err(|e| {
                    Failure(format!(
                        "Failed to describe metadata table '{}': {e}",
                        c.table
                    ))
                })?;
            let writers: Vec<String> = described
                .first()
                .and_then(|d| d["sourceDescription"]["writeQueries"].as_array())
                .map(|q| {
                    q.iter()
                        .filter_map(|w| w["id"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            match writers.as_slice() {
                [] => (self.out)("Found 0 queries writing to the metadata table"),
                [id] => {
                    (self.out)(&format!(
                        "Found 1 query writing to the metadata table. Query ID: {id}"
                    ));
                    (self.out)(&format!("Terminating query with ID: {id}"));
                    self.client.statement(&format!("TERMINATE {id};")).map_err(|e| {
                        Failure(format!("Failed to terminate query populating metadata table. Query ID: {id}. Error: {e}"))
                    })?;
                }
                many => {
                    return Err(Failure(format!(
                        "Found multiple queries writing to the metadata table. Query IDs: '{}'.",
                        many.join("', '")
                    )))
                }
            }
            (self.out)(&format!("Dropping migrations metadata table: {}", c.table));
            self.client
                .statement(&format!("DROP TABLE {} DELETE TOPIC;", c.table))
                .map_err(|e| {
                    Failure(format!("Failed to drop metadata table '{}': {e}", c.table))
                })?;
        }
        if !listed("streams", "stream", &c.stream)? {
            (self.out)("Metadata stream does not exist. Skipping cleanup.");
        } else {
            (self.out)(&format!(
                "Dropping migrations metadata stream: {}",
                c.stream
            ));
            self.client
                .statement(&format!("DROP STREAM {} DELETE TOPIC;", c.stream))
                .map_err(|e| {
                    Failure(format!(
                        "Failed to drop metadata stream '{}': {e}",
                        c.stream
                    ))
                })?;
        }
        (self.out)("Migrations metadata cleaned successfully");
        Ok(())
    }
}

/// Epoch milliseconds as `info` shows them (UTC); "" and "N/A" as they are.
fn timestamp(ms: &str) -> String {
    match ms
        .parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
        None => ms.to_string(),
    }
}
