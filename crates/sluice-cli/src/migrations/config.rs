//! `ksql-migrations.properties`: the server's URL, the metadata stream and
//! table and their topics, the migrations directory, as ksql-migrations
//! reads them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::client::Client;
use super::Failure;

pub struct Config {
    pub stream: String,
    pub table: String,
    pub stream_topic: String,
    pub table_topic: String,
    pub replicas: String,
    pub dir: PathBuf,
}

/// A Java properties file's `key=value` / `key: value` pairs (comments and
/// blank lines skipped).
pub fn read_properties(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let at = line.find(['=', ':']).unwrap_or(line.len());
        let (k, v) = line.split_at(at);
        let v = v.get(1..).unwrap_or("");
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

impl Config {
    /// Reads `path` and asks the server for its service id (the metadata
    /// topics' default names start with it).
    pub fn load(path: &Path) -> Result<(Config, Client), Failure> {
        let props = read_properties(path)
            .map_err(|e| Failure(format!("Failed to read {}: {e}", path.display())))?;
        let get = |k: &str| props.get(k).cloned().unwrap_or_default();
        let url = get("ksql.server.url");
        if url.is_empty() {
            return Err(Failure("Missing required property: ksql.server.url".into()));
        }
        let (user, password) = (
            get("ksql.auth.basic.username"),
            get("ksql.auth.basic.password"),
        );
        let options = crate::http_client::ClientOptions {
            basic_auth: (!user.is_empty() || !password.is_empty()).then_some((user, password)),
            // ksql-migrations' truststore, as a PEM file of certificates
            truststore: props
                .get("ssl.truststore.location")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from),
        };
        let client = Client::new(&url, &options)?;
        let info = client
            .info()
            .map_err(|e| Failure(format!("Failed to query {url}/info: {e}")))?;
        let service = info["KsqlServerInfo"]["ksqlServiceId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let or = |k: &str, d: String| props.get(k).filter(|v| !v.is_empty()).cloned().unwrap_or(d);
        let stream = or("ksql.migrations.stream.name", "MIGRATION_EVENTS".into());
        let table = or(
            "ksql.migrations.table.name",
            "MIGRATION_SCHEMA_VERSIONS".into(),
        );
        let dir = match props
            .get("ksql.migrations.dir.override")
            .filter(|d| !d.is_empty())
        {
            Some(d) => PathBuf::from(d),
            None => match path.parent() {
                Some(p) => p.join("migrations"),
                None => {
                    return Err(Failure(format!(
                    "Could not find parent directory for config file '{}': no parent dir exists.",
                    path.display()
                )))
                }
            },
        };
        Ok((
            Config {
                stream_topic: or(
                    "ksql.migrations.stream.topic.name",
                    format!("{service}ksql_{stream}"),
                ),
                table_topic: or(
                    "ksql.migrations.table.topic.name",
                    format!("{service}ksql_{table}"),
                ),
                replicas: or("ksql.migrations.topic.replicas", "1".into()),
                stream,
                table,
                dir,
            },
            client,
        ))
    }
}

/// What `new-project` writes (ksql-migrations' template).
pub fn template(url: &str) -> String {
    format!(
        "ksql.server.url={url}

# Migrations metadata configs:
# ksql.migrations.stream.name=MIGRATION_EVENTS
# ksql.migrations.table.name=MIGRATION_SCHEMA_VERSIONS
# ksql.migrations.stream.topic.name=ksql-service-idksql_MIGRATION_EVENTS
# ksql.migrations.table.topic.name=ksql-service-idksql_MIGRATION_SCHEMA_VERSIONS
# ksql.migrations.topic.replicas=1

# TLS configs:
# ssl.truststore.location=
# ssl.truststore.password=
# ssl.keystore.location=
# ssl.keystore.password=
# ssl.key.password=
# ssl.key.alias=
# ssl.alpn=false
# ssl.verify.host=true

# ksqlDB server authentication configs:
# ksql.auth.basic.username=
# ksql.auth.basic.password=

# Migrations directory configs:
# ksql.migrations.dir.override=
"
    )
}
