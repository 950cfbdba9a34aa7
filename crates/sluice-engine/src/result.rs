//! What executing a statement returns: the REPL, REST API and test runner each
//! render these their own way.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

#[derive(Debug, Clone)]
pub enum StatementResult {
    /// A DDL or control statement succeeded ("Stream created", "Variable defined").
    Ack { message: String },
    /// A persistent query was started.
    QueryStarted { query_id: String, message: String },
    /// Rows of a push or pull query (schema: the projection's columns).
    Rows {
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    },
    /// A listing (SHOW/LIST/DESCRIBE): a titled table of text cells.
    Table {
        title: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Free text (EXPLAIN, DESCRIBE FUNCTION).
    Text(String),
}

impl StatementResult {
    pub fn ack(message: impl Into<String>) -> Self {
        StatementResult::Ack {
            message: message.into(),
        }
    }
}
