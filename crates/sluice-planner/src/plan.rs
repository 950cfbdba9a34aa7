//! Planning a SELECT into the operators the runtime runs: filter and projection over a
//! source's row layout, with ksqlDB's rules for which output columns form the key.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::datatypes::DataType;
use sluice_sql::{Emit, Expr, Literal, Query, Relation, SelectItem};

use crate::catalog::{is_pseudo_column, Catalog, ColumnRole, SourceDef};
use crate::expr::{Compiled, ExprCompiler, PhysExpr, Scope};
use crate::rewrite::canonical;
use crate::table_functions::extract_table_functions;
pub use crate::table_functions::{TableFunctionCall, TableFunctionKind};
use crate::types::type_name;
use crate::PlanError;

/// One column a query writes.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    pub name: String,
    pub ty: DataType,
    pub expr: PhysExpr,
    /// Key or Value.
    pub role: ColumnRole,
}

/// A stateless query: read one source, filter, project.
#[derive(Debug, Clone)]
pub struct ProjectPlan {
    pub source: Arc<SourceDef>,
    pub filter: Option<PhysExpr>,
    /// Key columns first, then value columns, in output order.
    pub columns: Vec<OutputColumn>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
    /// `PARTITION BY`: the key changed, so output records are re-keyed.
    pub repartitioned: bool,
    /// The sink's `TIMESTAMP=` column, as epoch millis over the input rows: it
    /// replaces ROWTIME on output records.
    pub output_timestamp: Option<PhysExpr>,
    /// EXPLODE / CUBE_EXPLODE calls in the projection: each input row becomes as
    /// many rows as its longest result, and the results are appended to the row
    /// layout (giving `expanded_schema`) for the columns to read.
    pub table_functions: Vec<TableFunctionCall>,
    /// The input layout plus one column per table function.
    pub expanded_schema: arrow::datatypes::SchemaRef,
    /// PARTITION BY keys computed from value columns: a record without a value
    /// gets a NULL key for them (ksqlDB cannot evaluate them on a missing value).
    pub value_dependent_keys: Vec<String>,
}

impl ProjectPlan {
    /// Names of the source columns the projection (SELECT) and the filter (WHERE)
    /// read.
    pub fn referenced_columns(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let names = |e: &PhysExpr| -> BTreeSet<String> {
            datafusion_physical_expr::utils::collect_columns(e)
                .into_iter()
                .map(|c| c.name().to_string())
                .collect()
        };
        let select = self.columns.iter().flat_map(|c| names(&c.expr)).collect();
        let filter = self.filter.as_ref().map(names).unwrap_or_default();
        (select, filter)
    }

    pub fn key_columns(&self) -> impl Iterator<Item = &OutputColumn> {
        self.columns.iter().filter(|c| c.role == ColumnRole::Key)
    }
    pub fn value_columns(&self) -> impl Iterator<Item = &OutputColumn> {
        self.columns.iter().filter(|c| c.role == ColumnRole::Value)
    }
}

/// What the statement around the query is, which changes some of ksqlDB's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryContext<'a> {
    /// `CREATE ... AS SELECT` / `INSERT INTO`, naming the sink.
    Persistent(&'a str),
    /// A push or pull query whose rows go to the client.
    Transient,
}

