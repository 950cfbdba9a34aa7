//! Planning two-source joins: stream-stream (WITHIN), stream-table and table-table
//! on the primary key.
//!
//! The joined row layout is the left source's row layout followed by the right's,
//! each field renamed `ALIAS.NAME`, then `$JOINKEY` (the join key value: left's for
//! INNER/LEFT, right's for RIGHT, whichever is present for FULL), `ROWTIME`,
//! `$RECORD_HEADERS` and `$TOMBSTONE` (and, joining two windowed sources, the
//! window of the joined key: `WINDOWSTART`, `WINDOWEND`, carried to a windowed
//! result). The projection and WHERE run over it through
//! an ordinary [`ProjectPlan`], so everything a stateless query supports works on
//! joined rows.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use sluice_sql::{Expr, Ident, JoinKind, Literal, Query, Relation, SelectItem, SourceKind};

use crate::catalog::{
    headers_type, is_internal_column, Catalog, ColumnRole, SourceDef, RECORD_HEADERS, ROWTIME,
    TOMBSTONE, WINDOWEND, WINDOWSTART,
};
use crate::expr::{ExprCompiler, PhysExpr, Scope, ScopeColumn};
use crate::plan::{OutputColumn, ProjectPlan};
use crate::rewrite::canonical;
use crate::types::type_name;
use crate::PlanError;

mod criteria;
mod keys;

pub use keys::JoinRepartition;

pub const JOIN_KEY: &str = "$JOINKEY";

#[derive(Debug, Clone)]
pub struct JoinSide {
    pub source: Arc<SourceDef>,
    pub alias: String,
    /// The join expression over this side's own row layout.
    pub key: PhysExpr,
}

#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub kind: JoinKind,
    pub left: JoinSide,
    pub right: JoinSide,
    pub key_type: DataType,
    /// Stream-stream: how far before and after a record the other side may be (ms).
    pub within: Option<(i64, i64)>,
    /// Stream-stream: how late (beyond the window) a record may arrive (ms).
    pub grace_ms: Option<i64>,
    /// Table-table join from an expression of the left table to the right table's
    /// primary key: results are keyed by the left table's primary key.
    pub foreign_key: bool,
    /// The joined row layout.
    pub joined_schema: SchemaRef,
    /// Filter and projection over the joined layout; its `source` describes the
    /// joined rows (kind = the result's kind).
    pub project: ProjectPlan,
    /// An n-way join's earlier joins: their joined rows are this join's left input.
    pub nested: Option<Box<JoinPlan>>,
    /// An n-way join's left input is keyed by this join's left expression
    /// already (one of the earlier joins' expressions): it is not re-keyed.
    pub nested_keyed: bool,
    /// What SQL can name in the joined layout.
    pub scope_columns: Vec<ScopeColumn>,
    /// Every source joined so far, in FROM order, with its alias.
    pub all_sources: Vec<(Arc<SourceDef>, String)>,
    /// Every join expression so far (candidates for the result key).
    pub join_exprs: Vec<Expr>,
}

impl JoinPlan {
    pub fn result_kind(&self) -> SourceKind {
        if self.left.source.kind == SourceKind::Table && self.right.source.kind == SourceKind::Table
        {
            SourceKind::Table
        } else {
            SourceKind::Stream
        }
    }
}

