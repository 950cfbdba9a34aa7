//! The throwaway database servers: they start (installing their packages
//! when missing), answer `sluice`/`sluice` over TCP, keep what was committed
//! across a SIGKILL, and go away when dropped. A server that cannot start
//! fails its test; nothing here skips.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use sluice_testkit::mariadb::MariaDb;
use sluice_testkit::postgres::Postgres;

/// Whether process `pid` still runs (exists and is not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat.get(i + 1..))
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

/// The real user id process `pid` runs as.
fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .expect("a Uid: line")
}

/// The message of a panic.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn postgres_starts_answers_and_keeps_committed_rows_across_a_sigkill() {
    let mut pg = Postgres::start();
    let port = pg.port();
    assert_eq!(
        pg.url(),
        format!("postgres://sluice:sluice@127.0.0.1:{port}/sluice")
    );
    assert_eq!(
        pg.jdbc_url(),
        format!("jdbc:postgresql://127.0.0.1:{port}/sluice")
    );
    assert_eq!(
        (pg.user(), pg.password(), pg.database()),
        ("sluice", "sluice", "sluice")
    );
    let pid = pg.pid().expect("a running server");
    assert_ne!(uid_of(pid), 0, "PostgreSQL must not run as root");

    pg.execute(
        "CREATE TABLE t (id int PRIMARY KEY, name text);\n\
         INSERT INTO t VALUES (1, 'one'), (2, 'two words'), (3, NULL);",
    );
    assert_eq!(
        pg.query("SELECT id, name FROM t ORDER BY id"),
        vec!["1\tone", "2\ttwo words", "3\t"]
    );
    assert_eq!(
        pg.query("SELECT current_user, current_database()"),
        vec!["sluice\tsluice"]
    );

    let error = catch_unwind(AssertUnwindSafe(|| {
        pg.execute("SELECT * FROM no_such_table")
    }))
    .expect_err("a failing statement panics");
    assert!(panic_message(error).contains("no_such_table"));

    pg.kill();
    assert!(!alive(pid), "the killed postmaster is gone");
    pg.start_again();
    assert_eq!(pg.port(), port);
    assert_eq!(pg.query("SELECT count(*) FROM t"), vec!["3"]);
    pg.execute("INSERT INTO t VALUES (4, 'after the crash')");
    assert_eq!(
        pg.query("SELECT name FROM t WHERE id = 4"),
        vec!["after the crash"]
    );

    let pid = pg.pid().expect("a running server");
    drop(pg);
    assert!(!alive(pid), "a dropped server stops");
}

#[test]
fn mariadb_starts_answers_and_keeps_committed_rows_across_a_sigkill() {
    let mut db = MariaDb::start();
    let port = db.port();
    assert_eq!(
        db.url(),
        format!("mysql://sluice:sluice@127.0.0.1:{port}/sluice")
    );
    assert_eq!(
        db.jdbc_url(),
        format!("jdbc:mariadb://127.0.0.1:{port}/sluice")
    );
    assert_eq!(
        db.jdbc_mysql_url(),
        format!("jdbc:mysql://127.0.0.1:{port}/sluice")
    );
    assert_eq!(
        (db.user(), db.password(), db.database()),
        ("sluice", "sluice", "sluice")
    );
    let pid = db.pid().expect("a running server");
    assert_ne!(uid_of(pid), 0, "MariaDB must not run as root");

    db.execute(
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB;\n\
         INSERT INTO t VALUES (1, 'one'), (2, 'two words'), (3, NULL);",
    );
    assert_eq!(
        db.query("SELECT id, name FROM t ORDER BY id"),
        vec!["1\tone", "2\ttwo words", "3\tNULL"]
    );
    assert_eq!(
        db.query("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), DATABASE()"),
        vec!["sluice\tsluice"]
    );

    let error = catch_unwind(AssertUnwindSafe(|| {
        db.execute("SELECT * FROM no_such_table")
    }))
    .expect_err("a failing statement panics");
    assert!(panic_message(error).contains("no_such_table"));

    db.kill();
    assert!(!alive(pid), "the killed server is gone");
    db.start_again();
    assert_eq!(db.port(), port);
    assert_eq!(db.query("SELECT COUNT(*) FROM t"), vec!["3"]);
    db.execute("INSERT INTO t VALUES (4, 'after the crash')");
    assert_eq!(
        db.query("SELECT name FROM t WHERE id = 4"),
        vec!["after the crash"]
    );

    let log: PathBuf = db.log_path();
    let pid = db.pid().expect("a running server");
    drop(db);
    assert!(!alive(pid), "a dropped server stops");
    assert!(!log.exists(), "a dropped server's directory is removed");
}
