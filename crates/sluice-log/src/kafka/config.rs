//! Which of Sluice's properties reach the Kafka clients, and how.
//!
//! ksqlDB hands its Kafka clients every property that is not its own: the
//! broker list, `security.protocol`, `sasl.*`, `ssl.*`, and anything prefixed
//! `ksql.streams.` with that prefix removed. librdkafka refuses names it does
//! not know, so only client settings pass; `ksql.*` and Sluice's own names stay
//! behind. The listener's `ssl.*` (the REST port's keystore) share their names
//! with the clients', so bare `ssl.*` reach the clients only when
//! `security.protocol` asks for TLS; `ksql.streams.ssl.*` always do.

use std::collections::BTreeMap;

use rdkafka::config::ClientConfig;

/// Property names (or prefixes, ending in `.`) librdkafka clients accept.
const CLIENT_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "security.protocol",
    "sasl.",
    "ssl.",
    "ssl_",
    "enable.ssl.certificate.verification",
    "client.id",
    "client.rack",
    "socket.",
    "broker.",
    "metadata.",
    "topic.metadata.",
    "api.version.",
    "reconnect.",
    "retry.",
    "request.timeout.ms",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "message.max.bytes",
    "fetch.",
    "queued.",
    "linger.ms",
    "batch.",
    "compression.",
    "acks",
    "max.in.flight",
    "enable.idempotence",
    "debug",
    "log_level",
    "statistics.interval.ms",
];

/// The client settings among `properties`, ksqlDB's way.
pub fn client_properties(properties: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let passes = |name: &str| {
        CLIENT_PROPERTIES
            .iter()
            .any(|p| name == *p || (p.ends_with(['.', '_']) && name.starts_with(p)))
    };
    let tls = properties
        .get("security.protocol")
        .is_some_and(|p| p.to_ascii_uppercase().ends_with("SSL"));
    let mut out = BTreeMap::new();
    for (k, v) in properties {
        if k.starts_with("ssl.") && !tls {
            continue;
        }
        if passes(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    // the streams-prefixed form wins over the bare one
    for (k, v) in properties {
        if let Some(name) = k.strip_prefix("ksql.streams.") {
            if passes(name) {
                out.insert(name.to_string(), v.clone());
            }
        }
    }
    out
}

/// A librdkafka config from the client settings plus `extra` (which win).
pub fn client_config(base: &BTreeMap<String, String>, extra: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in base {
        config.set(k, v);
    }
    // never create a topic by asking for its metadata or producing to it:
    // a missing topic is an error the user should see
    config.set("allow.auto.create.topics", "false");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_client_settings_pass() {
        let got = client_properties(&props(&[
            ("bootstrap.servers", "b:9092"),
            ("ksql.service.id", "x"),
            ("listeners", "http://0.0.0.0:8088"),
            ("sasl.mechanism", "PLAIN"),
            ("ssl.keystore.location", "/rest.pem"),
            ("ksql.streams.fetch.wait.max.ms", "5"),
            ("ksql.streams.num.stream.threads", "4"),
        ]));
        assert_eq!(
            got,
            props(&[
                ("bootstrap.servers", "b:9092"),
                ("sasl.mechanism", "PLAIN"),
                ("fetch.wait.max.ms", "5"),
            ])
        );
    }

    #[test]
    fn ssl_settings_pass_when_the_protocol_uses_tls() {
        let got = client_properties(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("ssl.ca.location", "/ca.pem"),
            ("ksql.streams.ssl.ca.location", "/streams-ca.pem"),
        ]));
        assert_eq!(got.get("ssl.ca.location").unwrap(), "/streams-ca.pem");
        assert_eq!(got.get("security.protocol").unwrap(), "SASL_SSL");
    }
}