pub fn plan_query(
    q: &Query,
    catalog: &dyn Catalog,
    ctx: QueryContext,
) -> Result<ProjectPlan, PlanError> {
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
    if crate::aggregate::is_aggregate_query(q, catalog) {
        return Err(PlanError::invalid(
            "An aggregation must be planned with plan()",
        ));
    }
    let qualifier = alias.as_ref().unwrap_or(name).value.clone();
    let scope = Scope::of_schema(source.row_schema(), Some(&qualifier));

    let filter = q
        .where_clause
        .as_ref()
        .map(|w| compile_where(w, &scope, catalog, where_error))
        .transpose()?;

    let compiler = ExprCompiler::new(scope.clone(), catalog, "SELECT");
    // a transient query's `*` over a windowed source shows the window bounds after
    // the key columns, as ksqlDB's push and pull queries do
    let window_bounds = matches!(ctx, QueryContext::Transient) && source.window.is_some();
    let items = expand_select(q, &source, &qualifier, &compiler, window_bounds)?;
    let mut names = Names::default();
    // generated names never collide with the source's own columns
    names
        .reserved
        .extend(source.columns.iter().map(|c| c.name.clone()));
    for item in &items {
        if let Some(n) = &item.alias {
            names.taken.push(n.clone());
        }
    }
    let tf = extract_table_functions(items.iter().map(|i| &i.expr), &compiler)?;
    if !tf.calls.is_empty() && source.kind == sluice_sql::SourceKind::Table {
        return Err(PlanError::invalid(
            "Table source is not supported with table functions",
        ));
    }
    let item_compiler = compiler.with_scope(tf.scope.clone());
    let mut projected = Vec::new();
    for (item, rewritten) in items.into_iter().zip(tf.items) {
        let name = match item.alias {
            Some(n) => n,
            None => names.derive(&item.expr),
        };
        let Compiled { expr, ty } = item_compiler.compile(&rewritten)?;
        projected.push(Projected {
            name,
            canonical: canonical(&item.expr, &scope),
            source: item.expr,
            from_wildcard: item.from_wildcard,
            expr,
            ty,
        });
    }
    let sink = match ctx {
        QueryContext::Persistent(s) => Some(s),
        QueryContext::Transient => None,
    };
    let (key_idx, repartitioned) = if q.partition_by.is_empty() {
        (
            source_key_positions(&source, &projected, &scope, sink)?,
            false,
        )
    } else {
        (
            partition_key_positions(q, &mut projected, &scope, &compiler, &mut names, sink)?,
            true,
        )
    };
    let source_keys: Vec<&str> = source.key_columns().map(|c| c.name.as_str()).collect();
    let value_dependent_keys = if repartitioned {
        key_idx
            .iter()
            .filter(|&&i| {
                crate::rewrite::any_node(&projected[i].source, &mut |x| {
                    matches!(x, Expr::Column { name, .. } if !source_keys.contains(&name.value.as_str()))
                })
            })
            .map(|&i| projected[i].name.clone())
            .collect()
    } else {
        Vec::new()
    };
    // A sink's records put the key columns first; a client's rows keep the
    // SELECT's order, as ksqlDB's transient queries do.
    let keys_first = sink.is_some() || repartitioned;
    let key_column = |p: &Projected| OutputColumn {
        name: p.name.clone(),
        ty: p.ty.clone(),
        expr: p.expr.clone(),
        role: ColumnRole::Key,
    };
    let mut columns = Vec::new();
    if keys_first {
        columns.extend(key_idx.iter().map(|&i| key_column(&projected[i])));
    }
    for (i, p) in projected.iter().enumerate() {
        if key_idx.contains(&i) {
            if !keys_first {
                columns.push(key_column(p));
            }
            continue;
        }
        if let Some(dup) = columns.iter().find(|c| c.name == p.name) {
            return Err(PlanError::invalid(if dup.role == ColumnRole::Value {
                // LogicalSchema's DuplicateColumnException
                format!(
                    "Duplicate value columns found in schema: `{}` {}",
                    p.name,
                    crate::types::type_name(&p.ty)
                )
            } else {
                format!(
                    "Cannot add column `{}` to schema: a column with that name already exists.",
                    dup.name
                )
            }));
        }
        columns.push(OutputColumn {
            name: p.name.clone(),
            ty: p.ty.clone(),
            expr: p.expr.clone(),
            role: ColumnRole::Value,
        });
    }
    if sink.is_some() {
        for c in &columns {
            if c.ty == DataType::Null {
                return Err(PlanError::ty(format!(
                    "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR). (column `{}`)",
                    c.name
                )));
            }
            if c.role == ColumnRole::Value && is_pseudo_column(&c.name) {
                let aliased = q.select.iter().any(|item| {
                    matches!(item, SelectItem::Expr { alias: Some(a), .. } if a.value == c.name)
                });
                return Err(if aliased {
                    PlanError::invalid(format!(
                        "`{}` is a reserved column name. You cannot use it as an alias for a column.",
                        c.name
                    ))
                } else {
                    PlanError::reserved_in_select(&c.name)
                });
            }
        }
    }
    Ok(ProjectPlan {
        source,
        filter,
        columns,
        emit: q.emit,
        limit: q.limit,
        repartitioned,
        output_timestamp: None,
        table_functions: tf.calls,
        expanded_schema: tf.scope.schema,
        value_dependent_keys,
    })
}

struct SelectExpr {
    expr: Expr,
    alias: Option<String>,
    from_wildcard: bool,
}

