//! Apache Kafka 4.x on loopback, in KRaft mode: one broker or three.
//!
//! The broker's jars (`org.apache.kafka:kafka_2.13` and its runtime
//! dependencies, pinned in `maven/kafka-broker.xml`) are copied from Maven
//! Central once per machine into `$HOME/.cache/sluice/kafka-<version>/libs`
//! (under a file lock, so parallel tests wait for one download); `.ci/run`
//! prepares the same directory. Every node runs as a combined broker and
//! controller (`process.roles=broker,controller`), so three nodes are a
//! three-voter quorum that survives losing one. Each JVM has a pinned heap
//! (`KafkaOptions::heap_mb`, 384 MiB by default): three brokers, the tests and
//! a Kafka Streams application fit in the 2-core, 24 GiB machines the project
//! runs on.
//!
//! Nodes can be stopped cleanly, SIGKILLed (nothing flushed) and started
//! again on the same ports and data, which is what the fault-injection tests
//! are made of. A cluster never outlives the test process ([`Service`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use crate::process::{self, Service, ServiceSpec};
use crate::{cache_dir, free_port, wait_for};

/// The Maven project that names the broker's jars; its `kafka.version`
/// property is the pinned release.
const BROKER_POM: &str = include_str!("../maven/kafka-broker.xml");
/// Kafka Streams with its test driver, the same release.
const STREAMS_POM: &str = include_str!("../maven/kafka-streams-test-utils.xml");

/// The SCRAM user a SASL_SSL cluster knows.
pub const SCRAM_USER: &str = "sluice";
pub const SCRAM_PASSWORD: &str = "sluice-secret";

/// The Kafka release the tests run (from the pom).
pub fn kafka_version() -> &'static str {
    let start = BROKER_POM
        .find("<kafka.version>")
        .expect("kafka.version in the pom")
        + "<kafka.version>".len();
    let end = start + BROKER_POM[start..].find('<').expect("closing tag");
    &BROKER_POM[start..end]
}

/// What kind of cluster to start.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    /// 1 or 3 nodes (each a broker and a controller).
    pub brokers: usize,
    /// Clients connect over SASL_SSL with SCRAM-SHA-512 ([`SCRAM_USER`]) and a
    /// certificate signed by the cluster's own CA (brokers talk to each other
    /// in plaintext on a listener of their own).
    pub sasl_ssl: bool,
    /// `-Xmx` and `-Xms` of each broker JVM, in MiB.
    pub heap_mb: u32,
    /// More `server.properties` lines, e.g. `("log.retention.ms", "1000")`.
    pub broker_configs: Vec<(String, String)>,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            brokers: 1,
            sasl_ssl: false,
            heap_mb: 384,
            broker_configs: Vec::new(),
        }
    }
}

impl KafkaOptions {
    /// Three nodes: replication 3, `min.insync.replicas=2`.
    pub fn three_brokers() -> Self {
        KafkaOptions {
            brokers: 3,
            ..KafkaOptions::default()
        }
    }

    /// One node whose client listener is SASL_SSL (SCRAM-SHA-512).
    pub fn sasl_ssl() -> Self {
        KafkaOptions {
            sasl_ssl: true,
            ..KafkaOptions::default()
        }
    }

    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        self.broker_configs
            .push((key.to_string(), value.to_string()));
        self
    }
}

/// One node: its ports, its directory and its process (when running).
struct Node {
    id: i32,
    /// The plaintext listener brokers (and plaintext clients) use.
    port: u16,
    controller_port: u16,
    /// The SASL_SSL client listener, when the cluster has one.
    external_port: Option<u16>,
    dir: PathBuf,
    service: Option<Service>,
}

