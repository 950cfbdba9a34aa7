//! Planning GROUP BY / WINDOW / HAVING queries.
//!
//! The input rows (after WHERE) are grouped by the GROUP BY expressions and fed to
//! one accumulator per aggregate call and group. Every change produces a row in the
//! *aggregate layout*: the group key values (`$KEY0`...), the aggregate results
//! (`$AGG0`...), `ROWTIME`, `WINDOWSTART`, `WINDOWEND`. HAVING and the projection are
//! compiled against that layout, so the select list may combine keys and aggregates
//! freely (`f1 * SUM(f2)` only when `f1` is grouped, as ksqlDB requires).

use std::sync::Arc;

mod analysis;

pub use analysis::is_aggregate_query;
use analysis::{contains_aggregate, is_aggregate_call};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_common::ScalarValue;
use sluice_functions::aggregate::{AggregateCall, AggregateFunction};

use sluice_sql::{Emit, Expr, Literal, Query, Relation, SelectItem, WindowSpec};

use crate::catalog::{
    Catalog, ColumnRole, SourceDef, WindowInfo, WindowKind, ROWTIME, WINDOWEND, WINDOWSTART,
};
use crate::expr::{ExprCompiler, PhysExpr, Scope};
use crate::plan::OutputColumn;
use crate::rewrite::{any_node, canonical, replace_expr};
use crate::types::type_name;
use crate::PlanError;

/// One aggregate call: which function, over which input expressions.
#[derive(Clone)]
pub struct AggregateCallPlan {
    pub function: Arc<dyn AggregateFunction>,
    /// Column inputs fed to the accumulator, over the input layout.
    pub inputs: Vec<PhysExpr>,
    pub arg_types: Vec<DataType>,
    pub literal_args: Vec<Option<ScalarValue>>,
    pub return_type: DataType,
    /// `COUNT(*)`: counts rows; the operator feeds a non-null column.
    pub count_star: bool,
}

impl std::fmt::Debug for AggregateCallPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(..) -> {}", self.function.name(), self.return_type)
    }
}

impl AggregateCallPlan {
    pub fn call(&self) -> AggregateCall<'_> {
        AggregateCall {
            arg_types: &self.arg_types,
            literal_args: &self.literal_args,
        }
    }
}

/// Window assignment in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPlan {
    pub kind: WindowKind,
    /// Tumbling/hopping size, or the session gap.
    pub size_ms: i64,
    /// Hopping advance (= size for tumbling).
    pub advance_ms: i64,
    pub grace_ms: i64,
    /// `RETENTION`: how long the window's store keeps it (Kafka Streams'
    /// default: size plus grace).
    pub retention_ms: Option<i64>,
}

/// ksqlDB's default grace period when a window names none (24 hours).
pub const DEFAULT_GRACE_MS: i64 = 24 * 3600 * 1000;

impl WindowPlan {
    fn from_spec(spec: &WindowSpec) -> Result<Self, PlanError> {
        let grace =
            |g: &Option<sluice_sql::Duration>| g.map(|d| d.millis()).unwrap_or(DEFAULT_GRACE_MS);
        let plan = match spec {
            WindowSpec::Tumbling {
                size,
                grace: g,
                retention,
            } => WindowPlan {
                kind: WindowKind::Tumbling,
                size_ms: size.millis(),
                advance_ms: size.millis(),
                grace_ms: grace(g),
                retention_ms: retention.map(|r| r.millis()),
            },
            WindowSpec::Hopping {
                size,
                advance,
                grace: g,
                retention,
            } => WindowPlan {
                kind: WindowKind::Hopping,
                size_ms: size.millis(),
                advance_ms: advance.millis(),
                grace_ms: grace(g),
                retention_ms: retention.map(|r| r.millis()),
            },
            WindowSpec::Session {
                gap,
                grace: g,
                retention,
            } => WindowPlan {
                kind: WindowKind::Session,
                size_ms: gap.millis(),
                advance_ms: gap.millis(),
                grace_ms: grace(g),
                retention_ms: retention.map(|r| r.millis()),
            },
        };
        if plan.size_ms <= 0 || plan.advance_ms <= 0 {
            return Err(PlanError::invalid(
                "Window size and advance must be positive",
            ));
        }
        if plan.kind == WindowKind::Hopping && plan.advance_ms > plan.size_ms {
            return Err(PlanError::invalid(format!(
                "Window advance ({} ms) must not be larger than the window size ({} ms).",
                plan.advance_ms, plan.size_ms
            )));
        }
        Ok(plan)
    }
}

