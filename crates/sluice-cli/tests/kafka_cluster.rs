//! Servers of one service on one Apache Kafka cluster know each other:
//! `/clusterStatus` on any of them lists them all.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_testkit::kafka::KafkaCluster;

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(cluster: &KafkaCluster, dir: &std::path::Path) -> Server {
    let port = sluice_testkit::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("server")
        .args(["--listeners", &format!("http://127.0.0.1:{port}")])
        .args(["--bootstrap-servers", &cluster.bootstrap_servers()])
        .args(["--set", "schema.registry.listeners=none"])
        .args(["--set", "ksql.service.id=pair_"])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    lines.read_line(&mut first).expect("first line");
    assert!(first.contains("listening on"), "{first}");
    std::thread::spawn(move || for _ in lines.lines() {});
    Server(child, format!("127.0.0.1:{port}"))
}

fn cluster_status(server: &Server) -> Vec<String> {
    let v: Value = reqwest::blocking::get(format!("http://{}/clusterStatus", server.1))
        .expect("GET /clusterStatus")
        .json()
        .expect("JSON");
    let hosts = v["clusterStatus"].as_object().expect("clusterStatus");
    for h in hosts.values() {
        assert_eq!(h["hostAlive"], true);
    }
    hosts.keys().cloned().collect()
}

#[test]
fn cluster_status_lists_every_server_of_the_service() {
    let cluster = KafkaCluster::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(&cluster, a_dir.path());
    let b = start(&cluster, b_dir.path());
    let mut want = vec![a.1.clone(), b.1.clone()];
    want.sort();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (seen_a, seen_b) = (cluster_status(&a), cluster_status(&b));
        if (seen_a == want && seen_b == want) || Instant::now() > deadline {
            assert_eq!(seen_a, want);
            assert_eq!(seen_b, want);
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