struct Projected {
    name: String,
    source: Expr,
    canonical: Expr,
    from_wildcard: bool,
    expr: PhysExpr,
    ty: DataType,
}

fn column_ref(qualifier: &str, name: &str) -> Expr {
    Expr::Column {
        qualifier: Some(sluice_sql::Ident::quoted(qualifier)),
        name: sluice_sql::Ident::quoted(name),
        pos: Default::default(),
    }
}

fn expand_select(
    q: &Query,
    source: &SourceDef,
    qualifier: &str,
    compiler: &ExprCompiler,
    window_bounds: bool,
) -> Result<Vec<SelectExpr>, PlanError> {
    let rekeyed = !q.partition_by.is_empty();
    let window_bounds = window_bounds && !rekeyed;
    let mut out = Vec::new();
    for item in &q.select {
        match item {
            SelectItem::Wildcard => out.extend(wildcard(source, qualifier, rekeyed, window_bounds)),
            SelectItem::QualifiedWildcard(q) => {
                if q.value != qualifier {
                    return Err(PlanError::invalid(format!(
                        "'{}' is not a valid stream/table name or alias.",
                        q.value
                    )));
                }
                out.extend(wildcard(source, qualifier, rekeyed, window_bounds))
            }
            SelectItem::StructWildcard(expr) => {
                for (field, name) in struct_fields(compiler, expr)? {
                    out.push(SelectExpr {
                        expr: field,
                        alias: Some(name),
                        from_wildcard: false,
                    });
                }
            }
            SelectItem::Expr { expr, alias } => out.push(SelectExpr {
                expr: expr.clone(),
                alias: alias.as_ref().map(|a| a.value.clone()),
                from_wildcard: false,
            }),
        }
    }
    Ok(out)
}

/// `*`: key columns then value columns; when the query re-keys (PARTITION BY) the
/// old key columns move after the values, as ksqlDB lays out the repartitioned schema.
/// `*`: key then value columns (value then key when re-keyed), `WINDOWSTART` and
/// `WINDOWEND` after the keys when `window_bounds`, then header columns.
fn wildcard<'a>(
    source: &'a SourceDef,
    qualifier: &'a str,
    rekeyed: bool,
    window_bounds: bool,
) -> impl Iterator<Item = SelectExpr> + 'a {
    let names = |cols: Vec<&'a crate::catalog::ColumnDef>| -> Vec<&'a str> {
        cols.into_iter().map(|c| c.name.as_str()).collect()
    };
    let keys = names(source.key_columns().collect());
    let values = names(source.value_columns().collect());
    let bounds: &[&str] = if window_bounds {
        &["WINDOWSTART", "WINDOWEND"]
    } else {
        &[]
    };
    let ordered: Vec<&str> = if rekeyed {
        [values, keys].concat()
    } else {
        [keys, bounds.to_vec(), values].concat()
    };
    ordered
        .into_iter()
        .chain(source.header_columns().map(|c| c.name.as_str()))
        .map(move |name| SelectExpr {
            expr: column_ref(qualifier, name),
            alias: Some(name.to_string()),
            from_wildcard: true,
        })
}

/// `expr->*`: each field of the struct `expr` as a dereference and the
/// column name it takes (the field's).
pub(crate) fn struct_fields(
    compiler: &ExprCompiler,
    expr: &Expr,
) -> Result<Vec<(Expr, String)>, PlanError> {
    let c = compiler.compile(expr)?;
    let DataType::Struct(fields) = &c.ty else {
        return Err(PlanError::ty(format!(
            "Cannot select all fields of {expr}: it is not a STRUCT but {}",
            type_name(&c.ty)
        )));
    };
    Ok(fields
        .iter()
        .map(|f| {
            let field = Expr::Dereference {
                expr: Box::new(expr.clone()),
                field: sluice_sql::Ident::quoted(f.name()),
            };
            (field, f.name().clone())
        })
        .collect())
}

/// ksqlDB's generated column names: a column keeps its name, a struct dereference
/// takes the field name, anything else is `KSQL_COL_n` (the first n not taken).
#[derive(Default)]
struct Names {
    taken: Vec<String>,
    /// Names `KSQL_COL_n` must also avoid.
    reserved: Vec<String>,
    next: usize,
}

