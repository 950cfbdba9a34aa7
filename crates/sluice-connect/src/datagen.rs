//! The datagen source (`io.confluent.kafka.connect.datagen.DatagenConnector`)
//! the ksqlDB quickstart uses: random records of a quickstart's schema
//! (`orders`, `users`, `pageviews`) into `kafka.topic`, one every
//! `max.interval` ms at most (a random share of it), `iterations` of them
//! (then the task fails with datagen's own message, as datagen stops), keyed
//! by the quickstart's key field as a string. Its source offset is datagen's:
//! per `task.id`, the next iteration and the random seed to go on from, so a
//! restarted task continues where it stopped.

use std::time::Duration;

use serde_json::json;

use crate::config::ConnectorConfig;
use crate::data::{Field, Schema, SchemaType, Value};
use crate::error::{ConnectError, Result};
use crate::record::{ConnectRecord, SourceRecord};
use crate::task::{SourceTask, TaskContext};

/// The quickstarts built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quickstart {
    Orders,
    Users,
    Pageviews,
}

impl Quickstart {
    pub fn parse(name: &str) -> Option<Quickstart> {
        match name.trim().to_ascii_lowercase().as_str() {
            "orders" => Some(Quickstart::Orders),
            "users" => Some(Quickstart::Users),
            "pageviews" => Some(Quickstart::Pageviews),
            _ => None,
        }
    }

    fn schema(self) -> Schema {
        let long = || Schema::of(SchemaType::Int64);
        let string = || Schema::of(SchemaType::String);
        match self {
            Quickstart::Orders => Schema::structure(vec![
                Field::new("ordertime", long()),
                Field::new("orderid", Schema::of(SchemaType::Int32)),
                Field::new("itemid", string()),
                Field::new("orderunits", Schema::of(SchemaType::Float64)),
                Field::new(
                    "address",
                    Schema::structure(vec![
                        Field::new("city", string()),
                        Field::new("state", string()),
                        Field::new("zipcode", long()),
                    ])
                    .named("ksql.address"),
                ),
            ])
            .named("ksql.orders"),
            Quickstart::Users => Schema::structure(vec![
                Field::new("registertime", long()),
                Field::new("userid", string()),
                Field::new("regionid", string()),
                Field::new("gender", string()),
            ])
            .named("ksql.users"),
            Quickstart::Pageviews => Schema::structure(vec![
                Field::new("viewtime", long()),
                Field::new("userid", string()),
                Field::new("pageid", string()),
            ])
            .named("ksql.pageviews"),
        }
    }

    fn key_field(self) -> &'static str {
        match self {
            Quickstart::Orders => "orderid",
            Quickstart::Users => "userid",
            Quickstart::Pageviews => "viewtime",
        }
    }

    /// The record of iteration `n`.
    fn generate(self, rng: &mut fastrand::Rng, n: i64) -> Value {
        // the quickstarts' time ranges (2017-02 .. 2018-02)
        let time =
            |rng: &mut fastrand::Rng| Value::Int(rng.i64(1_487_715_775_521..=1_519_273_364_600));
        let tagged = |rng: &mut fastrand::Rng, prefix: &str, max: u32| {
            Value::String(format!("{prefix}{}", rng.u32(1..=max)))
        };
        let s = |v: &str| crate::data::Name::from(v);
        match self {
            Quickstart::Orders => Value::Struct(vec![
                (s("ordertime"), time(rng)),
                (s("orderid"), Value::Int(n)),
                (s("itemid"), tagged(rng, "Item_", 999)),
                (s("orderunits"), Value::Float(0.1 + rng.f64() * 9.9)),
                (
                    s("address"),
                    Value::Struct(vec![
                        (s("city"), tagged(rng, "City_", 99)),
                        (s("state"), tagged(rng, "State_", 99)),
                        (s("zipcode"), Value::Int(rng.i64(10_000..=99_999))),
                    ]),
                ),
            ]),
            Quickstart::Users => Value::Struct(vec![
                (s("registertime"), time(rng)),
                (s("userid"), tagged(rng, "User_", 9)),
                (s("regionid"), tagged(rng, "Region_", 9)),
                (
                    s("gender"),
                    Value::String(["MALE", "FEMALE", "OTHER"][rng.usize(0..3)].to_string()),
                ),
            ]),
            Quickstart::Pageviews => Value::Struct(vec![
                (s("viewtime"), Value::Int(1 + 10 * n)),
                (s("userid"), tagged(rng, "User_", 9)),
                (s("pageid"), tagged(rng, "Page_", 99)),
            ]),
        }
    }
}