impl Node {
    fn properties_file(&self) -> PathBuf {
        self.dir.join("server.properties")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// A running Apache Kafka cluster on loopback.
pub struct KafkaCluster {
    options: KafkaOptions,
    nodes: Vec<Node>,
    /// The cluster's directory (nodes, certificates), removed on drop unless
    /// the cluster lives as long as the process ([`KafkaCluster::shared`]).
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
    /// The CA certificate clients trust (SASL_SSL clusters).
    ca: Option<PathBuf>,
}

impl KafkaCluster {
    /// One broker, started now; panics with the broker's log when it cannot
    /// start.
    pub fn start() -> KafkaCluster {
        Self::start_with(KafkaOptions::default())
    }

    /// A cluster as `options` asks.
    pub fn start_with(options: KafkaOptions) -> KafkaCluster {
        let temp = tempfile::Builder::new()
            .prefix("sluice-kafka-")
            .tempdir()
            .expect("a directory for the Kafka cluster");
        let root = temp.path().to_path_buf();
        Self::launch(options, root, Some(temp))
    }

    /// One broker shared by every test of this process that does not stop or
    /// kill brokers: started on first use, stopped (and its directory
    /// removed) when the process ends. Tests sharing it use topic names and
    /// service ids of their own.
    pub fn shared() -> &'static KafkaCluster {
        static SHARED: OnceLock<KafkaCluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            let root =
                std::env::temp_dir().join(format!("sluice-kafka-shared-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).expect("a directory for the shared Kafka cluster");
            Self::launch(KafkaOptions::default(), root, None)
        })
    }

    fn launch(
        options: KafkaOptions,
        root: PathBuf,
        temp: Option<tempfile::TempDir>,
    ) -> KafkaCluster {
        assert!(
            options.brokers == 1 || options.brokers == 3,
            "a test cluster has 1 or 3 brokers"
        );
        let libs = broker_libs();
        let nodes: Vec<Node> = (1..=options.brokers as i32)
            .map(|id| Node {
                id,
                port: free_port(),
                controller_port: free_port(),
                external_port: options.sasl_ssl.then(free_port),
                dir: root.join(format!("node-{id}")),
                service: None,
            })
            .collect();
        let ca = options.sasl_ssl.then(|| crate::make_certificates(&root));
        let mut cluster = KafkaCluster {
            options,
            nodes,
            root,
            _temp: temp,
            ca,
        };
        cluster.write_configs();
        cluster.format(&libs);
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i, &libs);
        }
        cluster.wait_ready();
        cluster
    }

    /// `host:port,...` of the client listeners.
    pub fn bootstrap_servers(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.external_port.unwrap_or(n.port)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The client properties that reach this cluster: `bootstrap.servers`,
    /// and for a SASL_SSL cluster `security.protocol`, `sasl.*` and
    /// `ssl.ca.location` (librdkafka's names, which Sluice passes through).
    pub fn properties(&self) -> BTreeMap<String, String> {
        let mut props =
            BTreeMap::from([("bootstrap.servers".to_string(), self.bootstrap_servers())]);
        if let Some(ca) = &self.ca {
            for (k, v) in [
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", SCRAM_USER),
                ("sasl.password", SCRAM_PASSWORD),
            ] {
                props.insert(k.to_string(), v.to_string());
            }
            props.insert("ssl.ca.location".into(), ca.display().to_string());
        }
        props
    }

    /// The CA certificate (PEM) of a SASL_SSL cluster.
    pub fn ca_certificate(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// Node ids, 1-based, as the brokers know them.
    pub fn node_ids(&self) -> Vec<i32> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    fn node(&mut self, id: i32) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no broker {id}"))
    }

    /// SIGKILLs broker `id`: nothing is flushed, its sessions just vanish.
    pub fn kill(&mut self, id: i32) {
        if let Some(mut s) = self.node(id).service.take() {
            s.kill();
        }
    }

    /// Stops broker `id` cleanly (SIGTERM: controlled shutdown) and waits.
    pub fn stop(&mut self, id: i32) {
        if let Some(mut s) = self.node(id).service.take() {
            s.signal("TERM");
            if !s.wait_exit(Duration::from_secs(60)) {
                s.kill();
            }
            s.stop();
        }
    }

    /// Freezes broker `id` (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&mut self, id: i32) {
        if let Some(s) = &self.node(id).service {
            s.signal("STOP");
        }
    }

    /// Lets a paused broker run again (SIGCONT).
    pub fn resume(&mut self, id: i32) {
        if let Some(s) = &self.node(id).service {
            s.signal("CONT");
        }
    }

    /// Starts a stopped or killed broker again on its ports and data, and
    /// waits until the cluster lists it.
    pub fn start_again(&mut self, id: i32) {
        let libs = broker_libs();
        let i = self.nodes.iter().position(|n| n.id == id).expect("a node");
        assert!(self.nodes[i].service.is_none(), "broker {id} is running");
        self.spawn(i, &libs);
        self.wait_ready();
    }

    /// The broker leading `topic`'s `partition`.
    pub fn leader(&self, topic: &str, partition: i32) -> i32 {
        let consumer = self.admin_consumer();
        wait_for(
            &format!("the leader of {topic}-{partition}"),
            Duration::from_secs(60),
            || {
                let md = consumer
                    .fetch_metadata(Some(topic), Duration::from_secs(5))
                    .map_err(|e| e.to_string())?;
                md.topics()
                    .first()
                    .and_then(|t| t.partitions().iter().find(|p| p.id() == partition))
                    .map(|p| p.leader())
                    .filter(|l| *l >= 0)
                    .ok_or_else(|| "no leader yet".to_string())
            },
        )
    }

    /// The broker coordinating consumer group `group` (the leader of its
    /// `__consumer_offsets` partition: Java's `abs(group.hashCode()) %
    /// partitions`, as the brokers place it). Creates `__consumer_offsets`
    /// first if nobody has used a group yet (a coordinator lookup does).
    pub fn group_coordinator(&self, group: &str) -> i32 {
        let consumer = self.admin_consumer();
        let partitions = wait_for("__consumer_offsets", Duration::from_secs(60), || {
            let md = consumer
                .fetch_metadata(Some("__consumer_offsets"), Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
            let n = md
                .topics()
                .first()
                .map_or(0, |t| t.partitions().len() as i32);
            if n > 0 {
                return Ok(n);
            }
            // asking for a group's offsets makes the brokers create it
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition("__consumer_offsets", 0);
            let _ = consumer.committed_offsets(tpl, Duration::from_secs(5));
            Err("not created yet".to_string())
        });
        let hash = group
            .encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
        self.leader("__consumer_offsets", (hash & 0x7fff_ffff) % partitions)
    }

    /// Creates `topic` with a replica on every broker, `leader` first in each
    /// partition's list (its preferred leader, which leads it from the
    /// start), and waits until `leader` leads every partition.
    pub fn create_topic_led_by(&self, topic: &str, partitions: i32, leader: i32) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let mut replicas = vec![leader];
        replicas.extend(self.node_ids().into_iter().filter(|id| *id != leader));
        let assignment: Vec<&[i32]> = (0..partitions).map(|_| replicas.as_slice()).collect();
        let mut config = ClientConfig::new();
        for (k, v) in self.properties() {
            config.set(k, v);
        }
        let admin: AdminClient<rdkafka::client::DefaultClientContext> =
            config.create().expect("an admin client");
        let topic_spec = NewTopic::new(topic, partitions, TopicReplication::Variable(&assignment));
        let results =
            futures_executor::block_on(admin.create_topics([&topic_spec], &AdminOptions::new()))
                .unwrap_or_else(|e| panic!("creating {topic}: {e}"));
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
        }
        for p in 0..partitions {
            let now = self.leader(topic, p);
            assert_eq!(now, leader, "{topic}-{p} is led by {now}");
        }
    }

    /// The transaction markers (commits, aborts) written into `topic`,
    /// counted in the segments of every replica on disk by Kafka's own
    /// `DumpLogSegments`: proof of what the brokers stored.
    pub fn transaction_markers(&self, topic: &str) -> (usize, usize) {
        let libs = broker_libs();
        let mut files = Vec::new();
        let node = &self.nodes[0];
        let prefix = format!("{topic}-");
        for entry in std::fs::read_dir(node.data_dir()).expect("the broker's log dir") {
            let dir = entry.expect("a log dir entry").path();
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let is_partition = name
                .strip_prefix(&prefix)
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
            if !is_partition {
                continue;
            }
            for f in std::fs::read_dir(&dir).expect("a partition dir") {
                let f = f.expect("a segment").path();
                if f.extension().is_some_and(|e| e == "log") {
                    files.push(f);
                }
            }
        }
        if files.is_empty() {
            return (0, 0);
        }
        let joined = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let out = process::run(
            "kafka.tools.DumpLogSegments",
            Command::new(java())
                .arg("-cp")
                .arg(classpath(&libs))
                .args(["kafka.tools.DumpLogSegments", "--deep-iteration", "--files"])
                .arg(joined),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (
            out.matches("endTxnMarker: COMMIT").count(),
            out.matches("endTxnMarker: ABORT").count(),
        )
    }

    fn admin_consumer(&self) -> BaseConsumer {
        let mut config = ClientConfig::new();
        for (k, v) in self.properties() {
            config.set(k, v);
        }
        config.set("group.id", "sluice-testkit");
        config.create().expect("a metadata client")
    }

    fn write_configs(&self) {
        let voters = self
            .nodes
            .iter()
            .map(|n| format!("{}@127.0.0.1:{}", n.id, n.controller_port))
            .collect::<Vec<_>>()
            .join(",");
        let replicas = self.nodes.len();
        let min_isr = if replicas >= 3 { 2 } else { 1 };
        for node in &self.nodes {
            std::fs::create_dir_all(node.data_dir()).expect("a node directory");
            let mut listeners = format!(
                "BROKER://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                node.port, node.controller_port
            );
            let mut advertised = format!("BROKER://127.0.0.1:{}", node.port);
            let mut protocols = "BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT".to_string();
            if let Some(p) = node.external_port {
                write!(listeners, ",EXTERNAL://127.0.0.1:{p}").unwrap();
                write!(advertised, ",EXTERNAL://127.0.0.1:{p}").unwrap();
                protocols.push_str(",EXTERNAL:SASL_SSL");
            }
            // retention off: tests write records stamped in 1970, which the
            // default 7 days would delete at the next retention check
            let mut text = format!(
                "process.roles=broker,controller\n\
                 node.id={id}\n\
                 controller.quorum.voters={voters}\n\
                 controller.listener.names=CONTROLLER\n\
                 inter.broker.listener.name=BROKER\n\
                 listeners={listeners}\n\
                 advertised.listeners={advertised}\n\
                 listener.security.protocol.map={protocols}\n\
                 log.dirs={data}\n\
                 num.partitions=1\n\
                 default.replication.factor={replicas}\n\
                 min.insync.replicas={min_isr}\n\
                 offsets.topic.replication.factor={replicas}\n\
                 offsets.topic.num.partitions=10\n\
                 transaction.state.log.replication.factor={replicas}\n\
                 transaction.state.log.min.isr={min_isr}\n\
                 transaction.state.log.num.partitions=10\n\
                 group.initial.rebalance.delay.ms=0\n\
                 share.coordinator.state.topic.replication.factor={replicas}\n\
                 share.coordinator.state.topic.min.isr={min_isr}\n\
                 log.segment.bytes=67108864\n\
                 log.retention.ms=-1\n",
                id = node.id,
                data = node.data_dir().display(),
            );
            if self.ca.is_some() {
                let keystore = self.root.join("broker-keystore.pem");
                write!(
                    text,
                    "sasl.enabled.mechanisms=SCRAM-SHA-512\n\
                     listener.name.external.sasl.enabled.mechanisms=SCRAM-SHA-512\n\
                     listener.name.external.scram-sha-512.sasl.jaas.config=\
                     org.apache.kafka.common.security.scram.ScramLoginModule required;\n\
                     ssl.keystore.type=PEM\n\
                     ssl.keystore.location={}\n",
                    keystore.display()
                )
                .unwrap();
            }
            for (k, v) in &self.options.broker_configs {
                writeln!(text, "{k}={v}").unwrap();
            }
            std::fs::write(node.properties_file(), text).expect("writing server.properties");
        }
    }

    /// Formats every node's storage with one cluster id (in parallel: each
    /// format is a JVM start).
    fn format(&self, libs: &Path) {
        let cluster_id = random_cluster_id();
        let children: Vec<_> = self
            .nodes
            .iter()
            .map(|node| {
                use std::process::Stdio;
                let mut command = Command::new(java());
                command
                    .arg("-Xmx256m")
                    .arg("-cp")
                    .arg(classpath(libs))
                    .args(["kafka.tools.StorageTool", "format", "-t", &cluster_id, "-c"])
                    .arg(node.properties_file());
                if self.ca.is_some() {
                    command.args([
                        "--add-scram",
                        &format!("SCRAM-SHA-512=[name={SCRAM_USER},password={SCRAM_PASSWORD}]"),
                    ]);
                }
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                (node.id, command.spawn())
            })
            .collect();
        for (id, child) in children {
            let out = child
                .and_then(|c| c.wait_with_output())
                .unwrap_or_else(|e| panic!("formatting Kafka node {id}: {e}"));
            assert!(
                out.status.success(),
                "formatting Kafka node {id} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn spawn(&mut self, i: usize, libs: &Path) {
        let heap = format!("-Xmx{}m", self.options.heap_mb);
        let min_heap = format!("-Xms{}m", self.options.heap_mb);
        let cleanup = self._temp.is_none().then(|| self.root.clone());
        let node = &mut self.nodes[i];
        let mut spec = ServiceSpec::new(
            format!("kafka broker {}", node.id),
            java(),
            &node.dir.join("broker.log"),
        )
        .args([
            heap.as_str(),
            min_heap.as_str(),
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp",
        ])
        .arg(classpath(libs))
        .arg("kafka.Kafka")
        .arg(node.properties_file());
        spec.cleanup = cleanup;
        let service = Service::start(&spec).unwrap_or_else(|e| panic!("{e}"));
        node.service = Some(service);
    }

    /// Waits until the metadata lists every running broker.
    fn wait_ready(&mut self) {
        let running: Vec<i32> = self
            .nodes
            .iter()
            .filter(|n| n.service.is_some())
            .map(|n| n.id)
            .collect();
        let consumer = self.admin_consumer();
        let nodes = &mut self.nodes;
        wait_for("the Kafka cluster", Duration::from_secs(120), || {
            for node in nodes.iter_mut() {
                if let Some(s) = node.service.as_mut() {
                    if !s.is_running() {
                        panic!(
                            "kafka broker {} exited while starting:\n{}",
                            node.id,
                            s.log_tail(40)
                        );
                    }
                }
            }
            let md = consumer
                .fetch_metadata(None, Duration::from_secs(2))
                .map_err(|e| e.to_string())?;
            let mut listed: Vec<i32> = md.brokers().iter().map(|b| b.id()).collect();
            listed.sort_unstable();
            if running.iter().all(|id| listed.contains(id)) {
                Ok(())
            } else {
                Err(format!("brokers listed: {listed:?}, running: {running:?}"))
            }
        });
        if running.len() > 1 {
            self.wait_replicas(running.len());
        }
    }

    /// Waits until the controller places a replica on each of `brokers`
    /// brokers: a broker is listed in the metadata a moment before the
    /// controller counts it for new topics (`InvalidReplicationFactor`).
    fn wait_replicas(&self, brokers: usize) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let mut config = ClientConfig::new();
        for (k, v) in self.properties() {
            config.set(k, v);
        }
        let admin: AdminClient<rdkafka::client::DefaultClientContext> =
            config.create().expect("an admin client");
        let probe = "__sluice_testkit_ready";
        let replicas = i32::try_from(brokers).unwrap_or(i32::MAX);
        wait_for("replicas on every broker", Duration::from_secs(60), || {
            let spec = NewTopic::new(probe, 1, TopicReplication::Fixed(replicas));
            let results =
                futures_executor::block_on(admin.create_topics([&spec], &AdminOptions::new()))
                    .map_err(|e| e.to_string())?;
            for r in results {
                match r {
                    Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((_, e)) => return Err(e.to_string()),
                }
            }
            Ok(())
        });
        let _ = futures_executor::block_on(admin.delete_topics(&[probe], &AdminOptions::new()));
    }
}

/// The `java` to run: `$JAVA_HOME/bin/java`, else the one on the PATH.
pub fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin/java"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("java"))
}

