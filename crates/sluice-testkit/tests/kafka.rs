//! The Kafka launcher itself: a broker starts, serves, survives SIGKILL and
//! restart with its data; a SASL_SSL cluster lets in its SCRAM user only.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use sluice_testkit::kafka::{KafkaCluster, KafkaOptions};

fn config(cluster: &KafkaCluster) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in cluster.properties() {
        c.set(k, v);
    }
    c
}

fn create_topic(cluster: &KafkaCluster, name: &str, replicas: i32) {
    let admin: AdminClient<DefaultClientContext> = config(cluster).create().unwrap();
    let topic = NewTopic::new(name, 1, TopicReplication::Fixed(replicas));
    let results =
        futures_executor::block_on(admin.create_topics([&topic], &AdminOptions::new())).unwrap();
    for r in results {
        r.unwrap();
    }
}

fn produce(cluster: &KafkaCluster, topic: &str, values: &[&str]) {
    let producer: BaseProducer = config(cluster).set("acks", "all").create().unwrap();
    for v in values {
        producer
            .send(BaseRecord::<(), str>::to(topic).payload(*v))
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

fn consume(cluster: &KafkaCluster, topic: &str, n: usize) -> Vec<String> {
    let consumer: BaseConsumer = config(cluster).set("group.id", "check").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while out.len() < n && std::time::Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
    }
    out
}

#[test]
fn a_broker_serves_and_keeps_its_records_across_a_sigkill() {
    let mut cluster = KafkaCluster::start();
    create_topic(&cluster, "t", 1);
    produce(&cluster, "t", &["a", "b"]);
    cluster.kill(1);
    cluster.start_again(1);
    produce(&cluster, "t", &["c"]);
    assert_eq!(consume(&cluster, "t", 3), ["a", "b", "c"]);
}

#[test]
fn three_brokers_survive_the_loss_of_a_partition_leader() {
    let mut cluster = KafkaCluster::start_with(KafkaOptions::three_brokers());
    create_topic(&cluster, "r", 3);
    produce(&cluster, "r", &["a"]);
    let leader = cluster.leader("r", 0);
    cluster.kill(leader);
    produce(&cluster, "r", &["b"]);
    assert_ne!(cluster.leader("r", 0), leader, "a new leader was elected");
    cluster.start_again(leader);
    assert_eq!(consume(&cluster, "r", 2), ["a", "b"]);
}

#[test]
fn a_sasl_ssl_cluster_lets_in_its_scram_user_only() {
    let cluster = KafkaCluster::start_with(KafkaOptions::sasl_ssl());
    create_topic(&cluster, "s", 1);
    produce(&cluster, "s", &["secret"]);
    assert_eq!(consume(&cluster, "s", 1), ["secret"]);
    let intruder: BaseConsumer = config(&cluster)
        .set("sasl.password", "wrong")
        .set("group.id", "x")
        .create()
        .unwrap();
    assert!(intruder
        .fetch_metadata(None, Duration::from_secs(5))
        .is_err());
}
