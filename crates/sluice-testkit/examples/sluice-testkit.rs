//! The test kit from the shell, for CI and for people:
//!
//! * `sluice-testkit prepare`: fetch the Kafka broker's jars (and Kafka
//!   Streams' with its test driver) into the cache and
//!   install the database servers' packages, so a test run starts from a
//!   machine that has everything (`.ci/run` calls it);
//! * `sluice-testkit kafka [--brokers 3] [--sasl-ssl]`: start a cluster on
//!   loopback, print its client properties, run until stdin closes or Ctrl-C.

use std::io::Read;

use sluice_testkit::kafka::{self, KafkaCluster, KafkaOptions};
use sluice_testkit::mariadb::MariaDb;
use sluice_testkit::postgres::Postgres;

const USAGE: &str = "usage: sluice-testkit prepare | kafka [--brokers 1|3] [--sasl-ssl]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("prepare") => {
            let libs = kafka::broker_libs();
            println!(
                "Apache Kafka {}: {}",
                kafka::kafka_version(),
                libs.display()
            );
            let streams = kafka::streams_libs();
            println!("Kafka Streams test driver: {}", streams.display());
            Postgres::install();
            MariaDb::install();
            println!("PostgreSQL and MariaDB: installed");
            sluice_testkit::wasm::install();
            println!("clang and lld (WebAssembly functions): installed");
            let chromium = sluice_testkit::browser::install_chromium();
            let modules = sluice_testkit::browser::install_playwright();
            println!(
                "Chromium {} and {} (the console's browser test): {}",
                chromium.display(),
                sluice_testkit::browser::PLAYWRIGHT,
                modules.display()
            );
        }
        Some("kafka") => {
            let mut options = KafkaOptions::default();
            let mut rest = args[1..].iter();
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--brokers" => {
                        options.brokers = rest
                            .next()
                            .and_then(|n| n.parse().ok())
                            .unwrap_or_else(|| fail("--brokers takes 1 or 3"));
                    }
                    "--sasl-ssl" => options.sasl_ssl = true,
                    other => fail(&format!("unknown option {other}")),
                }
            }
            let cluster = KafkaCluster::start_with(options);
            for (k, v) in cluster.properties() {
                println!("{k}={v}");
            }
            // until whoever started us closes our stdin (or stops us)
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            drop(cluster);
        }
        _ => fail(USAGE),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
