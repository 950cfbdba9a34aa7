//! The registry store: ids, versions, deletes, compatibility levels, and its
//! state surviving a restart through the `_schemas` topic.

use std::sync::Arc;

use sluice_formats::{RegisteredSchema, SchemaReference, SchemaRegistry, SchemaType};
use sluice_log::{EmbeddedLog, Log};
use sluice_registry::{CompatibilityLevel, Registry, RegistryError, VersionSpec};

type Result = std::result::Result<(), RegistryError>;

fn avro(text: &str) -> RegisteredSchema {
    RegisteredSchema::new(SchemaType::Avro, text)
}

fn record(fields: &str) -> RegisteredSchema {
    avro(&format!(
        r#"{{"type":"record","name":"R","fields":[{fields}]}}"#
    ))
}

const V1: &str = r#"{"name":"a","type":"int"}"#;
const V2: &str = r#"{"name":"a","type":"int"},{"name":"b","type":"string","default":""}"#;
const NO_DEFAULT: &str = r#"{"name":"a","type":"int"},{"name":"c","type":"string"}"#;

fn open() -> (Arc<dyn Log>, Arc<Registry>) {
    let log: Arc<dyn Log> = Arc::new(EmbeddedLog::in_memory());
    let registry = Registry::open(log.clone()).expect("open");
    (log, registry)
}

