//! Confluent Schema Registry's REST API over a [`Registry`]: the same paths,
//! JSON shapes, content type and error bodies, so Confluent's clients and
//! serializers work unchanged. Handlers parse the request, call the store on a
//! blocking thread (it writes to the log) and shape the answer; errors become
//! responses in one place, [`RegistryError`]'s `IntoResponse`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sluice_formats::{RegisteredSchema, SchemaReference, SchemaType};

use crate::compat::CompatibilityLevel;
use crate::error::RegistryError;
use crate::schema::{parse_type, type_name};
use crate::store::{Registry, SubjectVersion, VersionSpec};

/// Confluent's media type, used for every answer.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Shared = Arc<Registry>;
type Params = Query<HashMap<String, String>>;
type Answer = Result<Reply, RegistryError>;

/// A successful answer: JSON, or a raw schema's text.
pub struct Reply(String);

impl Reply {
    fn json(value: Value) -> Answer {
        Ok(Reply(value.to_string()))
    }
}

fn with_content_type(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        with_content_type(StatusCode::OK, self.0)
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"error_code": self.code(), "message": self.to_string()});
        with_content_type(status, body.to_string())
    }
}

/// The REST API over `registry`.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/", get(|| async { Reply::json(json!({})) }))
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(version_schema),
        )
        .route(
            "/schemas/types",
            get(|| async { Reply::json(json!(["JSON", "PROTOBUF", "AVRO"])) }),
        )
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(raw_schema_by_id))
        .route("/schemas/ids/{id}/versions", get(id_versions))
        .route("/schemas/ids/{id}/subjects", get(id_subjects))
        .route("/config", get(global_config).put(set_global_config))
        .route(
            "/config/{subject}",
            get(subject_config)
                .put(set_subject_config)
                .delete(delete_subject_config),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility),
        )
        .fallback(|| async {
            with_content_type(
                StatusCode::NOT_FOUND,
                json!({"error_code": 404, "message": "HTTP 404 Not Found"}).to_string(),
            )
        })
        .with_state(registry)
}

/// Runs a store operation on a blocking thread: it may wait on the log.
async fn run<T, F>(registry: &Shared, f: F) -> Result<T, RegistryError>
where
    T: Send + 'static,
    F: FnOnce(&Registry) -> Result<T, RegistryError> + Send + 'static,
{
    let registry = registry.clone();
    tokio::task::spawn_blocking(move || f(&registry))
        .await
        .map_err(|e| RegistryError::Store(e.to_string()))?
}

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The schema in a register, lookup or compatibility request. Other fields
/// clients send (`metadata`, `ruleSet`, `id`, ...) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaBody {
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<crate::schema::ReferenceJson>>,
}

/// Any content type is accepted: Confluent's, `application/json`, or
/// `application/octet-stream` (what some clients send).
fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, RegistryError> {
    serde_json::from_slice(body)
        .map_err(|e| RegistryError::BadRequest(format!("Invalid request: {e}")))
}

fn schema_from(body: &Bytes) -> Result<RegisteredSchema, RegistryError> {
    let b: SchemaBody = parse_body(body)?;
    Ok(RegisteredSchema {
        schema_type: parse_type(b.schema_type.as_deref().unwrap_or("AVRO"))?,
        schema: b.schema,
        references: b
            .references
            .unwrap_or_default()
            .into_iter()
            .map(SchemaReference::from)
            .collect(),
    })
}

/// `schemaType` (when not AVRO) and `references` (when any), as Confluent adds them.
fn schema_fields(out: &mut Map<String, Value>, schema: &RegisteredSchema) {
    if schema.schema_type != SchemaType::Avro {
        out.insert("schemaType".into(), json!(type_name(schema.schema_type)));
    }
    if !schema.references.is_empty() {
        let refs: Vec<Value> = schema
            .references
            .iter()
            .map(|r| json!({"name": r.name, "subject": r.subject, "version": r.version}))
            .collect();
        out.insert("references".into(), Value::Array(refs));
    }
}

fn version_json(v: &SubjectVersion) -> Value {
    let mut out = Map::new();
    out.insert("subject".into(), json!(v.subject));
    out.insert("version".into(), json!(v.version));
    out.insert("id".into(), json!(v.id));
    schema_fields(&mut out, &v.schema);
    out.insert("schema".into(), json!(v.schema.schema));
    Value::Object(out)
}

fn schema_id(text: &str) -> Result<i32, RegistryError> {
    text.parse()
        .map_err(|_| RegistryError::SchemaIdNotFound(text.to_string()))
}

async fn subjects(State(r): State<Shared>, Query(q): Params) -> Answer {
    let deleted = flag(&q, "deleted");
    Reply::json(json!(run(&r, move |r| r.subjects(deleted)).await?))
}

async fn versions(State(r): State<Shared>, Path(s): Path<String>, Query(q): Params) -> Answer {
    let deleted = flag(&q, "deleted");
    Reply::json(json!(run(&r, move |r| r.versions(&s, deleted)).await?))
}

async fn version(
    State(r): State<Shared>,
    Path((s, v)): Path<(String, String)>,
    Query(q): Params,
) -> Answer {
    let (spec, deleted) = (VersionSpec::parse(&v)?, flag(&q, "deleted"));
    Reply::json(version_json(
        &run(&r, move |r| r.version(&s, spec, deleted)).await?,
    ))
}

async fn version_schema(
    State(r): State<Shared>,
    Path((s, v)): Path<(String, String)>,
    Query(q): Params,
) -> Answer {
    let (spec, deleted) = (VersionSpec::parse(&v)?, flag(&q, "deleted"));
    Ok(Reply(
        run(&r, move |r| r.version(&s, spec, deleted))
            .await?
            .schema
            .schema,
    ))
}

