//! Every error the REST API answers with, and the one place they become HTTP
//! responses in ksqlDB's `KsqlErrorMessage` / `KsqlStatementErrorMessage` shapes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sluice_engine::EngineError;

/// ksqlDB's error codes (`io.confluent.ksql.rest.Errors`).
pub mod codes {
    pub const BAD_REQUEST: u32 = 40000;
    pub const BAD_STATEMENT: u32 = 40001;
    pub const QUERY_ENDPOINT: u32 = 40002;
    pub const UNAUTHORIZED: u32 = 40100;
    pub const FORBIDDEN: u32 = 40300;
    pub const NOT_FOUND: u32 = 40400;
    pub const METHOD_NOT_ALLOWED: u32 = 40500;
    pub const PAYLOAD_TOO_LARGE: u32 = 41300;
    pub const SERVER_ERROR: u32 = 50000;
    /// `Errors.ERROR_CODE_ASSERTION_FAILED`.
    pub const ASSERTION_FAILED: u32 = 41700;
    /// `Errors.ERROR_CODE_COMMAND_QUEUE_CATCHUP_TIMEOUT`.
    pub const COMMAND_QUEUE_CATCHUP_TIMEOUT: u32 = 50301;
}

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A statement failed; `entities` are the results of the statements of the same
    /// request that ran before it.
    #[error("{message}")]
    Statement {
        message: String,
        statement: String,
        entities: Vec<Value>,
    },
    /// A SELECT or PRINT sent to `/ksql`.
    #[error("The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT")]
    QueryEndpoint { statement: String },
    /// The request itself is malformed (bad JSON, missing field, ...).
    #[error("{0}")]
    BadRequest(String),
    /// Statements are refused: the server runs a queries file (headless mode).
    #[error("The server is running in headless mode. Interactive use is not supported.")]
    Headless { statement: String },
    #[error("Unauthorized")]
    Unauthorized,
    /// A browser's request from a page of another site (its `Origin`).
    #[error("Requests from pages of other sites are refused (origin {0})")]
    CrossOrigin(String),
    #[error("HTTP 404 Not Found")]
    NotFound,
    #[error("HTTP 405 Method Not Allowed")]
    MethodNotAllowed,
    #[error("Request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Internal(String),
    /// A connector operation Connect refused: its HTTP status and message.
    #[error("{message}")]
    Connect { status: u16, message: String },
    /// The request's `commandSequenceNumber` was not applied here in time
    /// (`ksql.server.command.response.timeout.ms`).
    #[error(
        "Timed out while waiting for a previous command to execute. command sequence number: {0}"
    )]
    CommandCatchUp(i64),
    /// An `ASSERT TOPIC|SCHEMA` that did not hold (ksqlDB's 417).
    #[error("{0}")]
    AssertionFailed(String),
}

impl ApiError {
    /// A failed statement, from the engine's error.
    pub fn statement(err: EngineError, statement: &str, entities: Vec<Value>) -> Self {
        match err {
            EngineError::Log(e) => ApiError::Internal(e.to_string()),
            EngineError::Connect { status, message } => ApiError::Connect { status, message },
            EngineError::AssertionFailed(message) => ApiError::AssertionFailed(message),
            other => ApiError::Statement {
                message: other.to_string(),
                statement: statement.trim().to_string(),
                entities,
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Statement { .. }
            | ApiError::QueryEndpoint { .. }
            | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Headless { .. } => StatusCode::FORBIDDEN,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::CrossOrigin(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::CommandCatchUp(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::AssertionFailed(_) => StatusCode::EXPECTATION_FAILED,
            ApiError::Connect { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    pub fn code(&self) -> u32 {
        match self {
            ApiError::Statement { .. } => codes::BAD_STATEMENT,
            ApiError::QueryEndpoint { .. } => codes::QUERY_ENDPOINT,
            ApiError::BadRequest(_) => codes::BAD_REQUEST,
            ApiError::Headless { .. } => codes::FORBIDDEN,
            ApiError::Unauthorized => codes::UNAUTHORIZED,
            ApiError::CrossOrigin(_) => codes::FORBIDDEN,
            ApiError::NotFound => codes::NOT_FOUND,
            ApiError::MethodNotAllowed => codes::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => codes::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => codes::SERVER_ERROR,
            ApiError::CommandCatchUp(_) => codes::COMMAND_QUEUE_CATCHUP_TIMEOUT,
            ApiError::AssertionFailed(_) => codes::ASSERTION_FAILED,
            // ksqlDB's `Errors.toErrorCode`: the status times 100
            ApiError::Connect { status, .. } => *status as u32 * 100,
        }
    }

    /// The JSON body: `statement_error` when a statement is involved, else
    /// `generic_error`.
    pub fn body(&self) -> Value {
        let message = self.to_string();
        let code = self.code();
        match self {
            ApiError::Statement {
                statement,
                entities,
                ..
            } => json!({
                "@type": "statement_error",
                "error_code": code,
                "message": message,
                "statementText": statement,
                "entities": entities,
            }),
            ApiError::QueryEndpoint { statement } | ApiError::Headless { statement } => json!({
                "@type": "statement_error",
                "error_code": code,
                "message": message,
                "statementText": statement,
                "entities": [],
            }),
            _ => json!({
                "@type": "generic_error",
                "error_code": code,
                "message": message,
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"KsqlServer\""),
            );
        }
        response
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("listener {0} serves HTTPS: set ssl.keystore.location to a PEM file with the server's certificate chain and private key")]
    TlsWithoutKeystore(String),
    #[error("TLS keystore {path}: {message}")]
    Tls { path: String, message: String },
    /// A statement of the queries file failed.
    #[error("{file}: statement {index} at line {line}, column {column} failed: {message}\n  statement: {statement}")]
    QueriesFile {
        file: String,
        index: usize,
        line: u64,
        column: u64,
        statement: String,
        message: String,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}
