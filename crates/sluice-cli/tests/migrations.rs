//! `sluice migrations` (ksqlDB's ksql-migrations) against a running `sluice
//! server`: a new project, three migrations applied once, `info` and
//! `validate` as ksql-migrations words them, the metadata destroyed.

mod common;

use std::process::Command;

use common::ServerProcess;

/// `sluice migrations <args>`: exit success and what it printed.
fn migrations(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("migrations")
        .args(args)
        .output()
        .expect("sluice migrations");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.success(), text)
}

fn ok(args: &[&str]) -> String {
    let (success, text) = migrations(args);
    assert!(success, "{args:?}: {text}");
    assert!(text.contains("Execution time: "), "{text}");
    text
}

fn records(url: &str, sql: &str) -> Vec<Vec<serde_json::Value>> {
    common::pull_rows(url.trim_start_matches("http://"), sql)
}

#[test]
fn a_project_applies_its_migrations_once_and_reports_them_as_ksql_migrations_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, url) = common::spawn_server(
        [
            "--listeners",
            "http://127.0.0.1:0",
            "--set",
            "schema.registry.listeners=none",
            "--set",
            "connect.listeners=none",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &dir.path().join("server.log"),
    );
    let _server = ServerProcess(child, url.clone());
    let project = dir.path().join("project");
    let config = project.join("ksql-migrations.properties");
    let config = config.to_str().unwrap();

    let text = ok(&["new-project", project.to_str().unwrap(), &url]);
    assert!(
        text.contains("Migrations project directory created successfully"),
        "{text}"
    );
    let properties = std::fs::read_to_string(project.join("ksql-migrations.properties")).unwrap();
    assert!(properties.starts_with(&format!(
        "ksql.server.url={url}\n\n# Migrations metadata configs:\n"
    )));

    // without metadata, apply refuses
    let (success, text) = migrations(&["-c", config, "apply", "--all"]);
    assert!(!success);
    assert!(
        text.contains("Did you run `ksql-migrations initialize-metadata`?"),
        "{text}"
    );
    let text = ok(&["--config-file", config, "initialize-metadata"]);
    assert!(
        text.contains("Migrations metadata initialized successfully"),
        "{text}"
    );

    // three migrations: one made by `create`, the others written here
    let text = ok(&["create", "create users", "-c", config]);
    assert!(
        text.contains("Migration file successfully created"),
        "{text}"
    );
    let migrations_dir = project.join("migrations");
    let write = |name: &str, sql: &str| std::fs::write(migrations_dir.join(name), sql).unwrap();
    write(
        "V000001__create_users.sql",
        "CREATE STREAM users (id INT KEY, name STRING) WITH (kafka_topic='users', value_format='JSON', partitions=1);\n",
    );
    write(
        "V000002__seed_users.sql",
        "-- variables and properties stay with the file\nDEFINE who = 'ada';\nSET 'auto.offset.reset'='earliest';\nINSERT INTO users (id, name) VALUES (1, '${who}');\nCREATE TABLE names AS SELECT id, LATEST_BY_OFFSET(name) AS name FROM users GROUP BY id;\n",
    );
    write(
        "V000003__more_users.sql",
        "INSERT INTO users (id, name) VALUES (2, '${who}');\n",
    );
    let text = ok(&["-c", config, "apply", "--all", "--define", "who=bob"]);
    assert!(text.contains("3 migration file(s) loaded."), "{text}");
    assert_eq!(text.matches("Successfully migrated").count(), 3, "{text}");

    // run again: nothing to do
    let text = ok(&["-c", config, "apply", "--all"]);
    assert!(text.contains("No eligible migrations found."), "{text}");
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = records(&url, "SELECT id, name FROM names;");
        if rows.len() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    rows.sort_by_key(|r| r[0].as_i64());
    assert_eq!(
        rows,
        vec![
            vec![serde_json::json!(1), serde_json::json!("ada")],
            vec![serde_json::json!(2), serde_json::json!("bob")]
        ]
    );

    let text = ok(&["-c", config, "info"]);
    assert!(text.contains("Current migration version: 3"), "{text}");
    let table: Vec<&str> = text.lines().filter(|l| l.starts_with(' ')).collect();
    assert!(
        table[0].starts_with(" Version | Name         | State    | Previous Version | Started On "),
        "{text}"
    );
    assert!(
        table[1].starts_with(" 1       | create users | MIGRATED | <none>           | "),
        "{text}"
    );
    assert!(
        table[3].starts_with(" 3       | more users   | MIGRATED | 2                | "),
        "{text}"
    );
    assert!(table[3].ends_with("| N/A          "), "{text}");

    let text = ok(&["-c", config, "validate"]);
    assert!(
        text.contains(
            "Successfully validated checksums for migrations that have already been applied"
        ),
        "{text}"
    );
    // a file changed after it was applied
    write(
        "V000003__more_users.sql",
        "INSERT INTO users (id, name) VALUES (3, 'eve');\n",
    );
    let (success, text) = migrations(&["-c", config, "validate"]);
    assert!(!success);
    assert!(text.contains("Migrations file found for version 3 does not match the checksum saved for this version."), "{text}");

    // a failing migration is recorded as ERROR with its reason
    write(
        "V000003__more_users.sql",
        "INSERT INTO users (id, name) VALUES (2, '${who}');\n",
    );
    write(
        "V000004__broken.sql",
        "CREATE STREAM broken AS SELECT * FROM nowhere;\n",
    );
    let (success, text) = migrations(&["-c", config, "apply", "--next"]);
    assert!(!success);
    assert!(
        text.contains(
            "Failed to execute sql: CREATE STREAM broken AS SELECT * FROM nowhere;. Error: "
        ),
        "{text}"
    );
    // the metadata table follows the events stream, a row at a time: its
    // CURRENT row may come after version 4's (as with ksql-migrations)
    let mut text = ok(&["-c", config, "info"]);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !text.contains("Current migration version: 4") && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(200));
        text = ok(&["-c", config, "info"]);
    }
    assert!(text.contains("Current migration version: 4"), "{text}");
    assert!(
        text.contains(" 4       | broken       | ERROR    | 3 "),
        "{text}"
    );

    let text = ok(&["-c", config, "destroy-metadata"]);
    assert!(
        text.contains("Migrations metadata cleaned successfully"),
        "{text}"
    );
    assert!(ok_listing_lacks(&url, "MIGRATION_EVENTS"));
}

/// Whether `SHOW STREAMS` on the server no longer lists `name`.
fn ok_listing_lacks(url: &str, name: &str) -> bool {
    let body = common::post_ksql(url, "SHOW STREAMS;");
    !body.to_string().contains(name)
}
