//! A query's graph as `EXPLAIN` shows it: the steps data goes through, from
//! its sources to its sink, each with the SQL fragment it comes from. ksqlDB
//! prints the same steps (`SOURCE`, `FILTER`, `PROJECT`, `SINK`...) as its
//! `executionPlan`; the console draws them.

use sluice_sql::{Expr, JoinKind, Query, Relation, SelectItem, SourceKind};

use crate::catalog::Catalog;

/// One step of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// Its index in [`QueryGraph::nodes`].
    pub id: usize,
    /// `SOURCE`, `JOIN`, `FILTER`, `FLAT_MAP`, `AGGREGATE`, `PARTITION_BY`,
    /// `PROJECT` or `SINK`, as ksqlDB names its steps.
    pub kind: &'static str,
    /// What it is, in a few words ("PAGEVIEWS: stream over topic pageviews").
    pub label: String,
    /// The SQL it comes from.
    pub sql: String,
    /// The steps it reads.
    pub inputs: Vec<usize>,
}

/// The steps of a query, sources first, its sink last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryGraph {
    pub nodes: Vec<GraphNode>,
}

/// Where a query's rows go.
pub enum GraphSink<'a> {
    /// `CREATE STREAM|TABLE name AS` or `INSERT INTO name`.
    Source {
        name: &'a str,
        kind: SourceKind,
        topic: &'a str,
    },
    /// A push or pull query's client.
    Client,
}

impl QueryGraph {
    fn push(
        &mut self,
        kind: &'static str,
        label: String,
        sql: String,
        inputs: Vec<usize>,
    ) -> usize {
        let id = self.nodes.len();
        self.nodes.push(GraphNode {
            id,
            kind,
            label,
            sql,
            inputs,
        });
        id
    }

    /// The graph of `query` writing to `sink`; its sources are looked up in
    /// `catalog` (one missing is still drawn, by name).
    pub fn of(query: &Query, sink: GraphSink<'_>, catalog: &dyn Catalog) -> QueryGraph {
        let mut g = QueryGraph::default();
        let mut at = g.relation(&query.from, catalog);
        if let Some(w) = &query.where_clause {
            at = g.push("FILTER", "WHERE".into(), format!("WHERE {w}"), vec![at]);
        }
        let table_functions: Vec<String> = query
            .select
            .iter()
            .filter_map(|item| match item {
                SelectItem::Expr {
                    expr: e @ Expr::Function { name, .. },
                    ..
                } if is_table_function(name, catalog) => Some(e.to_string()),
                _ => None,
            })
            .collect();
        if !table_functions.is_empty() {
            at = g.push(
                "FLAT_MAP",
                "table functions".into(),
                table_functions.join(", "),
                vec![at],
            );
        }
        if !query.group_by.is_empty() {
            let keys = join_display(&query.group_by);
            let mut sql = format!("GROUP BY {keys}");
            let label = match &query.window {
                Some(w) => {
                    sql = format!("WINDOW {w} {sql}");
                    format!("windowed aggregation by {keys}")
                }
                None => format!("aggregation by {keys}"),
            };
            at = g.push("AGGREGATE", label, sql, vec![at]);
            if let Some(h) = &query.having {
                at = g.push("FILTER", "HAVING".into(), format!("HAVING {h}"), vec![at]);
            }
        }
        if !query.partition_by.is_empty() {
            let keys = join_display(&query.partition_by);
            at = g.push(
                "PARTITION_BY",
                format!("re-keyed by {keys}"),
                format!("PARTITION BY {keys}"),
                vec![at],
            );
        }
        let select: Vec<String> = query.select.iter().map(ToString::to_string).collect();
        at = g.push(
            "PROJECT",
            format!("{} column(s)", select.len()),
            format!("SELECT {}", select.join(", ")),
            vec![at],
        );
        let (label, sql) = match sink {
            GraphSink::Source { name, kind, topic } => (
                format!("{name}: {} over topic {topic}", kind_name(kind)),
                match query.emit {
                    Some(e) => format!("{name} {e}"),
                    None => name.to_string(),
                },
            ),
            GraphSink::Client => (
                "the client".into(),
                match (query.emit, query.limit) {
                    (Some(e), Some(n)) => format!("{e} LIMIT {n}"),
                    (Some(e), None) => e.to_string(),
                    (None, Some(n)) => format!("LIMIT {n}"),
                    (None, None) => "pull query".into(),
                },
            ),
        };
        g.push("SINK", label, sql, vec![at]);
        g
    }

