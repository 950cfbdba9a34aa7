//! A consumer group's members as its coordinator describes them
//! ([`crate::Log::group_members`] on Kafka): each member's assignment read
//! from the classic consumer protocol's bytes, this process's member found
//! by librdkafka's member id.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

use super::Member;
use crate::{GroupMembers, LogError};

/// `group` as its coordinator describes it now, through `consumer`, this
/// process's member of it.
pub(super) fn describe(
    consumer: &BaseConsumer<Member>,
    group: &str,
) -> Result<GroupMembers, LogError> {
    let failed = |e: KafkaError| LogError::Broker {
        context: format!("describing consumer group '{group}'"),
        message: e.to_string(),
    };
    let me = member_id(consumer);
    // librdkafka lists the groups of every broker it knows before it
    // describes this one: a short wait, the answer kept for a while
    let groups = consumer
        .fetch_group_list(Some(group), MEMBERS_TIMEOUT)
        .map_err(failed)?;
    let described = groups.groups().iter().find(|g| g.name() == group);
    let mut members: Vec<(String, Vec<(String, i32)>)> = described
        .map(|g| g.members())
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let assigned = m.assignment().map(parse_assignment).unwrap_or_default();
            (m.id().to_string(), assigned)
        })
        .collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let me = me.and_then(|me| members.iter().position(|(id, _)| *id == me));
    let members = GroupMembers {
        // a group between generations shows the last one's assignments
        // beside members that have none yet
        settled: me.is_some()
            && described.is_some_and(|g| g.state() == "Stable" && g.protocol_type() == "consumer"),
        me,
        members: members.into_iter().map(|(_, a)| a).collect(),
    };
    Ok(members)
}

/// The member id the group coordinator gave `consumer` (`None` before it
/// joined).
fn member_id(consumer: &BaseConsumer<Member>) -> Option<String> {
    use rdkafka::bindings::{rd_kafka_mem_free, rd_kafka_memberid};
    let rk = consumer.client().native_ptr();
    // SAFETY: `rk` is the live handle of `consumer`; librdkafka returns a
    // NUL-terminated copy (or NULL) that is ours to free with
    // rd_kafka_mem_free, which is done once it is copied.
    unsafe {
        let id = rd_kafka_memberid(rk);
        if id.is_null() {
            return None;
        }
        let text = std::ffi::CStr::from_ptr(id).to_string_lossy().into_owned();
        rd_kafka_mem_free(rk, id.cast());
        (!text.is_empty()).then_some(text)
    }
}

/// How long a group's described members stand for its tasks.
pub(super) const MEMBERS_TTL: Duration = Duration::from_secs(5);
/// How long describing a group may take.
const MEMBERS_TIMEOUT: Duration = Duration::from_secs(2);

/// The `(topic, partition)`s of a classic consumer group member's
/// assignment (Kafka's `ConsumerProtocolAssignment`, versions 0 to 3: a
/// version, then per topic its name and partitions, then user data). An
/// assignment that cannot be read whole, or of a later version, reads as
/// none (its partitions then have no owner, and every server keeps them
/// warm).
fn parse_assignment(bytes: &[u8]) -> Vec<(String, i32)> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        *b = rest;
        Some(head)
    }
    fn int(b: &mut &[u8]) -> Option<i32> {
        Some(i32::from_be_bytes(take(b, 4)?.try_into().ok()?))
    }
    fn parse(mut b: &[u8]) -> Option<Vec<(String, i32)>> {
        let version = i16::from_be_bytes(take(&mut b, 2)?.try_into().ok()?);
        if !(0..=3).contains(&version) {
            return None;
        }
        let mut out = Vec::new();
        for _ in 0..int(&mut b)?.max(0) {
            let len = i16::from_be_bytes(take(&mut b, 2)?.try_into().ok()?).max(0) as usize;
            let topic = String::from_utf8_lossy(take(&mut b, len)?).into_owned();
            for _ in 0..int(&mut b)?.max(0) {
                out.push((topic.clone(), int(&mut b)?));
            }
        }
        Some(out)
    }
    parse(bytes).unwrap_or_default()
}

#[cfg(test)]
mod assignment_tests {
    use super::parse_assignment;

    /// A `ConsumerProtocolAssignment` of `version` with `topics`, then
    /// `user_data` (an int32 length and its bytes).
    fn blob(version: i16, topics: &[(&str, &[i32])], user_data: &[u8]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend((topics.len() as i32).to_be_bytes());
        for (name, partitions) in topics {
            b.extend((name.len() as i16).to_be_bytes());
            b.extend(name.as_bytes());
            b.extend((partitions.len() as i32).to_be_bytes());
            for p in *partitions {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend((user_data.len() as i32).to_be_bytes());
        b.extend(user_data);
        b
    }

    #[test]
    fn assignments_of_versions_0_to_3_are_read_and_others_are_not() {
        let expected = vec![
            ("a".to_string(), 0),
            ("a".to_string(), 2),
            ("bids".to_string(), 1),
        ];
        let topics: &[(&str, &[i32])] = &[("a", &[0, 2]), ("bids", &[1])];
        // librdkafka's (version 0, no user data) and Java's (version 3, some)
        assert_eq!(parse_assignment(&blob(0, topics, &[])), expected);
        assert_eq!(parse_assignment(&blob(3, topics, b"sticky")), expected);
        // cut short, or of a version this does not know: none
        let whole = blob(0, topics, &[]);
        assert!(parse_assignment(&whole[..whole.len() - 7]).is_empty());
        assert!(parse_assignment(&blob(4, topics, &[])).is_empty());
        assert!(parse_assignment(&[]).is_empty());
    }
}