impl Names {
    fn derive(&mut self, e: &Expr) -> String {
        let name = match e {
            // a column keeps its name, taken or not (ksqlDB's AstSanitizer):
            // selected twice, the schema refuses it
            Expr::Column { name, .. } => name.value.clone(),
            // a struct field takes its own name, suffixed `_1`, `_2`... where taken
            Expr::Dereference { field, .. } => {
                let base = field.value.clone();
                let free = |n: &String| !self.taken.contains(n) && !self.reserved.contains(n);
                if free(&base) {
                    base
                } else {
                    (1..)
                        .map(|i| format!("{base}_{i}"))
                        .find(|n| free(n))
                        .unwrap_or(base)
                }
            }
            _ => loop {
                let n = format!("KSQL_COL_{}", self.next);
                self.next += 1;
                if !self.taken.contains(&n) && !self.reserved.contains(&n) {
                    break n;
                }
            },
        };
        self.taken.push(name.clone());
        name
    }
}

fn is_plain_column(e: &Expr) -> bool {
    match e {
        Expr::Column { .. } => true,
        Expr::Nested(inner) => is_plain_column(inner),
        _ => false,
    }
}

/// Without PARTITION BY the key stays the source's: each source key column must be
/// selected (as itself, not through AS_VALUE) exactly once.
fn source_key_positions(
    source: &SourceDef,
    projected: &[Projected],
    scope: &Scope,
    sink: Option<&str>,
) -> Result<Vec<usize>, PlanError> {
    let mut keys = Vec::new();
    for key in source.key_columns() {
        let Some(key_index) = scope.schema.index_of(&key.name).ok() else {
            continue;
        };
        let hits: Vec<usize> = projected
            .iter()
            .enumerate()
            .filter(|(_, p)| is_plain_column(&p.source) && matches!(&p.canonical, Expr::Column { name, .. } if name.value == format!("#{key_index}")))
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            // ksqlDB 0.24+: a stream query that leaves the key out produces a keyless stream
            [] if source.kind == sluice_sql::SourceKind::Stream => {}
            [] => {
                if let Some(sink) = sink {
                    let keys: Vec<String> = source.key_columns().map(|k| k.name.clone()).collect();
                    return Err(crate::keys_not_included(
                        sink,
                        "key column",
                        &keys,
                        true,
                        false,
                    ));
                }
            }
            [one] => keys.push(*one),
            many => {
                if sink.is_some() {
                    return Err(PlanError::invalid(format!(
                        "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                        key.name,
                        many.iter()
                            .map(|i| projected[*i].name.clone())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )));
                }
                keys.push(many[0]);
            }
        }
    }
    Ok(keys)
}

/// With PARTITION BY the key is the partitioning expressions: each must be selected
/// (a `*` projection selects them implicitly).
fn partition_key_positions(
    q: &Query,
    projected: &mut Vec<Projected>,
    scope: &Scope,
    compiler: &ExprCompiler,
    names: &mut Names,
    sink: Option<&str>,
) -> Result<Vec<usize>, PlanError> {
    if let [Expr::Literal(Literal::Null)] = q.partition_by.as_slice() {
        return Ok(Vec::new());
    }
    if q.partition_by
        .iter()
        .any(|e| matches!(e, Expr::Literal(Literal::Null)))
    {
        return Err(PlanError::invalid(
            "Cannot PARTITION BY multiple columns including NULL",
        ));
    }
    // PARTITION BY applies to the input: its columns come from the source
    for pexpr in &q.partition_by {
        let mut unresolved: Option<String> = None;
        crate::rewrite::any_node(pexpr, &mut |x| {
            if let Expr::Column {
                qualifier, name, ..
            } = x
            {
                let found =
                    scope.resolve(qualifier.as_ref().map(|q| q.value.as_str()), &name.value);
                if unresolved.is_none() && matches!(found, Ok(None)) {
                    unresolved = Some(name.value.clone());
                }
            }
            false
        });
        if let Some(name) = unresolved {
            let alias = projected.iter().any(|p| p.name == name);
            return Err(PlanError::invalid(if alias {
                format!(
                    "PARTITION BY column '{name}' cannot be resolved. '{name}' must be a column in the source schema since PARTITION BY is applied on the input."
                )
            } else {
                format!("PARTITION BY column '{name}' cannot be resolved.")
            }));
        }
    }
    let has_wildcard = projected.iter().any(|p| p.from_wildcard);
    let mut keys = Vec::new();
    let mut missing = Vec::new();
    for pexpr in &q.partition_by {
        let canon = canonical(pexpr, scope);
        let hits: Vec<usize> = projected
            .iter()
            .enumerate()
            .filter(|(_, p)| p.canonical == canon)
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [one] => keys.push(*one),
            [] if has_wildcard || sink.is_none() => {
                let c = compiler.compile(pexpr)?;
                let name = names.derive(pexpr);
                projected.push(Projected {
                    name,
                    source: pexpr.clone(),
                    canonical: canon,
                    from_wildcard: true,
                    expr: c.expr,
                    ty: c.ty,
                });
                keys.push(projected.len() - 1);
            }
            [] => missing.push(crate::rewrite::qualified_display(pexpr, scope)),
            many => {
                let first = &projected[many[0]];
                if many.iter().all(|i| projected[*i].from_wildcard) {
                    keys.push(many[0]);
                    continue;
                }
                return Err(PlanError::invalid(format!(
                    "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                    first.source,
                    many.iter()
                        .map(|i| projected[*i].name.clone())
                        .collect::<Vec<_>>()
                        .join(" and ")
                )));
            }
        }
    }
    if !missing.is_empty() {
        // ksqlDB names every partitioning expression once one is missing
        let all: Vec<String> = q
            .partition_by
            .iter()
            .map(|e| crate::rewrite::qualified_display(e, scope))
            .collect();
        return Err(crate::keys_not_included(
            sink.unwrap_or_default(),
            "partitioning expression",
            &all,
            true,
            false,
        ));
    }
    Ok(keys)
}