    fn relation(&mut self, relation: &Relation, catalog: &dyn Catalog) -> usize {
        match relation {
            Relation::Source { name, alias, .. } => {
                let label = match catalog.source(&name.value) {
                    Some(def) => format!(
                        "{}: {} over topic {}",
                        def.name,
                        kind_name(def.kind),
                        def.topic
                    ),
                    None => name.value.clone(),
                };
                let sql = match alias {
                    Some(a) => format!("FROM {name} {a}"),
                    None => format!("FROM {name}"),
                };
                self.push("SOURCE", label, sql, vec![])
            }
            Relation::Join { left, joins } => {
                let mut at = self.relation(left, catalog);
                for join in joins {
                    let right = self.relation(&join.right, catalog);
                    let kind = match join.kind {
                        JoinKind::Inner => "INNER",
                        JoinKind::Left => "LEFT",
                        JoinKind::Right => "RIGHT",
                        JoinKind::Full => "FULL OUTER",
                    };
                    let mut sql = format!("{kind} JOIN {}", join.right);
                    if let Some(w) = &join.within {
                        sql.push_str(&format!(" {w}"));
                    }
                    sql.push_str(&format!(" ON {}", join.on));
                    at = self.push(
                        "JOIN",
                        format!("{} join", kind.to_ascii_lowercase()),
                        sql,
                        vec![at, right],
                    );
                }
                at
            }
        }
    }

    /// The steps as ksqlDB's `executionPlan` text: the sink first, each
    /// step's inputs below it, indented.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(last) = self.nodes.last() {
            self.write_text(last.id, 0, &mut out);
        }
        out
    }

    fn write_text(&self, id: usize, depth: usize, out: &mut String) {
        let node = &self.nodes[id];
        out.push_str(&"\t\t".repeat(depth));
        out.push_str(&format!(
            " > [ {} ] | {} | {}\n",
            node.kind, node.label, node.sql
        ));
        for &input in &node.inputs {
            self.write_text(input, depth + 1, out);
        }
    }
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

fn join_display(exprs: &[Expr]) -> String {
    exprs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_table_function(name: &str, catalog: &dyn Catalog) -> bool {
    let upper = name.to_ascii_uppercase();
    crate::table_functions::is_table_function(&upper)
        || catalog.user_table_function(&upper).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::MemoryCatalog;

    fn graph(sql: &str) -> QueryGraph {
        let parsed = sluice_sql::parse(sql).unwrap();
        let sluice_sql::Statement::CreateAsSelect(c) = &parsed[0].statement else {
            panic!("not a CREATE AS SELECT: {sql}");
        };
        let sink = GraphSink::Source {
            name: &c.name.value,
            kind: c.kind,
            topic: "out",
        };
        QueryGraph::of(&c.query, sink, &MemoryCatalog::default())
    }

    #[test]
    fn a_join_then_an_aggregation_reads_both_sources() {
        let g = graph(
            "CREATE TABLE t AS SELECT a.k, COUNT(*) AS n FROM a JOIN b WITHIN 1 HOUR ON a.k = b.k \
             WINDOW TUMBLING (SIZE 1 MINUTE) WHERE a.v > 1 GROUP BY a.k HAVING COUNT(*) > 2;",
        );
        let kinds: Vec<&str> = g.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            [
                "SOURCE",
                "SOURCE",
                "JOIN",
                "FILTER",
                "AGGREGATE",
                "FILTER",
                "PROJECT",
                "SINK"
            ]
        );
        assert_eq!(g.nodes[2].inputs, [0, 1]);
        assert!(
            g.nodes[2].sql.contains("WITHIN 1 HOURS"),
            "{}",
            g.nodes[2].sql
        );
        assert!(
            g.nodes[4].sql.starts_with("WINDOW TUMBLING"),
            "{}",
            g.nodes[4].sql
        );
        assert_eq!(g.nodes[5].sql, "HAVING (COUNT(*) > 2)");
        assert_eq!(g.nodes[7].label, "T: table over topic out");
        // each step's inputs below it, one level deeper
        let text = g.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with(" > [ SINK ]"), "{text}");
        assert!(
            lines[5].starts_with(&format!("{} > [ JOIN ]", "\t".repeat(10))),
            "{text}"
        );
        assert!(
            lines[7].starts_with(&format!("{} > [ SOURCE ] | B", "\t".repeat(12))),
            "{text}"
        );
        assert_eq!(lines.len(), 8, "{text}");
    }

    #[test]
    fn table_functions_and_partition_by_are_steps_of_their_own() {
        let g = graph("CREATE STREAM s AS SELECT k, EXPLODE(xs) AS x FROM src PARTITION BY x;");
        let kinds: Vec<&str> = g.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            ["SOURCE", "FLAT_MAP", "PARTITION_BY", "PROJECT", "SINK"]
        );
        assert_eq!(g.nodes[1].sql, "EXPLODE(XS)");
        assert_eq!(g.nodes[2].sql, "PARTITION BY X");
    }
}