#[test]
fn ids_are_global_and_versions_per_subject() -> Result {
    let (_, r) = open();
    assert_eq!(r.register("a-value", &record(V1))?, 1);
    // the same schema, other whitespace: same id, no new version
    assert_eq!(
        r.register(
            "a-value",
            &avro(&format!(
                "{{ \"type\": \"record\", \"name\": \"R\", \"fields\": [{V1}] }}"
            ))
        )?,
        1
    );
    assert_eq!(r.register("b-value", &record(V1))?, 1);
    assert_eq!(r.register("a-value", &record(V2))?, 2);
    assert_eq!(r.versions("a-value", false)?, vec![1, 2]);
    assert_eq!(r.versions("b-value", false)?, vec![1]);
    assert_eq!(r.subjects(false)?, vec!["a-value", "b-value"]);
    let latest = r.version("a-value", VersionSpec::Latest, false)?;
    assert_eq!((latest.version, latest.id), (2, 2));
    assert_eq!(r.lookup("b-value", &record(V1), false)?.version, 1);
    assert!(matches!(
        r.lookup("b-value", &record(V2), false),
        Err(RegistryError::SchemaNotFound)
    ));
    assert_eq!(
        r.usages(1, false)?,
        vec![("a-value".to_string(), 1), ("b-value".to_string(), 1)]
    );
    // the same text as another type is another schema
    let json = RegisteredSchema::new(SchemaType::Json, r#"{"type":"object"}"#);
    assert_eq!(r.register("c-value", &json)?, 3);
    assert_eq!(r.schema(3)?, json);
    assert!(matches!(
        r.schema(9),
        Err(RegistryError::SchemaIdNotFound(_))
    ));
    Ok(())
}

#[test]
fn invalid_schemas_and_unknown_references_are_refused() -> Result {
    let (_, r) = open();
    let err = r.register("s", &avro(r#"{"type":"record"}"#)).unwrap_err();
    assert_eq!(err.code(), 42201);
    let err = r.register("s", &avro("{not json")).unwrap_err();
    assert_eq!(err.code(), 42201);
    let mut with_ref = record(r#"{"name":"o","type":"Other"}"#);
    with_ref.references.push(SchemaReference {
        name: "Other".into(),
        subject: "other".into(),
        version: 1,
    });
    assert_eq!(r.register("s", &with_ref).unwrap_err().code(), 42201);
    r.register(
        "other",
        &avro(r#"{"type":"record","name":"Other","fields":[{"name":"x","type":"int"}]}"#),
    )?;
    let id = r.register("s", &with_ref)?;
    assert_eq!(r.schema(id)?.references, with_ref.references);
    Ok(())
}

#[test]
fn compatibility_levels_guard_registration() -> Result {
    let (_, r) = open();
    assert_eq!(r.config(None, true)?, CompatibilityLevel::Backward);
    r.register("s", &record(V1))?;
    // BACKWARD (default): a new field without a default is refused, with the reason
    let err = r.register("s", &record(NO_DEFAULT)).unwrap_err();
    assert_eq!(err.code(), 409);
    assert_eq!(err.http_status(), 409);
    assert!(err.to_string().contains("incompatible"), "{err}");
    assert!(!r
        .test_compatibility("s", Some(VersionSpec::Latest), &record(NO_DEFAULT))?
        .is_empty());
    // the same through the formats' seam, as the engine registers
    let err = SchemaRegistry::register(&*r, "s", &record(NO_DEFAULT)).unwrap_err();
    assert!(err.to_string().contains("error code: 409"), "{err}");
    // FORWARD on the subject lets it in
    assert!(matches!(
        r.config(Some("s"), false),
        Err(RegistryError::SubjectConfigNotFound(_))
    ));
    r.set_config(Some("s"), CompatibilityLevel::Forward)?;
    assert_eq!(r.register("s", &record(NO_DEFAULT))?, 2);
    assert_eq!(r.delete_config("s")?, CompatibilityLevel::Forward);
    assert_eq!(r.config(Some("s"), true)?, CompatibilityLevel::Backward);
    // NONE globally: anything goes
    r.set_config(None, CompatibilityLevel::None)?;
    assert_eq!(r.register("s", &avro("\"string\""))?, 3);
    // transitive levels check every live version
    r.set_config(None, CompatibilityLevel::BackwardTransitive)?;
    r.register("t", &record(V1))?;
    r.register("t", &record(V2))?;
    let v3 = record(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#);
    assert!(!r.test_compatibility("t", None, &v3)?.is_empty());
    assert!(r
        .test_compatibility("t", Some(VersionSpec::Latest), &v3)?
        .is_empty());
    assert_eq!(r.register("t", &v3).unwrap_err().code(), 409);
    r.set_config(Some("t"), CompatibilityLevel::Backward)?;
    assert!(r.register("t", &v3).is_ok());
    Ok(())
}

#[test]
fn soft_then_permanent_deletes() -> Result {
    let (_, r) = open();
    r.register("s", &record(V1))?;
    r.register("s", &record(V2))?;
    // a permanent delete needs a soft one first
    assert_eq!(
        r.delete_version("s", VersionSpec::Number(1), true)
            .unwrap_err()
            .code(),
        40407
    );
    assert_eq!(r.delete_subject("s", true).unwrap_err().code(), 40405);
    assert_eq!(r.delete_version("s", VersionSpec::Number(1), false)?, 1);
    assert_eq!(
        r.delete_version("s", VersionSpec::Number(1), false)
            .unwrap_err()
            .code(),
        40406
    );
    assert_eq!(r.versions("s", false)?, vec![2]);
    assert_eq!(r.versions("s", true)?, vec![1, 2]);
    assert_eq!(
        r.version("s", VersionSpec::Number(1), false)
            .unwrap_err()
            .code(),
        40402
    );
    assert_eq!(r.version("s", VersionSpec::Number(1), true)?.id, 1);
    assert_eq!(r.delete_version("s", VersionSpec::Number(1), true)?, 1);
    assert_eq!(r.versions("s", true)?, vec![2]);
    // soft-delete the subject: gone from listings unless asked for
    assert_eq!(r.delete_subject("s", false)?, vec![2]);
    assert_eq!(r.delete_subject("s", false).unwrap_err().code(), 40404);
    assert!(r.subjects(false)?.is_empty());
    assert_eq!(r.subjects(true)?, vec!["s"]);
    assert_eq!(r.versions("s", false).unwrap_err().code(), 40401);
    // registering again continues the version numbers and keeps the id
    r.register("s", &record(V2))?;
    assert_eq!(r.versions("s", false)?, vec![3]);
    assert_eq!(r.version("s", VersionSpec::Latest, false)?.id, 2);
    r.delete_subject("s", false)?;
    assert_eq!(r.delete_subject("s", true)?, vec![2, 3]);
    assert!(r.subjects(true)?.is_empty());
    assert_eq!(r.delete_subject("s", false).unwrap_err().code(), 40401);
    // ids stay bound to their schema
    assert_eq!(r.register("s", &record(V1))?, 1);
    assert_eq!(r.versions("s", false)?, vec![1]);
    Ok(())
}

#[test]
fn state_survives_a_restart_through_the_log() -> Result {
    let (log, r) = open();
    r.register("a", &record(V1))?;
    r.register("a", &record(V2))?;
    r.register("b", &avro("\"long\""))?;
    r.delete_version("a", VersionSpec::Number(1), false)?;
    r.delete_subject("b", false)?;
    r.delete_subject("b", true)?;
    r.set_config(None, CompatibilityLevel::Full)?;
    r.set_config(Some("a"), CompatibilityLevel::None)?;
    drop(r);

    let r = Registry::open(log.clone())?;
    assert_eq!(r.subjects(true)?, vec!["a"]);
    assert_eq!(r.versions("a", false)?, vec![2]);
    assert_eq!(r.versions("a", true)?, vec![1, 2]);
    assert_eq!(r.config(None, true)?, CompatibilityLevel::Full);
    assert_eq!(r.config(Some("a"), false)?, CompatibilityLevel::None);
    // a new schema gets the next id, an old one its id
    assert_eq!(r.register("c", &avro("\"double\""))?, 4);
    assert_eq!(r.register("d", &avro("\"long\""))?, 3);
    assert_eq!(
        log.list_topics().map_err(RegistryError::from)?,
        vec!["_schemas"]
    );
    let topic = log
        .describe_topic("_schemas")
        .map_err(RegistryError::from)?;
    assert_eq!(topic.partitions.len(), 1);
    assert_eq!(
        topic.configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    Ok(())
}

#[test]
fn registries_on_one_log_see_each_others_changes() -> Result {
    let (log, a) = open();
    let b = Registry::open(log)?;
    assert_eq!(a.register("s", &record(V1))?, 1);
    assert_eq!(b.versions("s", false)?, vec![1]);
    assert_eq!(b.register("t", &avro("\"int\""))?, 2);
    assert_eq!(a.schema(2)?, avro("\"int\""));
    b.set_config(None, CompatibilityLevel::Forward)?;
    assert_eq!(a.config(None, true)?, CompatibilityLevel::Forward);
    Ok(())
}
