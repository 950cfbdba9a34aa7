//! The real `sluice` binary's REPL on a pseudo-terminal: line editing, Tab
//! completion, a push query cancelled with Ctrl-C, and history kept on exit.
#![cfg(unix)]

mod common;

use std::process::Command;

use rexpect::session::spawn_command;

#[test]
fn repl_on_a_pseudo_terminal() -> Result<(), rexpect::error::Error> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.current_dir(dir.path())
        .env("HOME", dir.path())
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(30_000))?;
    p.exp_string("sluice> ")?;
    p.send_line(
        "CREATE STREAM S (K STRING KEY, ID INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    )?;
    p.exp_string("Stream created")?;
    // input typed before the prompt is back is dropped, as on any line editor
    p.exp_string("sluice> ")?;
    p.send_line("INSERT INTO S (K, ID) VALUES ('a', 1);")?;
    p.exp_string("sluice> ")?;
    p.send_line("SET 'auto.offset.reset' = 'earliest';")?;
    p.exp_string("Successfully changed local property")?;
    p.exp_string("sluice> ")?;
    // a statement over two lines; the query runs until Ctrl-C
    p.send_line("SELECT * FROM S")?;
    p.exp_string("      > ")?;
    p.send_line("EMIT CHANGES;")?;
    p.exp_string("|a            |1            |")?;
    p.send_control('c')?;
    p.exp_string("Query terminated")?;
    p.exp_string("sluice> ")?;
    // Tab completes the keyword
    p.send("SHOW QUERI")?;
    p.send("\t")?;
    p.send_line(";")?;
    p.exp_string("Query ID")?;
    p.exp_string("sluice> ")?;
    p.send_line("exit")?;
    p.exp_eof()?;
    let history = std::fs::read_to_string(dir.path().join(".sluice_history")).expect("history");
    assert!(history.contains("SHOW QUERIES;"), "{history}");
    assert!(dir.path().join("sluice-data").is_dir());
    Ok(())
}

/// `sluice cli URL -u USER` without `-p` asks for the password on the
/// terminal without echoing it, as ksqlDB's CLI does, then talks to the
/// server with basic auth.
#[test]
fn the_cli_asks_for_the_password_on_the_terminal() -> Result<(), rexpect::error::Error> {
    let dir = tempfile::tempdir().expect("tempdir");
    let users = dir.path().join("users");
    std::fs::write(&users, "alice: secret\n").expect("users file");
    let users_setting = format!("sluice.authentication.users.file={}", users.display());
    let server = common::start_embedded_with(dir.path(), &["--set", &users_setting]);
    let url = server.1.clone();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["cli", &url, "-u", "alice"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(30_000))?;
    p.exp_string("Enter password: ")?;
    p.send_line("secret")?;
    let shown = p.exp_string("connected to")?;
    assert!(
        !shown.contains("secret"),
        "the password was echoed: {shown}"
    );
    p.exp_string("> ")?;
    p.send_line("SHOW STREAMS;")?;
    p.exp_string("KSQL_PROCESSING_LOG")?;
    p.send_line("exit")?;
    p.exp_eof()?;
    Ok(())
}