/// The expression giving a source row's event time when the source has `TIMESTAMP=`:
/// a BIGINT column as is, a TIMESTAMP column in ms, a STRING column parsed with
/// `TIMESTAMP_FORMAT`. Evaluated over the row layout where ROWTIME still holds the
/// record's own timestamp.
pub fn timestamp_extractor(
    def: &SourceDef,
    types: &dyn crate::types::TypeResolver,
) -> Result<Option<PhysExpr>, PlanError> {
    let Some(ts) = &def.timestamp else {
        return Ok(None);
    };
    let scope = Scope::of_schema(def.row_schema(), None);
    let compiler = ExprCompiler::new(scope, types, "TIMESTAMP");
    let column = Expr::Column {
        qualifier: None,
        name: sluice_sql::Ident::quoted(&ts.column),
        pos: Default::default(),
    };
    let expr = match &ts.format {
        Some(format) => Expr::Function {
            name: "PARSE_TIMESTAMP".into(),
            args: vec![column, Expr::Literal(Literal::String(format.clone()))],
            star: false,
            pos: Default::default(),
        },
        None => column,
    };
    let c = compiler.compile(&expr)?;
    Ok(Some(compiler.cast_to(c, &DataType::Int64)?))
}

/// The event time a sink with `TIMESTAMP='column'` (and `TIMESTAMP_FORMAT`) writes:
/// the projected column's value in epoch millis, computed over the input rows.
pub fn output_timestamp(
    plan: &ProjectPlan,
    column: &str,
    format: Option<&str>,
    types: &dyn crate::types::TypeResolver,
) -> Result<PhysExpr, PlanError> {
    let c = plan
        .columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(column))
        .ok_or_else(|| {
            PlanError::invalid(format!(
                "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{}'",
                column.to_uppercase()
            ))
        })?;
    let compiler = ExprCompiler::new(
        Scope::of_schema(plan.expanded_schema.clone(), None),
        types,
        "TIMESTAMP",
    );
    let value = Compiled {
        expr: c.expr.clone(),
        ty: c.ty.clone(),
    };
    let millis = match (&c.ty, format) {
        (DataType::Int64 | DataType::Timestamp(_, _), _) => value,
        (DataType::Utf8, Some(f)) => {
            let udf = sluice_functions::scalar_function("PARSE_TIMESTAMP")
                .ok_or_else(|| PlanError::invalid("PARSE_TIMESTAMP is not available"))?;
            let fmt = crate::expr::literal(&Literal::String(f.to_string()));
            compiler.call_udf(udf, vec![value, fmt])?
        }
        (DataType::Utf8, None) => {
            return Err(PlanError::invalid(format!(
                "Timestamp column, `{}`, of type STRING requires a TIMESTAMP_FORMAT.",
                c.name
            )))
        }
        (other, _) => {
            return Err(PlanError::invalid(format!(
                "Timestamp column, `{}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. (got {})",
                c.name,
                type_name(other)
            )))
        }
    };
    compiler.cast_to(millis, &DataType::Int64)
}

