//! The HTTP client `sluice cli` and `sluice migrations` talk to a server
//! with (ureq): `https://` through rustls, trusting Mozilla's roots or, when
//! a truststore is given (ksqlDB's `ssl.truststore.location`, here a PEM
//! file), its certificates; HTTP basic auth with the user and password given
//! (ksqlDB CLI's `-u`/`-p`, ksql-migrations' `ksql.auth.basic.username` and
//! `password`).

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::Value;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// How to reach a server.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// HTTP basic auth: user and password.
    pub basic_auth: Option<(String, String)>,
    /// A PEM file of the certificates to trust instead of Mozilla's roots.
    pub truststore: Option<PathBuf>,
}

/// A server's REST API, as a client of ksqlDB's sends its requests.
pub struct HttpClient {
    agent: ureq::Agent,
    authorization: Option<String>,
}

/// An answer: its status and its body, read as a whole or as a stream.
pub struct Answer {
    pub status: u16,
    body: ureq::Body,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The whole body as text, however long (ureq's own limit is 10 MB; a
    /// statement's or pull query's answer may be longer).
    pub fn text(mut self) -> Result<String, String> {
        self.body
            .with_config()
            .limit(u64::MAX)
            .read_to_string()
            .map_err(|e| format!("reading the answer: {e}"))
    }

    pub fn json(self) -> Result<Value, String> {
        let text = self.text()?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// The body as it streams in (push queries, PRINT).
    pub fn into_reader(self) -> impl std::io::Read + Send + 'static {
        self.body.into_reader()
    }
}

impl HttpClient {
    /// A client set up as `options` say; an error names what is wrong (an
    /// unreadable truststore, a file without certificates).
    pub fn new(options: &ClientOptions) -> Result<HttpClient, String> {
        let mut config = ureq::Agent::config_builder().http_status_as_error(false);
        if let Some(path) = &options.truststore {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read the truststore {}: {e}", path.display()))?;
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| format!("cannot read the truststore {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "the truststore {} holds no PEM certificate",
                    path.display()
                ));
            }
            config = config.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        Ok(HttpClient {
            agent: config.build().into(),
            authorization: options.basic_auth.as_ref().map(|(user, password)| {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                format!("Basic {token}")
            }),
        })
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<Answer, String> {
        let mut request = self.agent.get(url).header("Accept", KSQL_V1);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        answer(url, request.call())
    }

    /// `POST url` of `body` as ksqlDB's v1 JSON.
    pub fn post(&self, url: &str, body: &Value) -> Result<Answer, String> {
        let mut request = self
            .agent
            .post(url)
            .header("Accept", KSQL_V1)
            .header("Content-Type", KSQL_V1);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        answer(url, request.send(body.to_string()))
    }
}

const KSQL_V1: &str = "application/vnd.ksql.v1+json";

fn answer(
    url: &str,
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, String> {
    let response = response.map_err(|e| format!("Cannot reach {url}: {e}"))?;
    Ok(Answer {
        status: response.status().as_u16(),
        body: response.into_body(),
    })
}
