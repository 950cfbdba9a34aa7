//! The log side of a REST case, as the QTT runner does it: topics created before the
//! statements, producer schemas registered, inputs written in the formats of the
//! source declared over their topic, and outputs read back the same way.
//!
//! The codecs and topic set-up are the QTT runner's (`crate::codec`).

use std::collections::BTreeMap;

use crate::codec::{decode, input_record, source_for_topic};
use crate::{json_eq, OutputRecord, TestRecord};
use sluice_engine::log::TopicSpec;
use sluice_engine::Engine;

/// Write the inputs, in order, as the source over each topic reads them.
pub fn produce_inputs(engine: &Engine, inputs: &[TestRecord]) -> Result<(), String> {
    let log = engine.log().clone();
    for input in inputs {
        let record = input_record(engine, input)?;
        if !log.topic_exists(&input.topic).map_err(|e| e.to_string())? {
            log.create_topic(&TopicSpec::new(&input.topic, 1))
                .map_err(|e| e.to_string())?;
        }
        log.produce(&input.topic, vec![(None, record)])
            .map_err(|e| format!("Failed to send record to {}: {e}", input.topic))?;
    }
    Ok(())
}

/// ksqlDB's `verifyOutput`: per topic, the first records written match the expected
/// ones (key, value, and timestamp when given).
/// Compare what the expected outputs' topics hold with them, appending every record
/// read to `seen`.
pub fn verify_outputs(
    engine: &Engine,
    outputs: &[TestRecord],
    seen: &mut Vec<OutputRecord>,
) -> Result<(), String> {
    let mut by_topic: BTreeMap<&str, Vec<&TestRecord>> = BTreeMap::new();
    for o in outputs {
        by_topic.entry(o.topic.as_str()).or_default().push(o);
    }
    let log = engine.log();
    for (topic, expected) in by_topic {
        let def = source_for_topic(engine, topic);
        let ends = log.end_offsets(topic).map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        for (p, end) in ends.iter().enumerate() {
            let p = i32::try_from(p).map_err(|e| e.to_string())?;
            let fetched = log.fetch(topic, p, 0, usize::try_from(*end).unwrap_or(0).max(1));
            for stored in fetched.map_err(|e| e.to_string())? {
                let r = &stored.record;
                let (key, value) = (
                    decode(engine.registry(), def.as_deref(), true, r.key.as_deref()),
                    decode(engine.registry(), def.as_deref(), false, r.value.as_deref()),
                );
                seen.push(OutputRecord {
                    topic: topic.to_string(),
                    key: key.clone(),
                    value: value.clone(),
                    timestamp: r.timestamp,
                    window: None,
                    headers: None,
                });
                got.push((key, value, r.timestamp));
            }
        }
        if got.len() < expected.len() {
            return Err(format!(
                "topic {topic}: expected {} records, got {}",
                expected.len(),
                got.len()
            ));
        }
        for (e, (k, v, ts)) in expected.iter().zip(&got) {
            let ts_ok = e.timestamp.is_none_or(|t| t == *ts);
            if !json_eq(&e.key, k) || !json_eq(&e.value, v) || !ts_ok {
                return Err(format!(
                    "topic {topic}: expected <{}, {}> with timestamp={:?} but was <{k}, {v}> with timestamp={ts}",
                    e.key, e.value, e.timestamp
                ));
            }
        }
    }
    Ok(())
}
