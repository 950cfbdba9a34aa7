//! Rendering engine results as text for a terminal (`sluice run`); the REPL renders
//! ksqlDB entities with [`crate::entity_render`], on the same tables.

use comfy_table::{presets::ASCII_FULL, Table};
use sluice_engine::StatementResult;

/// An ASCII table with a header row.
pub fn grid(header: Vec<String>, rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(ASCII_FULL);
    t.set_header(header);
    for r in rows {
        t.add_row(r);
    }
    t.to_string()
}

/// A cell as ksqlDB's CLI prints it: strings bare, everything else as JSON.
pub fn cell(array: &dyn arrow::array::Array, row: usize) -> String {
    match sluice_formats::arrow_value_to_json(array, row) {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

pub fn render(result: &StatementResult) -> String {
    match result {
        StatementResult::Ack { message } => message.clone(),
        StatementResult::QueryStarted { message, .. } => message.clone(),
        StatementResult::Text(t) => t.clone(),
        StatementResult::Inserted => String::new(),
        other @ (StatementResult::ConnectorCreated(_)
        | StatementResult::ConnectorDropped { .. }
        | StatementResult::Warning { .. }) => other.connector_message().unwrap_or_default(),
        StatementResult::Asserted(a) => a.message(),
        StatementResult::Listing(l) => render(&l.to_table()),
        StatementResult::Table {
            title,
            header,
            rows,
        } => {
            format!("{title}\n{}", grid(header.clone(), rows.clone()))
        }
        StatementResult::Rows { schema, batches } => {
            let header = schema.fields().iter().map(|f| f.name().clone()).collect();
            let mut rows = Vec::new();
            for b in batches {
                for r in 0..b.num_rows() {
                    rows.push(b.columns().iter().map(|c| cell(c.as_ref(), r)).collect());
                }
            }
            let n = rows.len();
            format!("{}\n{n} row(s)", grid(header, rows))
        }
    }
}