#[derive(Debug, Clone)]
pub struct AggregatePlan {
    pub source: Arc<SourceDef>,
    pub filter: Option<PhysExpr>,
    /// Group key expressions over the input layout.
    pub group_by: Vec<PhysExpr>,
    pub group_types: Vec<DataType>,
    pub aggregates: Vec<AggregateCallPlan>,
    pub window: Option<WindowPlan>,
    /// `$KEY0.., $AGG0.., ROWTIME, WINDOWSTART, WINDOWEND`.
    pub agg_schema: SchemaRef,
    pub having: Option<PhysExpr>,
    /// Over `agg_schema`; key columns first.
    pub columns: Vec<OutputColumn>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
    /// Aggregating a join: the join producing `source`'s rows (every joined
    /// column, as `SELECT *` names them); `source` then describes those rows.
    pub join: Option<Box<crate::join::JoinPlan>>,
}

impl AggregatePlan {
    /// The window the result's keys carry, for the sink's metadata.
    pub fn window_info(&self) -> Option<WindowInfo> {
        self.window.map(|w| WindowInfo {
            kind: w.kind,
            size_ms: (w.kind != WindowKind::Session).then_some(w.size_ms),
        })
    }
}

/// Whether a query aggregates (GROUP BY, WINDOW, or an aggregate call in the projection).
fn column(name: &str) -> Expr {
    Expr::Column {
        qualifier: None,
        name: sluice_sql::Ident::quoted(name),
        pos: Default::default(),
    }
}

