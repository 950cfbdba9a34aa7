//! The registry on the Kafka backend (Apache Kafka on loopback): its `_schemas` topic
//! gives a registry opened by another connection the same ids and versions.

use std::sync::Arc;

use sluice_formats::{RegisteredSchema, SchemaType};
use sluice_log::{KafkaLog, Log};
use sluice_registry::{Registry, RegistryError, VersionSpec};
use sluice_testkit::kafka::KafkaCluster;

fn avro(text: &str) -> RegisteredSchema {
    RegisteredSchema::new(SchemaType::Avro, text)
}

#[test]
fn registry_on_kafka_survives_a_new_connection() -> Result<(), RegistryError> {
    let broker = KafkaCluster::start();
    let connect = || -> Result<Arc<dyn Log>, RegistryError> {
        Ok(Arc::new(KafkaLog::connect(&broker.properties())?))
    };
    let first = Registry::open(connect()?)?;
    assert_eq!(first.register("a-value", &avro("\"int\""))?, 1);
    assert_eq!(first.register("a-value", &avro("\"long\""))?, 2);
    assert_eq!(first.register("b-value", &avro("\"int\""))?, 1);
    first.delete_version("a-value", VersionSpec::Number(1), false)?;
    drop(first);

    let second = Registry::open(connect()?)?;
    assert_eq!(second.versions("a-value", false)?, vec![2]);
    assert_eq!(second.versions("a-value", true)?, vec![1, 2]);
    assert_eq!(second.subjects(false)?, vec!["a-value", "b-value"]);
    assert_eq!(second.register("c-value", &avro("\"string\""))?, 3);
    Ok(())
}