/// Checks a datagen configuration.
pub fn validate(config: &ConnectorConfig) -> Result<()> {
    config.required("kafka.topic")?;
    let name = config.required("quickstart").map_err(|_| {
        ConnectError::config(
            "quickstart",
            "Sluice's datagen needs a quickstart (orders, users or pageviews)",
        )
    })?;
    if Quickstart::parse(name).is_none() {
        return Err(ConnectError::config(
            "quickstart",
            format!("Invalid value {name} for configuration quickstart: Sluice's datagen knows the quickstarts orders, users and pageviews"),
        ));
    }
    config.long("max.interval", 500)?;
    config.long("iterations", -1)?;
    config.long("random.seed", 0)?;
    Ok(())
}

pub struct DatagenTask {
    topic: String,
    quickstart: Quickstart,
    schema: std::sync::Arc<Schema>,
    key_schema: std::sync::Arc<Schema>,
    max_interval: u64,
    iterations: i64,
    task_id: i64,
    generation: i64,
    count: i64,
    rng: fastrand::Rng,
}

impl DatagenTask {
    pub fn start(config: &ConnectorConfig, task_id: usize, ctx: &TaskContext) -> Result<Self> {
        validate(config)?;
        let quickstart = Quickstart::parse(config.required("quickstart")?).expect("validated");
        let mut rng = match config.get("random.seed") {
            // each task goes on from its own seed, as datagen advances it per task
            Some(_) => {
                let mut r = fastrand::Rng::with_seed(config.long("random.seed", 0)? as u64);
                for _ in 0..task_id {
                    r = fastrand::Rng::with_seed(r.u64(..));
                }
                r
            }
            None => fastrand::Rng::new(),
        };
        let (mut generation, mut count) = (0, 0);
        if let Some(offset) = ctx.offset(&json!({"task.id": task_id})) {
            generation = offset["task.generation"].as_i64().unwrap_or(0);
            count = offset["current.iteration"].as_i64().unwrap_or(0);
            if let Some(seed) = offset["random.seed"].as_i64() {
                rng = fastrand::Rng::with_seed(seed as u64);
            }
        }
        Ok(DatagenTask {
            topic: config.required("kafka.topic")?.to_string(),
            quickstart,
            schema: std::sync::Arc::new(quickstart.schema()),
            key_schema: std::sync::Arc::new(Schema::of(SchemaType::String)),
            max_interval: config.long("max.interval", 500)?.max(0) as u64,
            iterations: config.long("iterations", -1)?,
            task_id: task_id as i64,
            generation,
            count,
            rng,
        })
    }
}

impl SourceTask for DatagenTask {
    fn poll(&mut self, ctx: &TaskContext) -> Result<Vec<SourceRecord>> {
        let mut out = Vec::new();
        let started = std::time::Instant::now();
        // a batch: up to 1,000 records or 100 ms of them
        while out.len() < 1_000 && started.elapsed() < Duration::from_millis(100) {
            if self.iterations > 0 && self.count >= self.iterations {
                if out.is_empty() {
                    return Err(ConnectError::Finished(format!(
                        "Stopping connector: generated the configured {} number of messages",
                        self.count
                    )));
                }
                break;
            }
            if self.max_interval > 0 {
                let pause = Duration::from_millis(self.rng.u64(0..self.max_interval));
                if !ctx.sleep(pause) {
                    break;
                }
            }
            let value = self.quickstart.generate(&mut self.rng, self.count);
            let key_field = self.quickstart.key_field();
            let key = value.get(key_field).map_or(String::new(), Value::display);
            // re-seeded per record so the offset holds the seed to go on from
            let seed = self.rng.u64(..) as i64;
            self.rng = fastrand::Rng::with_seed(seed as u64);
            let mut record = ConnectRecord::new(&self.topic, Some(self.schema.clone()), value)
                .with_key(Some(self.key_schema.clone()), Value::String(key));
            for (name, v) in [
                ("task.generation", self.generation),
                ("task.id", self.task_id),
                ("current.iteration", self.count),
            ] {
                record.headers.push(sluice_log::Header::new(
                    name,
                    Some(v.to_be_bytes().to_vec()),
                ));
            }
            out.push(SourceRecord {
                partition: std::sync::Arc::new(json!({"task.id": self.task_id})),
                offset: json!({
                    "task.generation": self.generation + 1,
                    "current.iteration": self.count + 1,
                    "random.seed": seed,
                }),
                record,
            });
            self.count += 1;
            if self.max_interval > 0 {
                break;
            }
        }
        Ok(out)
    }
}