pub fn plan_aggregate(
    q: &Query,
    catalog: &dyn Catalog,
    sink: Option<&str>,
) -> Result<AggregatePlan, PlanError> {
    let (name, alias) = match &q.from {
        Relation::Source { name, alias, .. } => (name, alias),
        Relation::Join { .. } => {
            return Err(PlanError::Unsupported(
                "Joins are not supported yet by this version of Sluice.".into(),
            ))
        }
    };
    let source = catalog
        .source(&name.value)
        .ok_or_else(|| PlanError::unknown_source(&name.value, catalog))?;
    let qualifier = alias.as_ref().unwrap_or(name).value.clone();
    let scope = Scope::of_schema(source.row_schema(), Some(&qualifier));
    let input = ExprCompiler::new(scope.clone(), catalog, "GROUP BY");

    // select items (after * expansion)
    let mut items: Vec<(Expr, Option<String>)> = Vec::new();
    for item in &q.select {
        match item {
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                for c in source.key_columns().chain(source.value_columns()) {
                    items.push((
                        Expr::Column {
                            qualifier: Some(sluice_sql::Ident::quoted(&qualifier)),
                            name: sluice_sql::Ident::quoted(&c.name),
                            pos: Default::default(),
                        },
                        Some(c.name.clone()),
                    ));
                }
            }
            SelectItem::StructWildcard(e) => {
                return Err(PlanError::Unsupported(format!(
                    "{e}->* is not supported in aggregate queries by this version of Sluice."
                )))
            }
            SelectItem::Expr { expr, alias } => {
                items.push((expr.clone(), alias.as_ref().map(|a| a.value.clone())))
            }
        }
    }

    analysis::check(q, &items, &scope, sink.is_some(), catalog)?;

    let filter = match &q.where_clause {
        Some(w) => {
            if contains_aggregate(w, catalog) {
                return Err(PlanError::invalid(
                    "Aggregate functions can not be used in WHERE clauses. Use HAVING instead.",
                ));
            }
            Some(crate::plan::compile_where(
                w,
                &scope,
                catalog,
                crate::plan::aggregate_where_error,
            )?)
        }
        None => None,
    };
    if q.emit == Some(Emit::Final) && q.window.is_none() {
        return Err(PlanError::invalid(
            "EMIT FINAL is only supported for windowed aggregations.",
        ));
    }
    // a push query may aggregate a whole stream (one group: a constant key);
    // a persistent one must say what it groups by
    let whole_input = [Expr::Literal(sluice_sql::Literal::Integer(0))];
    let group_by_exprs: &[Expr] = match (q.group_by.is_empty(), sink) {
        (false, _) => &q.group_by,
        (true, None) => &whole_input,
        (true, Some(_)) => {
            // ksqlDB groups such a query by a constant: every SELECT
            // expression reading a column outside its aggregates is ungrouped
            let ungrouped: Vec<String> = items
                .iter()
                .filter(|(e, _)| {
                    let lifted = replace_expr(e, &mut |x| {
                        is_aggregate_call(x, catalog).then_some(Expr::Literal(Literal::Null))
                    });
                    any_node(&lifted, &mut |x| matches!(x, Expr::Column { .. }))
                })
                .map(|(e, _)| unqualified(e).to_string())
                .collect();
            if !ungrouped.is_empty() {
                return Err(non_aggregate_error(&ungrouped));
            }
            return Err(PlanError::invalid(
                "Aggregate query must have a GROUP BY clause (ksqlDB does not aggregate a whole stream into one row).",
            ));
        }
    };
    if !q.partition_by.is_empty() {
        return Err(PlanError::invalid(
            "PARTITION BY cannot be used with GROUP BY.",
        ));
    }

    // group keys
    let mut group_by = Vec::new();
    let mut group_types = Vec::new();
    let mut group_canon = Vec::new();
    for g in group_by_exprs {
        let c = input.compile(g)?;
        if crate::types::contains_map(&c.ty) {
            return Err(crate::types::map_key_error(&g.to_string(), &c.ty));
        }
        let canon = canonical(g, &scope);
        if group_canon.contains(&canon) {
            continue;
        }
        group_canon.push(canon);
        group_by.push(c.expr);
        group_types.push(c.ty);
    }

    // aggregate calls, deduplicated, replaced by $AGGi
    let mut aggregates: Vec<AggregateCallPlan> = Vec::new();
    let mut agg_canon: Vec<Expr> = Vec::new();
    let mut agg_error: Option<PlanError> = None;
    // each as ksqlDB's messages show it (`SUM(VALUE)`)
    let mut agg_text: Vec<String> = Vec::new();
    let mut lift = |e: &Expr| -> Expr {
        replace_expr(e, &mut |x| {
            if !is_aggregate_call(x, catalog) {
                return None;
            }
            let canon = canonical(x, &scope);
            if let Some(i) = agg_canon.iter().position(|c| *c == canon) {
                return Some(column(&format!("$AGG{i}")));
            }
            match plan_call(x, &input, catalog.aggregate_config()) {
                Ok(call) => {
                    aggregates.push(call);
                    agg_text.push(unqualified(x).to_string());
                    agg_canon.push(canon);
                    Some(column(&format!("$AGG{}", aggregates.len() - 1)))
                }
                Err(e) => {
                    agg_error.get_or_insert(e);
                    None
                }
            }
        })
    };
    if source.value_format.name == "KAFKA" && sink.is_some() {
        return Err(PlanError::invalid(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
            source.name
        )));
    }
    let lifted_items: Vec<Expr> = items.iter().map(|(e, _)| lift(e)).collect();
    let lifted_having = q.having.as_ref().map(&mut lift);
    if let Some(e) = agg_error {
        return Err(e);
    }
    // the aggregation's state goes through the source's value format, as
    // ksqlDB's intermediate topics do: DELIMITED holds no STRUCT, ARRAY or MAP
    if source.value_format.name == "DELIMITED"
        && aggregates.iter().any(|a| a.function.structured_state())
    {
        return Err(PlanError::invalid(
            "One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.",
        ));
    }
    if source.kind == sluice_sql::SourceKind::Table {
        // in the order the query calls them, each once (ksqlDB's SchemaKGroupedTable)
        let mut names: Vec<String> = Vec::new();
        for a in aggregates
            .iter()
            .filter(|a| !a.function.supports_table(&a.call()))
        {
            let name = a.function.name().to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if !names.is_empty() {
            let list = crate::english_list(&names, "and");
            return Err(PlanError::invalid(format!(
                "The aggregation function{} {list} cannot be applied to a table source, only to a stream source.",
                if names.len() > 1 { "s" } else { "" }
            )));
        }
    }

    // group expressions replaced by $KEYi; anything else left is not grouped
    let window = q.window.as_ref().map(WindowPlan::from_spec).transpose()?;
    let key_replace = |e: &Expr| -> Expr {
        replace_expr(e, &mut |x| {
            let canon = canonical(x, &scope);
            group_canon
                .iter()
                .position(|g| *g == canon)
                .map(|i| column(&format!("$KEY{i}")))
        })
    };
    let mut fields: Vec<Field> = Vec::new();
    for (i, t) in group_types.iter().enumerate() {
        fields.push(Field::new(format!("$KEY{i}"), t.clone(), true));
    }
    for (i, a) in aggregates.iter().enumerate() {
        fields.push(Field::new(format!("$AGG{i}"), a.return_type.clone(), true));
    }
    fields.push(Field::new(ROWTIME, DataType::Int64, true));
    fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
    fields.push(Field::new(WINDOWEND, DataType::Int64, true));
    let agg_schema = Arc::new(Schema::new(fields));
    let mut agg_scope = Scope::of_schema(agg_schema.clone(), None);
    // $-named fields are internal to ordinary scopes; here they are the point
    agg_scope.columns = agg_schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| window.is_some() || !matches!(f.name().as_str(), WINDOWSTART | WINDOWEND))
        .map(|(index, f)| crate::expr::ScopeColumn {
            // window bounds may be qualified by the source (`T.WINDOWSTART`)
            qualifier: matches!(f.name().as_str(), WINDOWSTART | WINDOWEND | ROWTIME)
                .then(|| qualifier.clone()),
            name: f.name().clone(),
            index,
        })
        .collect();
    let out = ExprCompiler::new(agg_scope, catalog, "SELECT");
    let ungrouped = |e: &Expr| -> Option<String> {
        let mut bad = None;
        any_node(e, &mut |x| {
            if let Expr::Column { name, .. } = x {
                let n = name.value.as_str();
                let ok = n.starts_with("$KEY")
                    || n.starts_with("$AGG")
                    || (window.is_some() && matches!(n, WINDOWSTART | WINDOWEND));
                if !ok && bad.is_none() {
                    bad = Some(x.to_string());
                }
            }
            false
        });
        bad
    };

    let mut names: Vec<String> = items.iter().filter_map(|(_, a)| a.clone()).collect();
    names.extend(source.columns.iter().map(|c| c.name.clone()));
    let mut next_generated = 0usize;
    let mut gen_name = |e: &Expr, names: &mut Vec<String>| -> String {
        if let Expr::Column { name, .. } = e {
            return name.value.clone();
        }
        if let Expr::Dereference { field, .. } = e {
            if !names.contains(&field.value) {
                return field.value.clone();
            }
        }
        loop {
            let n = format!("KSQL_COL_{next_generated}");
            next_generated += 1;
            if !names.contains(&n) {
                names.push(n.clone());
                return n;
            }
        }
    };

    // every SELECT expression reading a column outside its aggregates that
    // is not grouped, named whole, as ksqlDB's AggregateAnalyzer lists them
    let ungrouped_items: Vec<String> = items
        .iter()
        .zip(&lifted_items)
        .filter(|(_, lifted)| ungrouped(&key_replace(lifted)).is_some())
        .map(|((original, _), _)| unqualified(original).to_string())
        .collect();
    if !ungrouped_items.is_empty() {
        return Err(non_aggregate_error(&ungrouped_items));
    }
    let mut key_cols: Vec<Option<OutputColumn>> = vec![None; group_by.len()];
    let mut value_cols = Vec::new();
    let mut missing_from_select = Vec::new();
    for ((original, alias), lifted) in items.iter().zip(&lifted_items) {
        let replaced = key_replace(lifted);
        let name = match alias {
            Some(a) => a.clone(),
            None => gen_name(original, &mut names),
        };
        let c = out.compile(&replaced)?;
        let key_index = match &replaced {
            Expr::Column { name: n, .. } => n
                .value
                .strip_prefix("$KEY")
                .and_then(|i| i.parse::<usize>().ok()),
            _ => None,
        };
        match key_index {
            Some(i) if key_cols[i].is_none() => {
                key_cols[i] = Some(OutputColumn {
                    name,
                    ty: c.ty,
                    expr: c.expr,
                    role: ColumnRole::Key,
                })
            }
            Some(i) => {
                return Err(PlanError::invalid(format!(
                    "The projection contains a key column more than once: `{}` and `{name}`.",
                    key_cols[i]
                        .as_ref()
                        .map(|k| k.name.clone())
                        .unwrap_or_default()
                )))
            }
            None => value_cols.push(OutputColumn {
                name,
                ty: c.ty,
                expr: c.expr,
                role: ColumnRole::Value,
            }),
        }
    }
    for (i, k) in key_cols.iter().enumerate() {
        if k.is_none() {
            missing_from_select.push(group_by_exprs[i].to_string());
        }
    }
    if !missing_from_select.is_empty() {
        if let Some(sink) = sink {
            return Err(crate::keys_not_included(
                sink,
                "grouping expression",
                &missing_from_select,
                true,
                false,
            ));
        }
    }
    let having = match lifted_having {
        Some(h) => {
            let replaced = key_replace(&h);
            if let Some(bad) = ungrouped(&replaced) {
                return Err(PlanError::invalid(format!(
                    "Non-aggregate HAVING expression not part of GROUP BY: {bad}"
                )));
            }
            // ksqlDB types HAVING as written, its aggregates by their calls
            let as_written = |text: String| {
                let mut text = text;
                for (i, a) in agg_text.iter().enumerate().rev() {
                    text = text.replace(&format!("`$AGG{i}`"), a);
                }
                for (i, g) in group_by_exprs.iter().enumerate().rev() {
                    text = text.replace(&format!("`$KEY{i}`"), &unqualified(g).to_string());
                }
                text
            };
            let c = out.compile(&replaced).map_err(|e| {
                PlanError::ty(format!(
                    "Error in HAVING expression: {}",
                    as_written(e.to_string())
                ))
            })?;
            if c.ty != DataType::Boolean {
                return Err(PlanError::ty(format!(
                    "Type error in HAVING expression: Should evaluate to boolean but is {} ({}) instead.",
                    as_written(replaced.to_string()),
                    type_name(&c.ty)
                )));
            }
            Some(c.expr)
        }
        None => None,
    };
    let mut columns: Vec<OutputColumn> = key_cols.into_iter().flatten().collect();
    if sink.is_some() {
        if value_cols.is_empty() {
            return Err(PlanError::invalid(
                "The projection contains no value columns.",
            ));
        }
        for v in &value_cols {
            if columns.iter().any(|k| k.name == v.name) {
                return Err(PlanError::invalid(format!(
                    "Duplicate value columns found in schema: `{}` {}",
                    v.name,
                    type_name(&v.ty)
                )));
            }
        }
    }
    columns.extend(value_cols);
    Ok(AggregatePlan {
        source,
        filter,
        group_by,
        group_types,
        aggregates,
        window,
        agg_schema,
        having,
        columns,
        emit: q.emit,
        limit: q.limit,
        join: None,
    })
}