/// A type error in a WHERE clause, as ksqlDB reports it: `Error in WHERE
/// expression: <what>` and the clause. Unknown columns keep their own
/// message (with where they are).
/// A WHERE clause compiled over `scope`: it must be a BOOLEAN (ksqlDB's
/// message otherwise); `on_error` words a compile error.
pub(crate) fn compile_where(
    w: &Expr,
    scope: &Scope,
    catalog: &dyn Catalog,
    on_error: fn(&Expr, PlanError) -> PlanError,
) -> Result<PhysExpr, PlanError> {
    let c = ExprCompiler::new(scope.clone(), catalog, "WHERE")
        .compile(w)
        .map_err(|e| on_error(w, e))?;
    if c.ty != DataType::Boolean {
        return Err(PlanError::ty(format!(
            "Type error in WHERE expression: Should evaluate to boolean but is {w} ({}) instead.",
            type_name(&c.ty)
        )));
    }
    Ok(c.expr)
}

pub(crate) fn where_error(w: &Expr, e: PlanError) -> PlanError {
    match e {
        // errors ksqlDB finds generating the predicate's code keep their words
        PlanError::Type(m) | PlanError::Invalid(m)
            if !m.starts_with("Type error in WHERE") && !m.starts_with("Invalid Predicate: ") =>
        {
            PlanError::ty(format!("Error in WHERE expression: {m}\nStatement: {w}"))
        }
        other => other,
    }
}

/// [`where_error`] for the WHERE clause of an aggregation, whose input has
/// no window bounds yet: naming one is ksqlDB's `Unknown column`.
pub(crate) fn aggregate_where_error(w: &Expr, e: PlanError) -> PlanError {
    match e {
        PlanError::UnknownColumn { name, .. }
            if name.eq_ignore_ascii_case(crate::catalog::WINDOWSTART)
                || name.eq_ignore_ascii_case(crate::catalog::WINDOWEND) =>
        {
            PlanError::ty(format!(
                "Error in WHERE expression: Unknown column {}.\nStatement: {w}",
                name.to_uppercase()
            ))
        }
        other => where_error(w, other),
    }
}

/// The index of the key column `expr` reads as it is (a source row's first
/// `keys` columns are its key columns), if it is one.
pub(crate) fn key_column(expr: &crate::expr::PhysExpr, keys: usize) -> Option<usize> {
    expr.downcast_ref::<datafusion_physical_expr::expressions::Column>()
        .map(|c| c.index())
        .filter(|i| *i < keys)
}

/// A planned query: stateless projection or aggregation.
#[derive(Debug, Clone)]
pub enum QueryPlan {
    Project(ProjectPlan),
    Aggregate(crate::aggregate::AggregatePlan),
    Join(Box<crate::join::JoinPlan>),
}

