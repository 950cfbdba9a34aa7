//! ksqlDB's scalar function catalogue as DataFusion UDFs.
//!
//! This crate owns every ksqlDB *scalar* function (strings, maths, dates and
//! times, URLs, JSON, collections, bytes and null handling) implemented as a
//! DataFusion [`ScalarUDF`](datafusion_expr::ScalarUDF), the aggregates
//! (`aggregate`), and user functions (`user`: `CREATE FUNCTION`'s overloads
//! resolved as the built-ins are, over a body someone else compiles). Lambda
//! and table functions live in the planner.
//!
//! Every function is declared once, with its ksqlDB signatures written as text
//! (`"SUBSTRING(str STRING, pos INT) => STRING"`). Those texts drive both the
//! documentation returned by [`describe`] and the type checking done in
//! `return_type`, which applies ksqlDB's implicit widening
//! (`INT → BIGINT → DECIMAL → DOUBLE`) and rejects other calls with ksqlDB's
//! message (`Function 'substring' does not accept parameters (INTEGER, STRING).`).
//!
//! Row-level failures (unparsable dates, bad encodings, ...) yield NULL, as in
//! ksqlDB, and never fail the batch.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use datafusion_expr::ScalarUDF;

pub(crate) use datafusion_common::arrow;

pub mod aggregate;
mod bytes;
mod collections;
mod datetime;
mod def;
mod javafmt;
mod json;
mod math;
mod nulls;
mod regexp;
mod string;
mod url;
pub mod user;
mod util;

#[cfg(test)]
mod testutil;

/// Signatures' text (`NAME(a STRING, b INT...) => STRING`) read into its parts.
pub use def::{param_parts, signature_parts, Param};
/// Java's `Double.toString` and `BigDecimal.toPlainString`, as ksqlDB shows numbers as text.
pub use util::{decimal_string, java_double};

pub use aggregate::{
    aggregate_function, aggregate_function_names, aggregate_function_with_config, AggregateCall,
    AggregateConfig, AggregateFunction,
};

/// Documentation of one function, for `DESCRIBE FUNCTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDoc {
    pub name: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    /// e.g. `"SUBSTRING(str STRING, pos INT, len INT) => STRING"`
    pub signatures: Vec<&'static str>,
}

struct Registry {
    udfs: HashMap<&'static str, Arc<ScalarUDF>>,
    docs: HashMap<&'static str, FunctionDoc>,
    names: Vec<&'static str>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut defs = Vec::new();
        string::register(&mut defs);
        regexp::register(&mut defs);
        bytes::register(&mut defs);
        math::register(&mut defs);
        nulls::register(&mut defs);
        datetime::register(&mut defs);
        url::register(&mut defs);
        json::register(&mut defs);
        collections::register(&mut defs);
        let mut udfs = HashMap::new();
        let mut docs = HashMap::new();
        let mut names = Vec::new();
        for d in defs {
            let doc = FunctionDoc {
                name: d.name,
                category: d.category,
                description: d.description,
                signatures: d.signatures.to_vec(),
            };
            names.push(d.name);
            docs.insert(d.name, doc);
            udfs.insert(
                d.name,
                Arc::new(ScalarUDF::new_from_impl(def::KsqlUdf::new(d))),
            );
        }
        names.sort_unstable();
        Registry { udfs, docs, names }
    })
}

/// The UDF implementing the ksqlDB function `name` (case-insensitive).
pub fn scalar_function(name: &str) -> Option<Arc<ScalarUDF>> {
    registry()
        .udfs
        .get(name.to_ascii_uppercase().as_str())
        .cloned()
}

/// Every registered function name (upper case, sorted), for `SHOW FUNCTIONS`.
pub fn function_names() -> Vec<&'static str> {
    registry().names.clone()
}

/// Documentation for `DESCRIBE FUNCTION name` (case-insensitive).
pub fn describe(name: &str) -> Option<FunctionDoc> {
    registry()
        .docs
        .get(name.to_ascii_uppercase().as_str())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        let names = function_names();
        assert!(names.len() > 120, "only {} functions", names.len());
        for n in &names {
            assert!(scalar_function(n).is_some(), "{n}");
            let doc = describe(&n.to_lowercase()).expect("doc");
            assert!(!doc.signatures.is_empty(), "{n}");
            for s in &doc.signatures {
                assert!(s.starts_with(n), "{s} should start with {n}");
            }
        }
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), names.len());
        assert!(scalar_function("no_such_function").is_none());
        assert_eq!(
            scalar_function("substring")
                .map(|f| f.name().to_string())
                .as_deref(),
            Some("SUBSTRING")
        );
    }
}