/// An aggregation over a join: the join is planned as `SELECT *` over the
/// joined sources (with the WHERE clause), its rows become a source of their
/// own, and the query's GROUP BY, aggregates and projection are planned over
/// that source with column references renamed as `SELECT *` names the joined
/// columns (`L.A` → `L_A`).
pub fn plan_aggregate_over_join(
    q: &Query,
    catalog: &dyn Catalog,
    sink: Option<&str>,
) -> Result<AggregatePlan, PlanError> {
    use sluice_sql::{Ident, Relation, SelectItem};
    let inner_q = Query {
        select: vec![SelectItem::Wildcard],
        from: q.from.clone(),
        window: None,
        where_clause: q.where_clause.clone(),
        group_by: Vec::new(),
        partition_by: Vec::new(),
        having: None,
        emit: None,
        limit: None,
    };
    let join = crate::join::plan_join(&inner_q, catalog, None)?;
    let name = "$JOINED".to_string();
    let columns = join
        .project
        .columns
        .iter()
        .map(|c| crate::catalog::ColumnDef::new(c.name.clone(), c.ty.clone(), c.role.clone()))
        .collect();
    let first = join.all_sources.first().map(|(d, _)| d.clone());
    let joined = Arc::new(SourceDef {
        name: name.clone(),
        kind: join.result_kind(),
        topic: String::new(),
        key_format: first
            .as_ref()
            .map(|d| d.key_format.clone())
            .unwrap_or_default(),
        value_format: first
            .as_ref()
            .map(|d| d.value_format.clone())
            .unwrap_or_default(),
        columns,
        timestamp: None,
        window: None,
        is_source: false,
        sql: String::new(),
    });
    // `ALIAS.COL` and an unambiguous `COL` name the joined column `ALIAS_COL`;
    // pseudo columns stay the joined row's own
    let aliases: Vec<String> = join.all_sources.iter().map(|(_, a)| a.clone()).collect();
    let has = |alias: &str, col: &str| {
        joined
            .columns
            .iter()
            .any(|c| c.name == format!("{alias}_{col}"))
    };
    let rename = |e: &Expr| -> Expr {
        crate::rewrite::map_expr(e, &mut |x| match x {
            Expr::Column {
                qualifier,
                name,
                pos,
            } => {
                let alias = match &qualifier {
                    Some(q) => Some(q.value.clone()),
                    None => {
                        let owners: Vec<&String> =
                            aliases.iter().filter(|a| has(a, &name.value)).collect();
                        match owners.as_slice() {
                            [one] => Some((*one).clone()),
                            _ => None,
                        }
                    }
                };
                match alias {
                    Some(a) if has(&a, &name.value) => Expr::Column {
                        qualifier: None,
                        name: Ident::quoted(format!("{a}_{}", name.value)),
                        pos,
                    },
                    Some(_) if crate::catalog::is_pseudo_column(&name.value) => Expr::Column {
                        qualifier: None,
                        name,
                        pos,
                    },
                    _ => Expr::Column {
                        qualifier,
                        name,
                        pos,
                    },
                }
            }
            other => other,
        })
    };
    // the joined rows carry no window: a windowed aggregation over a join
    // cannot select its bounds, as in ksqlDB
    for item in &q.select {
        if let SelectItem::Expr { expr, .. } = item {
            let mut bound = None;
            any_node(expr, &mut |x| {
                if let Expr::Column { name, pos, .. } = x {
                    if matches!(name.value.as_str(), WINDOWSTART | WINDOWEND) && bound.is_none() {
                        bound = Some((name.value.clone(), *pos));
                    }
                }
                false
            });
            if let Some((name, pos)) = bound {
                return Err(PlanError::UnknownColumn {
                    name,
                    pos,
                    context: "SELECT",
                });
            }
        }
    }
    let select = q
        .select
        .iter()
        .map(|item| match item {
            // a plain column keeps its own name as the output column's
            SelectItem::Expr {
                expr: e @ Expr::Column { name, .. },
                alias: None,
            } => SelectItem::Expr {
                expr: rename(e),
                alias: Some(name.clone()),
            },
            SelectItem::Expr { expr, alias } => SelectItem::Expr {
                expr: rename(expr),
                alias: alias.clone(),
            },
            other => other.clone(),
        })
        .collect();
    let outer = Query {
        select,
        from: Relation::Source {
            name: Ident::quoted(&name),
            alias: None,
            pos: Default::default(),
        },
        window: q.window.clone(),
        where_clause: None,
        group_by: q.group_by.iter().map(&rename).collect(),
        partition_by: Vec::new(),
        having: q.having.as_ref().map(&rename),
        emit: q.emit,
        limit: q.limit,
    };
    struct WithJoined<'a> {
        inner: &'a dyn Catalog,
        joined: Arc<SourceDef>,
    }
    impl crate::types::TypeResolver for WithJoined<'_> {
        fn custom_type(&self, name: &str) -> Option<sluice_sql::SqlType> {
            self.inner.custom_type(name)
        }
        fn user_function(&self, name: &str) -> Option<Arc<datafusion_expr::ScalarUDF>> {
            self.inner.user_function(name)
        }
        fn user_table_function(&self, name: &str) -> Option<Arc<datafusion_expr::ScalarUDF>> {
            self.inner.user_table_function(name)
        }
        fn user_aggregate(&self, name: &str) -> Option<Arc<dyn AggregateFunction>> {
            self.inner.user_aggregate(name)
        }
    }
    impl Catalog for WithJoined<'_> {
        fn source(&self, name: &str) -> Option<Arc<SourceDef>> {
            if name == self.joined.name {
                Some(self.joined.clone())
            } else {
                self.inner.source(name)
            }
        }
        fn alternatives(&self, name: &str, kind: Option<sluice_sql::SourceKind>) -> String {
            self.inner.alternatives(name, kind)
        }
    }
    let catalog = WithJoined {
        inner: catalog,
        joined: joined.clone(),
    };
    let mut plan = plan_aggregate(&outer, &catalog, sink)?;
    plan.join = Some(Box::new(join));
    Ok(plan)
}