pub(crate) fn classpath(libs: &Path) -> String {
    format!("{}/*", libs.display())
}

/// The directory holding the broker's jars, fetched through Maven on first
/// use (once per machine; concurrent callers wait on a file lock).
pub fn broker_libs() -> PathBuf {
    maven_libs(
        &format!("kafka-{}", kafka_version()),
        "the Kafka broker",
        BROKER_POM,
    )
}

/// The jars of Kafka Streams and its test driver (`TopologyTestDriver`),
/// fetched like [`broker_libs`].
pub fn streams_libs() -> PathBuf {
    assert!(
        STREAMS_POM.contains(&format!("<kafka.version>{}<", kafka_version())),
        "kafka-streams-test-utils.xml pins another release than kafka-broker.xml"
    );
    maven_libs(
        &format!("kafka-streams-{}", kafka_version()),
        "Kafka Streams and its test driver",
        STREAMS_POM,
    )
}

/// Copies the dependencies `pom` names, with theirs, into
/// `<cache>/<name>/libs` once per machine; that directory.
pub(crate) fn maven_libs(name: &str, what: &str, pom: &str) -> PathBuf {
    let home = cache_dir().join(name);
    let libs = home.join("libs");
    let done = home.join(".complete");
    if done.exists() {
        return libs;
    }
    std::fs::create_dir_all(&home).expect("a cache directory");
    let lock = std::fs::File::create(home.join(".lock")).expect("a cache lock");
    lock.lock().expect("locking the cache directory");
    if !done.exists() {
        let pom_path = home.join("pom.xml");
        std::fs::write(&pom_path, pom).expect("writing the pom");
        let _ = std::fs::remove_dir_all(&libs);
        eprintln!(
            "fetching {what} {} from Maven Central into {} (once per machine)",
            kafka_version(),
            libs.display()
        );
        process::run(
            &format!("fetching {what} with Maven"),
            Command::new("mvn")
                .args(["-q", "-B", "-f"])
                .arg(&pom_path)
                .arg("dependency:copy-dependencies")
                .arg(format!("-DoutputDirectory={}", libs.display()))
                .arg("-DincludeScope=runtime"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&done, kafka_version()).expect("marking the cache complete");
    }
    libs
}

/// Runs the single-file Java program `source` (Java's source-file mode)
/// with the Kafka Streams jars on its class path, `args` after it and
/// `stdin` as its input; its standard output. Panics with its standard
/// error when it fails.
pub fn run_streams_program(source: &Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(java())
        .args(["-Xmx256m", "-cp", &classpath(&streams_libs())])
        .arg(source)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", java().display()));
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().expect("the Java program's output");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// A KRaft cluster id: 16 random bytes, URL-safe base64 without padding,
/// never starting with `-` (Kafka's own `Uuid.randomUuid` avoids those too:
/// the command line would read it as an option).
fn random_cluster_id() -> String {
    loop {
        let id = random_base64_uuid();
        if !id.starts_with('-') {
            return id;
        }
    }
}

fn random_base64_uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    let mut bits = 0u32;
    let mut n = 0;
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 6 {
            n -= 6;
            out.push(ALPHABET[((bits >> n) & 63) as usize] as char);
        }
    }
    if n > 0 {
        out.push(ALPHABET[((bits << (6 - n)) & 63) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_are_22_base64url_characters() {
        for _ in 0..1000 {
            assert!(!random_cluster_id().starts_with('-'));
        }
        let id = random_cluster_id();
        assert_eq!(id.len(), 22, "{id}");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(id, random_cluster_id());
    }

    #[test]
    fn the_pinned_version_is_a_4x_release() {
        assert!(kafka_version().starts_with("4."), "{}", kafka_version());
    }
}