impl JoinPlan {
    /// The expressions this join's rows are keyed by, for a join that follows
    /// it: its join expressions, or for a foreign-key join its left table's
    /// primary key columns.
    fn key_exprs(&self) -> Vec<Expr> {
        if !self.foreign_key {
            return self.join_exprs.clone();
        }
        self.all_sources
            .first()
            .map(|(first, alias)| {
                first
                    .key_columns()
                    .map(|k| Expr::Column {
                        qualifier: Some(Ident::new(alias)),
                        name: Ident::new(&k.name),
                        pos: Default::default(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

pub fn plan_join(
    q: &Query,
    catalog: &dyn Catalog,
    sink: Option<&str>,
) -> Result<JoinPlan, PlanError> {
    let Relation::Join { left, joins } = &q.from else {
        return Err(PlanError::invalid("not a join"));
    };
    let Some(join) = joins.last() else {
        return Err(PlanError::invalid("a join needs two sources"));
    };
    let lookup = |r: &Relation| -> Result<(Arc<SourceDef>, String), PlanError> {
        match r {
            Relation::Source { name, alias, .. } => {
                let def = catalog
                    .source(&name.value)
                    .ok_or_else(|| PlanError::unknown_source(&name.value, catalog))?;
                Ok((def, alias.as_ref().unwrap_or(name).value.clone()))
            }
            Relation::Join { .. } => Err(PlanError::Unsupported(
                "Nested joins are not supported yet by this version of Sluice.".into(),
            )),
        }
    };
    {
        let mut sources = vec![lookup(left)?];
        for j in joins {
            sources.push(lookup(&j.right)?);
        }
        let conditions: Vec<&Expr> = joins.iter().map(|j| &j.on).collect();
        criteria::analyze_all(&sources, &conditions)?;
    }
    // n-way joins are left-deep: the earlier joins' rows are this join's left input
    let nested: Option<Box<JoinPlan>> = if joins.len() > 1 {
        let inner = Query {
            select: vec![SelectItem::Wildcard],
            from: Relation::Join {
                left: left.clone(),
                joins: joins[..joins.len() - 1].to_vec(),
            },
            window: None,
            where_clause: None,
            group_by: Vec::new(),
            partition_by: Vec::new(),
            having: None,
            emit: None,
            limit: None,
        };
        Some(Box::new(plan_join(&inner, catalog, None)?))
    } else {
        None
    };
    let (ldef, lalias) = match &nested {
        Some(n) => (n.project.source.clone(), String::new()),
        None => lookup(left)?,
    };
    let (rdef, ralias) = lookup(&join.right)?;
    let mut all_sources: Vec<(Arc<SourceDef>, String)> = match &nested {
        Some(n) => n.all_sources.clone(),
        None => vec![(ldef.clone(), lalias.clone())],
    };
    if all_sources
        .iter()
        .any(|(d, a)| d.name == rdef.name || *a == ralias)
    {
        return Err(PlanError::invalid(format!(
            "Can not join '{}' to '{}': self joins are not yet supported.",
            rdef.name, rdef.name
        )));
    }
    all_sources.push((rdef.clone(), ralias.clone()));
    // the name of the join's synthetic key column: ROWKEY unless a source
    // column has it, else the next free ROWKEY_n
    let synthetic = synthetic_join_key(&all_sources);
    if nested.is_none() && (lalias == ralias || ldef.name == rdef.name) {
        return Err(PlanError::invalid(format!(
            "Can not join '{}' to '{}': self joins are not yet supported.",
            ldef.name, rdef.name
        )));
    }
    let kafka: Vec<&str> = [&ldef, &rdef]
        .iter()
        .filter(|d| d.value_format.name == "KAFKA")
        .map(|d| d.name.as_str())
        .collect();
    if !kafka.is_empty() && sink.is_some() {
        return Err(PlanError::invalid(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }
    let lschema = match &nested {
        Some(n) => n.joined_schema.clone(),
        None => ldef.row_schema(),
    };
    let lscope = match &nested {
        Some(n) => Scope {
            schema: lschema.clone(),
            columns: n
                .scope_columns
                .iter()
                .filter(|c| c.name != synthetic_join_key(&n.all_sources) || c.qualifier.is_some())
                .cloned()
                .collect(),
        },
        None => Scope::of_schema(lschema.clone(), Some(&lalias)),
    };
    let rscope = Scope::of_schema(rdef.row_schema(), Some(&ralias));

    // the ON clause, checked as ksqlDB's Analyzer does, over the columns of
    // both sides (the right's counted after the left's: a name both have is
    // ambiguous)
    let width = lscope.schema.fields().len();
    let both = Scope {
        schema: lscope.schema.clone(),
        columns: lscope
            .columns
            .iter()
            .cloned()
            .chain(rscope.columns.iter().map(|c| ScopeColumn {
                index: c.index + width,
                ..c.clone()
            }))
            .collect(),
    };
    let criteria = criteria::analyze(&join.on, &both, &all_sources, &ralias)?;
    let (l_on, r_on) = (criteria.left, criteria.right);
    let kinds = (ldef.kind, rdef.kind);
    // then the planner's checks (LogicalPlanner#verifyJoin)
    let left_name = all_sources
        .iter()
        .find(|(_, a)| *a == criteria.left_alias)
        .map_or(ldef.name.as_str(), |(d, _)| d.name.as_str());
    match (kinds, join.kind) {
        ((SourceKind::Table, SourceKind::Stream), kind) => {
            return Err(PlanError::invalid(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {left_name} {} {}.",
                criteria::join_type_name(kind),
                rdef.name
            )))
        }
        ((SourceKind::Stream, SourceKind::Table), JoinKind::Full) => {
            return Err(PlanError::invalid(format!(
                "Invalid join type: full-outer join not supported for stream-table join. Got {left_name} {} {}.",
                criteria::join_type_name(JoinKind::Full),
                rdef.name
            )))
        }
        ((SourceKind::Stream, SourceKind::Table), JoinKind::Right) => {
            return Err(PlanError::invalid(
                "Invalid join type: right join not supported for stream-table join. Only INNER and LEFT joins are supported.",
            ))
        }
        _ => {}
    }
    // the condition as ksqlDB's messages show it: as written, columns qualified
    let shown = |e: &Expr| crate::rewrite::qualified_display(e, &both);
    let condition = match strip(&join.on) {
        Expr::Binary { left, right, .. } => format!("{} = {}", shown(left), shown(right)),
        other => shown(other),
    };
    let lkey = ExprCompiler::new(lscope.clone(), catalog, "JOIN").compile(&l_on)?;
    let rkey = ExprCompiler::new(rscope.clone(), catalog, "JOIN").compile(&r_on)?;
    let key_type = crate::expr::common_type([&lkey.ty, &rkey.ty]).ok_or_else(|| {
        PlanError::ty(format!(
            "Invalid join condition: types don't match. Got {}{{{}}} = {}{{{}}}.",
            shown(&l_on),
            type_name(&lkey.ty),
            shown(&r_on),
            type_name(&rkey.ty)
        ))
    })?;
    // the join key is the left expression, named as ksqlDB's pre-join
    // projection names it (`L_COL`)
    if crate::types::contains_map(&key_type) {
        let name = match strip(&l_on) {
            Expr::Column { name, .. } => format!("{}_{}", criteria.left_alias, name.value),
            _ => synthetic.clone(),
        };
        return Err(crate::types::map_key_error(&name, &key_type));
    }
    let lc = ExprCompiler::new(lscope.clone(), catalog, "JOIN");
    let rc = ExprCompiler::new(rscope.clone(), catalog, "JOIN");
    let lkey_expr = lc.cast_to(lkey, &key_type)?;
    let rkey_expr = rc.cast_to(rkey, &key_type)?;
    // a table side joins on its primary key; a left table may join on any
    // expression of its columns instead (a foreign-key join)
    let is_pk = |def: &SourceDef, on: &Expr| {
        matches!(strip(on), Expr::Column { name, .. }
            if def.key_columns().count() == 1 && def.key_columns().any(|k| k.name == name.value))
    };
    // an n-way join's left input is keyed by this join's expression when it
    // is one of the earlier joins' (their equivalence set)
    let nested_keyed = nested.as_ref().is_some_and(|n| {
        let on = canonical(&l_on, &lscope);
        n.key_exprs().iter().any(|e| canonical(e, &lscope) == on)
    });
    if nested.is_some() {
        let keyed = nested_keyed;
        if kinds == (SourceKind::Table, SourceKind::Table) && !keyed {
            return Err(PlanError::invalid(format!(
                "Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got {} = {}.",
                shown(&l_on),
                shown(&r_on)
            )));
        }
    }
    let foreign_key = kinds == (SourceKind::Table, SourceKind::Table)
        && nested.is_none()
        && !is_pk(&ldef, &l_on)
        && is_pk(&rdef, &r_on);
    if foreign_key && (ldef.window.is_some() || rdef.window.is_some()) {
        return Err(PlanError::invalid(
            "Foreign-key table-table joins are not supported on windowed tables.",
        ));
    }
    if foreign_key && join.kind == JoinKind::Right {
        return Err(PlanError::invalid(
            "RIGHT OUTER JOIN on a foreign key is not supported",
        ));
    }
    if foreign_key && !matches!(join.kind, JoinKind::Inner | JoinKind::Left) {
        return Err(PlanError::invalid(
            "Invalid join type: foreign-key table-table joins only support INNER and LEFT joins.",
        ));
    }
    for (def, on, alias) in [(&ldef, &l_on, &lalias), (&rdef, &r_on, &ralias)] {
        let left_side = std::ptr::eq(def, &ldef);
        if def.kind == SourceKind::Table
            && !(left_side && (foreign_key || nested.is_some()))
            && !is_pk(def, on)
        {
            return Err(match kinds {
                (SourceKind::Stream, SourceKind::Table) => PlanError::invalid(format!(
                    "Invalid join condition: stream-table joins require to join on the table's primary key. Got {condition}."
                )),
                (SourceKind::Table, SourceKind::Table) => PlanError::invalid(format!(
                    "Invalid join condition: table-table joins require to join on the primary key of the right input table. Got {condition}."
                )),
                _ => PlanError::Unsupported(format!(
                    "Cannot repartition a TABLE source. If this is a join, joins on tables must be on the table's PRIMARY KEY: {alias} is joined on {on}."
                )),
            });
        }
    }

    // and those of building it (the stream-stream joiner's, the join node's)
    match (kinds, &join.within) {
        ((SourceKind::Stream, SourceKind::Stream), None) => {
            return Err(PlanError::invalid(
                "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
            ))
        }
        ((SourceKind::Table, SourceKind::Table), Some(_)) => {
            return Err(PlanError::invalid(
                "A window definition was provided for a Table-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your Table-Table join again.",
            ))
        }
        ((SourceKind::Stream, SourceKind::Table), Some(_)) => {
            return Err(PlanError::invalid(
                "A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to execute your join again.",
            ))
        }
        _ => {}
    }

    // joined layout
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ScopeColumn> = Vec::new();
    if let Some(n) = &nested {
        // the earlier joins' layout, its own bookkeeping fields renamed out of the way
        for f in n.joined_schema.fields() {
            let name = if f.name().contains('.') {
                f.name().clone()
            } else {
                format!("$LEFT.{}", f.name())
            };
            fields.push(Field::new(name, f.data_type().clone(), true));
        }
        columns.extend(lscope.columns.iter().cloned());
    }
    let sides: Vec<(&Arc<SourceDef>, &String)> = if nested.is_some() {
        vec![(&rdef, &ralias)]
    } else {
        vec![(&ldef, &lalias), (&rdef, &ralias)]
    };
    for (def, alias) in sides {
        for f in def.row_schema().fields() {
            let index = fields.len();
            fields.push(Field::new(
                format!("{alias}.{}", f.name()),
                f.data_type().clone(),
                true,
            ));
            if !is_internal_column(f.name()) {
                columns.push(ScopeColumn {
                    qualifier: Some(alias.clone()),
                    name: f.name().clone(),
                    index,
                });
            }
        }
    }
    let key_index = fields.len();
    fields.push(Field::new(JOIN_KEY, key_type.clone(), true));
    // the join key itself: ksqlDB's synthetic ROWKEY
    columns.push(ScopeColumn {
        qualifier: None,
        name: synthetic.clone(),
        index: key_index,
    });
    fields.push(Field::new(ROWTIME, DataType::Int64, true));
    fields.push(Field::new(RECORD_HEADERS, headers_type(), true));
    fields.push(Field::new(TOMBSTONE, DataType::Boolean, false));
    // two windowed sources join on key and window (their keys are windowed
    // keys, as in Kafka Streams): the result is windowed by that window
    let window = match (&nested, ldef.window, rdef.window) {
        (None, Some(w), Some(_)) => Some(w),
        _ => None,
    };
    if window.is_some() {
        fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
        fields.push(Field::new(WINDOWEND, DataType::Int64, true));
    }
    let joined_schema: SchemaRef = Arc::new(Schema::new(fields));
    let scope = Scope {
        schema: joined_schema.clone(),
        columns,
    };
    let compiler = ExprCompiler::new(scope.clone(), catalog, "SELECT");

    let filter = match &q.where_clause {
        Some(w) => Some(
            crate::plan::compile_where(w, &scope, catalog, crate::plan::where_error).map_err(
                |e| match e {
                    // ksqlDB names a joined column `ALIAS_NAME` in WHERE's errors
                    PlanError::Type(m) => PlanError::Type(criteria::joined_names(&m, &all_sources)),
                    other => other,
                },
            )?,
        ),
        None => None,
    };

    // select items; `*` and `x.*` name columns ALIAS_NAME: a source's keys,
    // its window bounds when windowed (ksqlDB's join sources carry them as
    // values), its values and headers
    let mut items: Vec<(Expr, String)> = Vec::new();
    // a re-keyed join's `*` is over ksqlDB's pre-join projection, which
    // carries each side's values, then its pseudo columns, then its keys
    let rekeyed = !q.partition_by.is_empty();
    let star = |def: &SourceDef, alias: &str, out: &mut Vec<(Expr, String)>| {
        let bounds: &[&str] = match def.window {
            Some(_) => &[WINDOWSTART, WINDOWEND],
            None => &[],
        };
        let keys = def.key_columns().map(|c| c.name.as_str());
        let values = def
            .value_columns()
            .chain(def.header_columns())
            .map(|c| c.name.as_str());
        let names: Vec<&str> = if rekeyed {
            values
                .chain([
                    ROWTIME,
                    crate::catalog::ROWPARTITION,
                    crate::catalog::ROWOFFSET,
                ])
                .chain(keys)
                .chain(bounds.iter().copied())
                .collect()
        } else {
            keys.chain(bounds.iter().copied()).chain(values).collect()
        };
        for name in names {
            out.push((
                Expr::Column {
                    qualifier: Some(Ident::quoted(alias)),
                    name: Ident::quoted(name),
                    pos: Default::default(),
                },
                format!("{alias}_{name}"),
            ));
        }
    };
    let mut generated = 0usize;
    for item in &q.select {
        match item {
            SelectItem::Wildcard => {
                for (d, a) in &all_sources {
                    star(d, a, &mut items);
                }
            }
            SelectItem::QualifiedWildcard(a) if all_sources.iter().any(|(_, x)| *x == a.value) => {
                for (d, x) in &all_sources {
                    if *x == a.value {
                        star(d, x, &mut items);
                    }
                }
            }
            SelectItem::QualifiedWildcard(a) => {
                return Err(PlanError::invalid(format!(
                    "'{}' is not a valid stream/table name or alias.",
                    a.value
                )))
            }
            // every field of a struct, each a column named after it
            SelectItem::StructWildcard(expr) => {
                items.extend(crate::plan::struct_fields(&compiler, expr)?);
            }
            SelectItem::Expr { expr, alias } => {
                let name = match (alias, strip(expr)) {
                    (Some(a), _) => a.value.clone(),
                    (
                        None,
                        Expr::Column {
                            qualifier: Some(q),
                            name,
                            ..
                        },
                    ) => {
                        // a qualified column keeps its name unless both sources have it
                        let both = crate::catalog::is_pseudo_column(&name.value)
                            || all_sources
                                .iter()
                                .filter(|(d, _)| d.column(&name.value).is_some())
                                .count()
                                > 1;
                        if both {
                            format!("{}_{}", q.value, name.value)
                        } else {
                            name.value.clone()
                        }
                    }
                    (None, Expr::Column { name, .. }) => name.value.clone(),
                    (None, Expr::Dereference { field, .. }) => field.value.clone(),
                    (None, _) => {
                        let n = format!("KSQL_COL_{generated}");
                        generated += 1;
                        n
                    }
                };
                items.push((expr.clone(), name));
            }
        }
    }

    // the key column: the join expression of the key side (either side for INNER), or ROWKEY for FULL
    let l_canon = canonical(
        &l_on,
        &Scope {
            schema: joined_schema.clone(),
            columns: scope.columns.clone(),
        },
    );
    let r_canon = canonical(
        &r_on,
        &Scope {
            schema: joined_schema.clone(),
            columns: scope.columns.clone(),
        },
    );
    // a foreign-key join's result is keyed by the left table's primary key
    let left_pk: Option<Expr> = foreign_key.then(|| {
        let pk = ldef
            .key_columns()
            .next()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        canonical(
            &Expr::Column {
                qualifier: Some(Ident::quoted(&lalias)),
                name: Ident::quoted(pk),
                pos: Default::default(),
            },
            &scope,
        )
    });
    let mut join_exprs: Vec<Expr> = nested
        .as_ref()
        .map(|n| n.join_exprs.clone())
        .unwrap_or_default();
    join_exprs.extend([l_on.clone(), r_on.clone()]);
    let earlier: Vec<Expr> = nested
        .as_ref()
        .map(|n| n.key_exprs().iter().map(|e| canonical(e, &scope)).collect())
        .unwrap_or_default();
    let is_key_item = |e: &Expr| -> bool {
        let c = canonical(e, &scope);
        if let Some(pk) = &left_pk {
            return c == *pk;
        }
        let rowkey = matches!(strip(e), Expr::Column { name, qualifier: None, .. } if name.value == synthetic);
        match join.kind {
            JoinKind::Full => rowkey,
            _ => rowkey || c == l_canon || c == r_canon || earlier.contains(&c),
        }
    };
    // with several candidates in the projection, ksqlDB keys the result by the
    // left source's join expression
    // a foreign-key join's result is keyed by every primary key column of the
    // left table: each must be selected, once
    if let (true, Some(_)) = (foreign_key, sink) {
        let mut missing = Vec::new();
        for k in ldef.key_columns() {
            let pk = canonical(
                &Expr::Column {
                    qualifier: Some(Ident::quoted(&lalias)),
                    name: Ident::quoted(&k.name),
                    pos: Default::default(),
                },
                &scope,
            );
            let hits: Vec<&String> = items
                .iter()
                .filter(|(e, _)| canonical(e, &scope) == pk)
                .map(|(_, n)| n)
                .collect();
            match hits.as_slice() {
                [] => missing.push(format!("`{}`", k.name)),
                [_] => {}
                many => {
                    return Err(PlanError::invalid(format!(
                        "The projection contains a key column (`{lalias}_{}`) more than once, aliased as: {}.",
                        k.name,
                        many.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" and ")
                    )))
                }
            }
        }
        if !missing.is_empty() {
            let s = if missing.len() > 1 { "s" } else { "" };
            return Err(PlanError::invalid(format!(
                "Primary key column{s} missing in projection. For foreign-key table-table joins, the projection must include all primary key columns from the left input table (`{lalias}`). Missing column{s}: {}.",
                missing.join(", ")
            )));
        }
    }
    // PARTITION BY re-keys the joined rows by its expression, which the
    // projection must hold (`SELECT *` holds every column)
    let partitioned = !q.partition_by.is_empty();
    let keyless = matches!(q.partition_by.as_slice(), [Expr::Literal(Literal::Null)]);
    let key_item = match q.partition_by.as_slice() {
        [] => items
            .iter()
            .position(|(e, _)| is_key_item(e) && canonical(e, &scope) == l_canon)
            .or_else(|| items.iter().position(|(e, _)| is_key_item(e))),
        [Expr::Literal(Literal::Null)] => None,
        [by] => {
            let wanted = canonical(by, &scope);
            let found = items.iter().position(|(e, _)| canonical(e, &scope) == wanted);
            if found.is_none() {
                let shown = crate::rewrite::qualified_display(by, &scope);
                return Err(crate::keys_not_included(
                    sink.unwrap_or_default(),
                    "partitioning expression",
                    &[shown],
                    true,
                    false,
                ));
            }
            found
        }
        _ => {
            return Err(PlanError::Unsupported(
                "PARTITION BY several expressions over a join is not supported yet by this version of Sluice."
                    .into(),
            ))
        }
    };
    let mut out_columns: Vec<OutputColumn> = Vec::new();
    let mut key_name: Option<String> = None;
    let mut values = Vec::new();
    for (i, (e, name)) in items.iter().enumerate() {
        let c = compiler.compile(e)?;
        if key_name.is_none() && key_item == Some(i) {
            key_name = Some(name.clone());
            let (ty, expr): (DataType, PhysExpr) = if foreign_key || partitioned {
                (c.ty, c.expr)
            } else {
                (
                    key_type.clone(),
                    Arc::new(datafusion_physical_expr::expressions::Column::new(
                        JOIN_KEY, key_index,
                    )),
                )
            };
            out_columns.push(OutputColumn {
                name: name.clone(),
                ty,
                expr,
                role: ColumnRole::Key,
            });
            continue;
        }
        values.push(OutputColumn {
            name: name.clone(),
            ty: c.ty,
            expr: c.expr,
            role: ColumnRole::Value,
        });
    }
    // `SELECT *` brings the synthetic key along where the result is keyed by
    // one: a FULL OUTER join, or a join on expressions of both sides that
    // are not columns
    let column = |e: &Expr| matches!(strip(e), Expr::Column { .. });
    let synthetic_keyed = join.kind == JoinKind::Full || !(column(&l_on) || column(&r_on));
    let has_star = synthetic_keyed && q.select.iter().any(|i| matches!(i, SelectItem::Wildcard));
    if key_name.is_none() && has_star && !partitioned {
        // `*` brings the key along: ksqlDB names a synthetic one ROWKEY
        key_name = Some(synthetic.clone());
        out_columns.push(OutputColumn {
            name: synthetic.clone(),
            ty: key_type.clone(),
            expr: Arc::new(datafusion_physical_expr::expressions::Column::new(
                JOIN_KEY, key_index,
            )),
            role: ColumnRole::Key,
        });
    }
    if key_name.is_none() && !keyless {
        if let Some(sink) = sink {
            // the join expressions the result could be keyed by: this join's
            // two sides, and the earlier joins' when this one joins on their key
            let candidates: Vec<String> = if join.kind == JoinKind::Full {
                vec![synthetic.clone()]
            } else {
                let nested_exprs = nested.as_ref().map(|n| n.key_exprs()).unwrap_or_default();
                let mut exprs: Vec<&Expr> = Vec::new();
                if earlier.contains(&l_canon) {
                    exprs.extend(nested_exprs.iter());
                }
                exprs.extend([&l_on, &r_on]);
                let mut seen: Vec<Expr> = Vec::new();
                let mut listed = Vec::new();
                // only columns can be selected as the key
                for e in exprs
                    .into_iter()
                    .filter(|e| matches!(strip(e), Expr::Column { .. }))
                {
                    let c = canonical(e, &scope);
                    if !seen.contains(&c) {
                        seen.push(c);
                        listed.push(shown(e));
                    }
                }
                listed
            };
            let candidates = if candidates.is_empty() {
                vec![synthetic.clone()]
            } else {
                candidates
            };
            let synthetic_key = candidates == [synthetic.clone()];
            return Err(crate::keys_not_included(
                sink,
                "join expression",
                &candidates,
                false,
                synthetic_key,
            ));
        }
    }
    if sink.is_some() {
        if let Some(v) = values
            .iter()
            .find(|v| crate::catalog::is_pseudo_column(&v.name))
        {
            return Err(PlanError::reserved_in_select(&v.name));
        }
    }
    for v in &values {
        if out_columns
            .iter()
            .chain(values.iter().take_while(|x| !std::ptr::eq(*x, v)))
            .any(|o| o.name == v.name)
        {
            return Err(PlanError::invalid(format!(
                "Duplicate value columns found in schema: `{}` {}",
                v.name,
                type_name(&v.ty)
            )));
        }
    }
    out_columns.extend(values);

    let within = join
        .within
        .as_ref()
        .map(|w| (w.before.millis(), w.after.millis()));
    let result_kind = if kinds == (SourceKind::Table, SourceKind::Table) {
        SourceKind::Table
    } else {
        SourceKind::Stream
    };
    let joined_def = Arc::new(SourceDef {
        name: format!("{}_{}_JOIN", ldef.name, rdef.name),
        kind: result_kind,
        topic: String::new(),
        key_format: ldef.key_format.clone(),
        value_format: ldef.value_format.clone(),
        columns: Vec::new(),
        timestamp: None,
        window,
        is_source: false,
        sql: String::new(),
    });
    let project = ProjectPlan {
        source: joined_def,
        filter,
        columns: out_columns,
        emit: q.emit,
        limit: q.limit,
        repartitioned: true,
        output_timestamp: None,
        table_functions: Vec::new(),
        expanded_schema: joined_schema.clone(),
        value_dependent_keys: Vec::new(),
    };
    Ok(JoinPlan {
        kind: join.kind,
        left: JoinSide {
            source: ldef,
            alias: lalias,
            key: lkey_expr,
        },
        right: JoinSide {
            source: rdef,
            alias: ralias,
            key: rkey_expr,
        },
        key_type,
        within,
        grace_ms: join
            .within
            .as_ref()
            .and_then(|w| w.grace)
            .map(|g| g.millis()),
        foreign_key,
        joined_schema,
        project,
        nested,
        nested_keyed,
        scope_columns: scope.columns.clone(),
        all_sources,
        join_exprs,
    })
}

/// ksqlDB's name for a join's synthetic key column (`ColumnNames`):
/// `ROWKEY`, or when a column of a joined source is named `ROWKEY` or
/// `ROWKEY_n`, `ROWKEY_m` with the smallest `m` no column uses.
fn synthetic_join_key(sources: &[(Arc<SourceDef>, String)]) -> String {
    let used: std::collections::BTreeSet<u32> = sources
        .iter()
        .flat_map(|(d, _)| d.columns.iter())
        .filter_map(|c| match c.name.strip_prefix("ROWKEY") {
            Some("") => Some(0),
            Some(rest) => rest.strip_prefix('_')?.parse().ok(),
            None => None,
        })
        .collect();
    match (0..).find(|i| !used.contains(i)) {
        Some(0) | None => "ROWKEY".to_string(),
        Some(n) => format!("ROWKEY_{n}"),
    }
}