async fn register(State(r): State<Shared>, Path(s): Path<String>, body: Bytes) -> Answer {
    let schema = schema_from(&body)?;
    Reply::json(json!({"id": run(&r, move |r| r.register(&s, &schema)).await?}))
}

async fn lookup(
    State(r): State<Shared>,
    Path(s): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Answer {
    let (schema, deleted) = (schema_from(&body)?, flag(&q, "deleted"));
    Reply::json(version_json(
        &run(&r, move |r| r.lookup(&s, &schema, deleted)).await?,
    ))
}

async fn delete_subject(
    State(r): State<Shared>,
    Path(s): Path<String>,
    Query(q): Params,
) -> Answer {
    let permanent = flag(&q, "permanent");
    Reply::json(json!(
        run(&r, move |r| r.delete_subject(&s, permanent)).await?
    ))
}

async fn delete_version(
    State(r): State<Shared>,
    Path((s, v)): Path<(String, String)>,
    Query(q): Params,
) -> Answer {
    let (spec, permanent) = (VersionSpec::parse(&v)?, flag(&q, "permanent"));
    Reply::json(json!(
        run(&r, move |r| r.delete_version(&s, spec, permanent)).await?
    ))
}

async fn schema_by_id(State(r): State<Shared>, Path(id): Path<String>) -> Answer {
    let id = schema_id(&id)?;
    let schema = run(&r, move |r| r.schema(id)).await?;
    let mut out = Map::new();
    out.insert("schema".into(), json!(schema.schema));
    schema_fields(&mut out, &schema);
    Reply::json(Value::Object(out))
}

async fn raw_schema_by_id(State(r): State<Shared>, Path(id): Path<String>) -> Answer {
    let id = schema_id(&id)?;
    Ok(Reply(run(&r, move |r| r.schema(id)).await?.schema))
}

async fn id_versions(State(r): State<Shared>, Path(id): Path<String>, Query(q): Params) -> Answer {
    let (id, deleted) = (schema_id(&id)?, flag(&q, "deleted"));
    let usages = run(&r, move |r| r.usages(id, deleted)).await?;
    let out: Vec<Value> = usages
        .into_iter()
        .map(|(subject, version)| json!({"subject": subject, "version": version}))
        .collect();
    Reply::json(Value::Array(out))
}

async fn id_subjects(State(r): State<Shared>, Path(id): Path<String>, Query(q): Params) -> Answer {
    let (id, deleted) = (schema_id(&id)?, flag(&q, "deleted"));
    let mut subjects: Vec<String> = run(&r, move |r| r.usages(id, deleted))
        .await?
        .into_iter()
        .map(|(subject, _)| subject)
        .collect();
    subjects.dedup();
    Reply::json(json!(subjects))
}

#[derive(Deserialize)]
struct ConfigBody {
    compatibility: String,
}

fn level_from(body: &Bytes) -> Result<CompatibilityLevel, RegistryError> {
    CompatibilityLevel::parse(&parse_body::<ConfigBody>(body)?.compatibility)
}

async fn global_config(State(r): State<Shared>) -> Answer {
    let level = run(&r, |r| r.config(None, true)).await?;
    Reply::json(json!({"compatibilityLevel": level.name()}))
}

async fn set_global_config(State(r): State<Shared>, body: Bytes) -> Answer {
    let level = level_from(&body)?;
    run(&r, move |r| r.set_config(None, level)).await?;
    Reply::json(json!({"compatibility": level.name()}))
}

async fn subject_config(
    State(r): State<Shared>,
    Path(s): Path<String>,
    Query(q): Params,
) -> Answer {
    let default_to_global = flag(&q, "defaultToGlobal");
    let level = run(&r, move |r| r.config(Some(&s), default_to_global)).await?;
    Reply::json(json!({"compatibilityLevel": level.name()}))
}

async fn set_subject_config(State(r): State<Shared>, Path(s): Path<String>, body: Bytes) -> Answer {
    let level = level_from(&body)?;
    run(&r, move |r| r.set_config(Some(&s), level)).await?;
    Reply::json(json!({"compatibility": level.name()}))
}

async fn delete_subject_config(State(r): State<Shared>, Path(s): Path<String>) -> Answer {
    let level = run(&r, move |r| r.delete_config(&s)).await?;
    Reply::json(json!({"compatibilityLevel": level.name()}))
}

fn compatibility_reply(messages: Vec<String>, verbose: bool) -> Answer {
    let mut out = Map::new();
    out.insert("is_compatible".into(), json!(messages.is_empty()));
    if verbose {
        out.insert("messages".into(), json!(messages));
    }
    Reply::json(Value::Object(out))
}

async fn compatibility(
    State(r): State<Shared>,
    Path((s, v)): Path<(String, String)>,
    Query(q): Params,
    body: Bytes,
) -> Answer {
    let (spec, schema) = (VersionSpec::parse(&v)?, schema_from(&body)?);
    let messages = run(&r, move |r| r.test_compatibility(&s, Some(spec), &schema)).await?;
    compatibility_reply(messages, flag(&q, "verbose"))
}

async fn compatibility_all(
    State(r): State<Shared>,
    Path(s): Path<String>,
    Query(q): Params,
    body: Bytes,
) -> Answer {
    let schema = schema_from(&body)?;
    let messages = run(&r, move |r| r.test_compatibility(&s, None, &schema)).await?;
    compatibility_reply(messages, flag(&q, "verbose"))
}