impl QueryPlan {
    /// The (first) source the query reads.
    pub fn source(&self) -> &Arc<SourceDef> {
        match self {
            QueryPlan::Project(p) => &p.source,
            QueryPlan::Aggregate(a) => match &a.join {
                Some(j) => j
                    .all_sources
                    .first()
                    .map(|(d, _)| d)
                    .unwrap_or(&j.left.source),
                None => &a.source,
            },
            QueryPlan::Join(j) => j
                .all_sources
                .first()
                .map(|(d, _)| d)
                .unwrap_or(&j.left.source),
        }
    }
    /// Every source the query reads.
    pub fn sources(&self) -> Vec<&Arc<SourceDef>> {
        match self {
            QueryPlan::Join(j) => j.all_sources.iter().map(|(d, _)| d).collect(),
            QueryPlan::Aggregate(a) if a.join.is_some() => a
                .join
                .iter()
                .flat_map(|j| j.all_sources.iter().map(|(d, _)| d))
                .collect(),
            other => vec![other.source()],
        }
    }
    /// Whether the state the query keeps is keyed by its sources' record
    /// keys: an aggregation grouped by exactly its source's key columns, or a
    /// join of two sources on their keys (which ksqlDB requires to be
    /// co-partitioned). Such a query needs no repartition: partition p of its
    /// sources holds every record of the keys it holds, so the partitions can
    /// run as separate tasks (Kafka Streams' tasks), each owning its keys'
    /// state. Stateless queries trivially qualify.
    pub fn is_partition_local(&self) -> bool {
        match self {
            QueryPlan::Project(_) => true,
            QueryPlan::Aggregate(a) => {
                let keys = a.source.key_columns().count();
                let mut grouped: Vec<usize> = a
                    .group_by
                    .iter()
                    .filter_map(|e| key_column(e, keys))
                    .collect();
                grouped.sort_unstable();
                grouped.dedup();
                a.join.is_none() && keys > 0 && a.group_by.len() == keys && grouped.len() == keys
            }
            QueryPlan::Join(j) => j.on_keys(),
        }
    }
    /// Whether the query's state is keyed by something its sources'
    /// partitions do not follow, so that rows must first go through a
    /// repartition topic keyed by what the state is keyed by: an aggregation
    /// over a stream (not windowed itself) grouped by anything but exactly
    /// its key columns (ksqlDB's `Aggregate-GroupBy-repartition`), or a join
    /// some of whose sides need it (see `JoinPlan::repartition`). After
    /// that, the query is partition-local over the repartition topics.
    pub fn needs_repartition(&self) -> bool {
        match self {
            // which sides are re-keyed does not depend on the default format
            QueryPlan::Join(j) => j
                .repartition(&crate::catalog::FormatDesc::named("KAFKA"))
                .is_some(),
            QueryPlan::Aggregate(a) => {
                // ROWPARTITION and ROWOFFSET would be the repartition
                // topic's after it: an aggregation reading them stays whole
                let reads_position = a
                    .filter
                    .iter()
                    .chain(&a.group_by)
                    .chain(a.aggregates.iter().flat_map(|c| &c.inputs))
                    .flat_map(datafusion_physical_expr::utils::collect_columns)
                    .any(|c| {
                        c.name() == crate::catalog::ROWPARTITION
                            || c.name() == crate::catalog::ROWOFFSET
                    });
                a.join.is_none()
                    && !a.group_by.is_empty()
                    && a.source.kind == sluice_sql::SourceKind::Stream
                    && a.source.window.is_none()
                    && !reads_position
                    && !self.is_partition_local()
            }
            _ => false,
        }
    }
    pub fn columns(&self) -> &[OutputColumn] {
        match self {
            QueryPlan::Project(p) => &p.columns,
            QueryPlan::Aggregate(a) => &a.columns,
            QueryPlan::Join(j) => &j.project.columns,
        }
    }
    pub fn key_columns(&self) -> impl Iterator<Item = &OutputColumn> {
        self.columns().iter().filter(|c| c.role == ColumnRole::Key)
    }
    pub fn limit(&self) -> Option<u64> {
        match self {
            QueryPlan::Project(p) => p.limit,
            QueryPlan::Aggregate(a) => a.limit,
            QueryPlan::Join(j) => j.project.limit,
        }
    }
    /// A stateless query keeps its source's kind; an aggregation makes a table.
    pub fn result_kind(&self) -> sluice_sql::SourceKind {
        match self {
            QueryPlan::Project(p) => p.source.kind,
            QueryPlan::Aggregate(_) => sluice_sql::SourceKind::Table,
            QueryPlan::Join(j) => j.result_kind(),
        }
    }
    /// The window the result's keys carry.
    pub fn window(&self) -> Option<crate::catalog::WindowInfo> {
        match self {
            QueryPlan::Project(p) => p.source.window,
            QueryPlan::Aggregate(a) => a.window_info(),
            QueryPlan::Join(j) => j.project.source.window,
        }
    }
}

/// Plan any SELECT: aggregations (GROUP BY, WINDOW, aggregate calls) or projections.
pub fn plan(q: &Query, catalog: &dyn Catalog, ctx: QueryContext) -> Result<QueryPlan, PlanError> {
    let sink = match ctx {
        QueryContext::Persistent(s) => Some(s),
        QueryContext::Transient => None,
    };
    if let Relation::Join { .. } = &q.from {
        if crate::aggregate::is_aggregate_query(q, catalog) {
            return Ok(QueryPlan::Aggregate(
                crate::aggregate::plan_aggregate_over_join(q, catalog, sink)?,
            ));
        }
        return Ok(QueryPlan::Join(Box::new(crate::join::plan_join(
            q, catalog, sink,
        )?)));
    }
    if crate::aggregate::is_aggregate_query(q, catalog) {
        return Ok(QueryPlan::Aggregate(crate::aggregate::plan_aggregate(
            q, catalog, sink,
        )?));
    }
    Ok(QueryPlan::Project(plan_query(q, catalog, ctx)?))
}