/// An aggregate call's function, inputs and literal parameters.
fn plan_call(
    e: &Expr,
    input: &ExprCompiler,
    config: sluice_functions::AggregateConfig,
) -> Result<AggregateCallPlan, PlanError> {
    let Expr::Function {
        name, args, star, ..
    } = e
    else {
        return Err(PlanError::invalid("not an aggregate call"));
    };
    let function = sluice_functions::aggregate_function_with_config(name, config)
        .or_else(|| input.types.user_aggregate(name))
        .ok_or_else(|| {
            PlanError::invalid(format!("Can't find any functions with the name '{name}'"))
        })?;
    let mut arg_types = Vec::new();
    let mut literal_args = Vec::new();
    let mut compiled = Vec::new();
    for a in args {
        if contains_aggregate(a, input.types) {
            return Err(PlanError::invalid(format!(
                "Aggregate functions can not be nested: {e}"
            )));
        }
        let c = input.compile(a)?;
        literal_args.push(match strip(a) {
            Expr::Literal(l) => Some(literal_value(l, &c.ty)),
            Expr::Unary {
                op: sluice_sql::UnaryOp::Neg,
                expr,
            } if matches!(strip(expr), Expr::Literal(_)) => evaluate_constant(&c.expr),
            _ => None,
        });
        arg_types.push(c.ty.clone());
        compiled.push(c);
    }
    let call = AggregateCall {
        arg_types: &arg_types,
        literal_args: &literal_args,
    };
    let return_type = function
        .return_type(&call)
        .map_err(|e| PlanError::invalid(crate::error::df_message(&e)))?;
    let positions = function.input_args(&call);
    let inputs = positions
        .iter()
        .filter_map(|&i| compiled.get(i).map(|c| c.expr.clone()))
        .collect();
    Ok(AggregateCallPlan {
        function,
        inputs,
        arg_types,
        literal_args,
        return_type,
        count_star: *star || args.is_empty(),
    })
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

fn literal_value(l: &Literal, ty: &DataType) -> ScalarValue {
    let c = crate::expr::literal(l);
    evaluate_constant(&c.expr)
        .unwrap_or_else(|| ScalarValue::try_from(ty).unwrap_or(ScalarValue::Null))
}

fn evaluate_constant(e: &PhysExpr) -> Option<ScalarValue> {
    let batch = arrow::array::RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .ok()?;
    let v = e.evaluate(&batch).ok()?;
    match v {
        datafusion_expr::ColumnarValue::Scalar(s) => Some(s),
        datafusion_expr::ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0).ok(),
    }
}

/// `e` with its column references unqualified, and unquoted where the name
/// needs no quotes (a single source's columns read as ksqlDB prints them in
/// messages).
/// ksqlDB's refusal of SELECT expressions reading columns that are not grouped.
fn non_aggregate_error(items: &[String]) -> PlanError {
    PlanError::invalid(format!(
        "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
        items.join(", ")
    ))
}

fn unqualified(e: &Expr) -> Expr {
    crate::rewrite::map_expr(e, &mut |x| match x {
        Expr::Column { name, pos, .. } => {
            let plain = name
                .value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase())
                && name
                    .value
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            Expr::Column {
                qualifier: None,
                name: if plain {
                    sluice_sql::Ident::new(name.value)
                } else {
                    name
                },
                pos,
            }
        }
        other => other,
    })
}
