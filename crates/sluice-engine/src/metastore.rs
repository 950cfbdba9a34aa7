//! The metastore: every stream, table, custom type and user function the
//! engine knows.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion_expr::ScalarUDF;
use sluice_planner::catalog::{Catalog, SourceDef};
use sluice_planner::types::TypeResolver;
use sluice_sql::{SourceKind, SqlType};

pub use crate::functions::{Callable, UserFunction};
use sluice_functions::aggregate::AggregateFunction;

#[derive(Default, Clone)]
pub struct MetaStore {
    sources: BTreeMap<String, Arc<SourceDef>>,
    types: BTreeMap<String, SqlType>,
    functions: BTreeMap<String, Arc<UserFunction>>,
}

impl MetaStore {
    pub fn put_source(&mut self, def: SourceDef) -> Arc<SourceDef> {
        let def = Arc::new(def);
        self.sources.insert(def.name.clone(), def.clone());
        def
    }
    pub fn remove_source(&mut self, name: &str) -> Option<Arc<SourceDef>> {
        self.sources.remove(name)
    }
    pub fn sources(&self) -> impl Iterator<Item = &Arc<SourceDef>> {
        self.sources.values()
    }
    pub fn put_type(&mut self, name: String, ty: SqlType) {
        self.types.insert(name, ty);
    }
    pub fn remove_type(&mut self, name: &str) -> Option<SqlType> {
        self.types.remove(name)
    }
    pub fn types(&self) -> impl Iterator<Item = (&String, &SqlType)> {
        self.types.iter()
    }
    /// Adds or replaces a user function; gives back the one replaced.
    pub fn put_function(&mut self, f: UserFunction) -> Option<Arc<UserFunction>> {
        self.functions.insert(f.name.clone(), Arc::new(f))
    }
    pub fn remove_function(&mut self, name: &str) -> Option<Arc<UserFunction>> {
        self.functions.remove(name)
    }
    pub fn function(&self, name: &str) -> Option<&Arc<UserFunction>> {
        self.functions.get(name)
    }
    pub fn functions(&self) -> impl Iterator<Item = &Arc<UserFunction>> {
        self.functions.values()
    }
}

impl TypeResolver for MetaStore {
    fn custom_type(&self, name: &str) -> Option<SqlType> {
        self.types.get(name).cloned()
    }
    fn user_function(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        match &self.functions.get(name)?.callable {
            Callable::Scalar {
                udf, table: false, ..
            } => Some(udf.clone()),
            _ => None,
        }
    }
    fn user_table_function(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        match &self.functions.get(name)?.callable {
            Callable::Scalar {
                udf, table: true, ..
            } => Some(udf.clone()),
            _ => None,
        }
    }
    fn user_aggregate(&self, name: &str) -> Option<Arc<dyn AggregateFunction>> {
        match &self.functions.get(name)?.callable {
            Callable::Aggregate(a) => Some(a.clone()),
            _ => None,
        }
    }
}

impl Catalog for MetaStore {
    fn source(&self, name: &str) -> Option<Arc<SourceDef>> {
        self.sources.get(name).cloned()
    }

    fn alternatives(&self, name: &str, kind: Option<SourceKind>) -> String {
        let matched: Vec<&Arc<SourceDef>> = self
            .sources
            .values()
            .filter(|d| d.name.eq_ignore_ascii_case(name) && kind.is_none_or(|k| k == d.kind))
            .collect();
        match matched.as_slice() {
            [] => String::new(),
            [one] if one.name.chars().any(char::is_lowercase) => format!(
                "\nDid you mean \"{}\"? Hint: wrap the source name in double quotes to make it case-sensitive.",
                one.name
            ),
            [one] => format!(
                "\nDid you mean {}? Hint: try removing double quotes from the source name.",
                one.name
            ),
            many => {
                let n = many.len();
                let mut hint = String::from("\nDid you mean ");
                for (i, d) in many.iter().enumerate() {
                    let punctuation = match i {
                        i if i + 2 < n => ", ",
                        0 if n == 2 => " or ",
                        i if i + 2 == n => ", or ",
                        _ => "? ",
                    };
                    hint.push_str(&format!(
                        "\"{}\" ({}){punctuation}",
                        d.name,
                        crate::kind_name(d.kind).to_uppercase()
                    ));
                }
                hint.push_str("Hint: wrap the source name in double quotes to make it case-sensitive.");
                hint
            }
        }
    }
}

/// What a statement is planned against: the metastore, with the function
/// settings of the session that runs it.
pub(crate) struct Planning<'a> {
    pub store: &'a MetaStore,
    pub aggregates: sluice_functions::AggregateConfig,
}

impl TypeResolver for Planning<'_> {
    fn custom_type(&self, name: &str) -> Option<SqlType> {
        self.store.custom_type(name)
    }
    fn user_function(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.store.user_function(name)
    }
    fn user_table_function(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.store.user_table_function(name)
    }
    fn user_aggregate(&self, name: &str) -> Option<Arc<dyn AggregateFunction>> {
        self.store.user_aggregate(name)
    }
}

impl Catalog for Planning<'_> {
    fn source(&self, name: &str) -> Option<Arc<SourceDef>> {
        self.store.source(name)
    }

    fn aggregate_config(&self) -> sluice_functions::AggregateConfig {
        self.aggregates
    }

    fn alternatives(&self, name: &str, kind: Option<SourceKind>) -> String {
        self.store.alternatives(name, kind)
    }
}
