//! ksqlDB's lambda functions TRANSFORM, FILTER and REDUCE over arrays and maps.
//!
//! A lambda body is compiled against the outer row layout plus its parameters. To
//! evaluate, the collection's elements are flattened into one batch (outer columns
//! repeated per element with `take`), the body runs once over that batch, and the
//! result is folded back into one collection per row. REDUCE is inherently
//! sequential, so it evaluates its body element by element.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, ListArray, MapArray, RecordBatch,
    RecordBatchOptions, StructArray, UInt32Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::{cast, concat, filter, take};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion_common::{DataFusionError, Result as DfResult};
use datafusion_expr::ColumnarValue;
use datafusion_physical_expr::PhysicalExpr;
use sluice_sql::Expr;

use crate::expr::{Compiled, ExprCompiler, PhysExpr};
use crate::types::{list_of, map_of, type_name};
use crate::PlanError;

pub fn is_higher_order(name: &str) -> bool {
    matches!(name, "TRANSFORM" | "FILTER" | "REDUCE")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Transform,
    Filter,
    Reduce,
}

#[derive(Debug)]
struct HigherOrderExpr {
    kind: Kind,
    collection: PhysExpr,
    init: Option<PhysExpr>,
    /// One body for arrays and FILTER/REDUCE; key and value bodies for TRANSFORM on maps.
    bodies: Vec<PhysExpr>,
    /// Layout the bodies were compiled against: outer columns then parameters.
    lambda_schema: SchemaRef,
    out: DataType,
}

impl PartialEq for HigherOrderExpr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.collection.as_ref() == other.collection.as_ref()
            && self.init.as_deref() == other.init.as_deref()
            && self.bodies.len() == other.bodies.len()
            && self
                .bodies
                .iter()
                .zip(&other.bodies)
                .all(|(a, b)| a.as_ref() == b.as_ref())
            && self.out == other.out
    }
}

impl Eq for HigherOrderExpr {}

impl Hash for HigherOrderExpr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.collection.as_ref().hash(state);
        self.out.hash(state);
    }
}

impl fmt::Display for HigherOrderExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self.kind, self.collection)
    }
}

fn lambda_of(e: &Expr, arity: usize, func: &str) -> Result<(Vec<String>, Expr), PlanError> {
    match e {
        Expr::Lambda { params, body } if params.len() == arity => Ok((
            params.iter().map(|p| p.value.clone()).collect(),
            (**body).clone(),
        )),
        Expr::Lambda { params, .. } => Err(PlanError::invalid(format!(
            "Lambda in {func} takes {arity} argument(s), got {}",
            params.len()
        ))),
        _ => Err(PlanError::invalid(format!(
            "{func} expects a lambda function as argument, got {e}"
        ))),
    }
}

fn entry_types(ty: &DataType) -> Option<(DataType, DataType)> {
    match ty {
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) => Some((kv[0].data_type().clone(), kv[1].data_type().clone())),
            _ => None,
        },
        _ => None,
    }
}

pub fn compile_higher_order(
    compiler: &ExprCompiler,
    name: &str,
    args: &[Expr],
) -> Result<Compiled, PlanError> {
    let kind = match name {
        "TRANSFORM" => Kind::Transform,
        "FILTER" => Kind::Filter,
        _ => Kind::Reduce,
    };
    let collection =
        compiler
            .compile(args.first().ok_or_else(|| {
                PlanError::invalid(format!("{name} needs a collection argument"))
            })?)?;
    let elem_params: Vec<DataType> = match &collection.ty {
        DataType::List(f) => vec![f.data_type().clone()],
        DataType::Map(_, _) => {
            let (k, v) = entry_types(&collection.ty).unwrap_or((DataType::Utf8, DataType::Null));
            vec![k, v]
        }
        DataType::Null => vec![DataType::Null],
        other => {
            return Err(PlanError::ty(format!(
                "{name} requires an ARRAY or MAP as first argument, got {}",
                type_name(other)
            )))
        }
    };
    let is_map = elem_params.len() == 2;
    let compile_body =
        |lambda: &Expr, state: Option<&DataType>| -> Result<(Compiled, SchemaRef), PlanError> {
            let arity = elem_params.len() + usize::from(state.is_some());
            let (params, body) = lambda_of(lambda, arity, name)?;
            let mut types: Vec<DataType> = state.into_iter().cloned().collect();
            types.extend(elem_params.iter().cloned());
            let extra: Vec<(String, DataType)> = params.into_iter().zip(types).collect();
            let scope = compiler.scope.extend(&extra);
            let inner = compiler.with_scope(scope);
            let c = inner.compile(&body)?;
            Ok((c, inner.scope.schema.clone()))
        };
    match kind {
        Kind::Transform => {
            let expected = if is_map { 3 } else { 2 };
            if args.len() != expected {
                return Err(PlanError::invalid(format!(
                    "TRANSFORM takes {expected} arguments for this collection, got {}",
                    args.len()
                )));
            }
            let mut bodies = Vec::new();
            let mut types = Vec::new();
            let mut schema = None;
            for lambda in &args[1..] {
                let (c, s) = compile_body(lambda, None)?;
                bodies.push(c.expr);
                types.push(c.ty);
                schema = Some(s);
            }
            let out = if is_map {
                map_of(types[0].clone(), types[1].clone())
            } else {
                list_of(types[0].clone())
            };
            build(kind, collection.expr, None, bodies, schema, out)
        }
        Kind::Filter => {
            if args.len() != 2 {
                return Err(PlanError::invalid("FILTER takes 2 arguments"));
            }
            let (c, s) = compile_body(&args[1], None)?;
            if c.ty != DataType::Boolean {
                return Err(PlanError::ty(format!(
                    "FILTER lambda must return BOOLEAN, got {}",
                    type_name(&c.ty)
                )));
            }
            build(
                kind,
                collection.expr,
                None,
                vec![c.expr],
                Some(s),
                collection.ty,
            )
        }
        Kind::Reduce => {
            if args.len() != 3 {
                return Err(PlanError::invalid("REDUCE takes 3 arguments"));
            }
            let init = compiler.compile(&args[1])?;
            let (c, s) = compile_body(&args[2], Some(&init.ty))?;
            let body = compiler
                .with_scope(crate::expr::Scope::of_schema(s.clone(), None))
                .cast_to(c, &init.ty)?;
            build(
                kind,
                collection.expr,
                Some(init.expr),
                vec![body],
                Some(s),
                init.ty,
            )
        }
    }
}

fn build(
    kind: Kind,
    collection: PhysExpr,
    init: Option<PhysExpr>,
    bodies: Vec<PhysExpr>,
    schema: Option<SchemaRef>,
    out: DataType,
) -> Result<Compiled, PlanError> {
    let lambda_schema = schema.ok_or_else(|| PlanError::invalid("lambda without body"))?;
    Ok(Compiled {
        expr: Arc::new(HigherOrderExpr {
            kind,
            collection,
            init,
            bodies,
            lambda_schema,
            out: out.clone(),
        }),
        ty: out,
    })
}

fn exec_err(e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(e.to_string())
}

/// For each element of `eb`: whether evaluating `e` throws in ksqlDB, whose
/// lambda bodies are compiled to Java: arithmetic on a NULL operand fails
/// there (unboxing), and the failure makes the whole higher-order call NULL
/// for its row. Operands are evaluated eagerly except where Java's `&&` and
/// `||` short-circuit; a CASE (lazy) and a nested lambda (its own rule) are
/// not looked into.
fn throws(e: &PhysExpr, eb: &RecordBatch) -> DfResult<Vec<bool>> {
    use datafusion_expr::Operator;
    use datafusion_physical_expr::expressions::{BinaryExpr, CaseExpr};
    let n = eb.num_rows();
    if e.downcast_ref::<HigherOrderExpr>().is_some() || e.downcast_ref::<CaseExpr>().is_some() {
        return Ok(vec![false; n]);
    }
    if let Some(b) = e.downcast_ref::<BinaryExpr>() {
        let (l, r) = (b.left(), b.right());
        let mut out = throws(l, eb)?;
        let right = throws(r, eb)?;
        match b.op() {
            Operator::And | Operator::Or => {
                let left = l.evaluate(eb)?.into_array(n)?;
                let left = left.as_boolean();
                let and = *b.op() == Operator::And;
                for i in 0..n {
                    let right_runs = left.is_valid(i) && left.value(i) == and;
                    out[i] |= right_runs && right[i];
                }
            }
            Operator::Plus
            | Operator::Minus
            | Operator::Multiply
            | Operator::Divide
            | Operator::Modulo => {
                let lv = l.evaluate(eb)?.into_array(n)?;
                let rv = r.evaluate(eb)?.into_array(n)?;
                for i in 0..n {
                    out[i] |= right[i] || lv.is_null(i) || rv.is_null(i);
                }
            }
            _ => {
                for i in 0..n {
                    out[i] |= right[i];
                }
            }
        }
        return Ok(out);
    }
    let mut out = vec![false; n];
    for child in e.children() {
        for (o, t) in out.iter_mut().zip(throws(child, eb)?) {
            *o |= t;
        }
    }
    // division and modulo are functions here (a zero divisor gives NULL)
    let arithmetic = e
        .downcast_ref::<datafusion_physical_expr::ScalarFunctionExpr>()
        .is_some_and(|f| matches!(f.name(), "ksql_divide" | "ksql_modulo"));
    if arithmetic {
        for child in e.children() {
            let v = child.evaluate(eb)?.into_array(n)?;
            for (i, o) in out.iter_mut().enumerate() {
                *o |= v.is_null(i);
            }
        }
    }
    Ok(out)
}

/// `nulls` with the rows in `failed` made NULL.
fn fail_rows(
    nulls: Option<arrow::buffer::NullBuffer>,
    n: usize,
    failed: &[bool],
) -> Option<arrow::buffer::NullBuffer> {
    if !failed.iter().any(|f| *f) {
        return nulls;
    }
    let valid: arrow::buffer::BooleanBuffer = (0..n)
        .map(|r| !failed[r] && nulls.as_ref().is_none_or(|nb| nb.is_valid(r)))
        .collect();
    Some(arrow::buffer::NullBuffer::new(valid))
}

/// The rows (of `n`) with an element (each element's row in `rows`) whose
/// evaluation of one of `bodies` throws.
fn failed_rows(
    bodies: &[PhysExpr],
    eb: &RecordBatch,
    rows: &UInt32Array,
    n: usize,
) -> DfResult<Vec<bool>> {
    let mut failed = vec![false; n];
    for body in bodies {
        for (i, t) in throws(body, eb)?.into_iter().enumerate() {
            if t {
                failed[rows.value(i) as usize] = true;
            }
        }
    }
    Ok(failed)
}

impl HigherOrderExpr {
    /// The outer columns repeated once per element, plus the element columns.
    fn element_batch(
        &self,
        outer: &RecordBatch,
        rows: &UInt32Array,
        elems: &[ArrayRef],
        state: Option<ArrayRef>,
    ) -> DfResult<RecordBatch> {
        let mut columns: Vec<ArrayRef> = outer
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), rows, None))
            .collect::<Result<_, _>>()?;
        columns.extend(state);
        columns.extend(elems.iter().cloned());
        // the parameter columns may be typed Null in the layout; make the batch match it
        let columns = columns
            .into_iter()
            .zip(self.lambda_schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    cast(&c, f.data_type())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new_with_options(
            self.lambda_schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )?)
    }
}

/// (row of each element, element arrays, offsets normalized to start at 0)
fn flatten(collection: &ArrayRef) -> DfResult<(UInt32Array, Vec<ArrayRef>, OffsetBuffer<i32>)> {
    let (offsets, elems): (&[i32], Vec<ArrayRef>) = match collection.data_type() {
        DataType::List(_) => {
            let l = collection.as_list::<i32>();
            (l.value_offsets(), vec![l.values().clone()])
        }
        DataType::Map(_, _) => {
            let m = collection.as_map();
            (
                m.value_offsets(),
                vec![m.keys().clone(), m.values().clone()],
            )
        }
        other => return Err(exec_err(format!("not a collection: {other}"))),
    };
    let first = offsets[0] as usize;
    let last = offsets[offsets.len() - 1] as usize;
    let elems = elems.iter().map(|a| a.slice(first, last - first)).collect();
    let mut rows = Vec::with_capacity(last - first);
    for r in 0..offsets.len() - 1 {
        let n = if collection.is_null(r) {
            0
        } else {
            (offsets[r + 1] - offsets[r]) as usize
        };
        rows.extend(std::iter::repeat_n(r as u32, n));
    }
    let lengths = (0..offsets.len() - 1).map(|r| (offsets[r + 1] - offsets[r]) as usize);
    Ok((
        UInt32Array::from(rows),
        elems,
        OffsetBuffer::from_lengths(lengths),
    ))
}

impl PhysicalExpr for HigherOrderExpr {
    fn return_field(&self, _input_schema: &Schema) -> DfResult<Arc<Field>> {
        Ok(Arc::new(Field::new(
            format!("{:?}", self.kind),
            self.out.clone(),
            true,
        )))
    }

    fn evaluate(&self, batch: &RecordBatch) -> DfResult<ColumnarValue> {
        let n = batch.num_rows();
        let collection = self.collection.evaluate(batch)?.into_array(n)?;
        if collection.data_type() == &DataType::Null {
            return Ok(ColumnarValue::Array(new_null_array(&self.out, n)));
        }
        let nulls = collection.nulls().cloned();
        let (rows, elems, offsets) = flatten(&collection)?;
        match self.kind {
            Kind::Transform => {
                let eb = self.element_batch(batch, &rows, &elems, None)?;
                let outs = self
                    .bodies
                    .iter()
                    .map(|b| b.evaluate(&eb)?.into_array(eb.num_rows()))
                    .collect::<DfResult<Vec<_>>>()?;
                let mut failed = failed_rows(&self.bodies, &eb, &rows, n)?;
                if outs.len() == 2 {
                    // a map whose new keys repeat fails in ksqlDB
                    let keys = arrow::row::RowConverter::new(vec![arrow::row::SortField::new(
                        outs[0].data_type().clone(),
                    )])?
                    .convert_columns(std::slice::from_ref(&outs[0]))?;
                    let offs = offsets.as_ref();
                    for (r, f) in failed.iter_mut().enumerate() {
                        let mut seen = std::collections::HashSet::new();
                        for i in offs[r] as usize..offs[r + 1] as usize {
                            *f |= !seen.insert(keys.row(i));
                        }
                    }
                }
                let nulls = fail_rows(nulls, n, &failed);
                Ok(ColumnarValue::Array(rebuild(
                    &self.out, offsets, outs, nulls,
                )?))
            }
            Kind::Filter => {
                let eb = self.element_batch(batch, &rows, &elems, None)?;
                let failed = failed_rows(&self.bodies, &eb, &rows, n)?;
                let nulls = fail_rows(nulls, n, &failed);
                let keep = self.bodies[0].evaluate(&eb)?.into_array(eb.num_rows())?;
                let keep: BooleanArray = keep
                    .as_boolean()
                    .iter()
                    .map(|b| Some(b.unwrap_or(false)))
                    .collect();
                let kept = elems
                    .iter()
                    .map(|e| filter(e.as_ref(), &keep))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut lengths = vec![0usize; n];
                for (i, r) in rows.values().iter().enumerate() {
                    if keep.value(i) {
                        lengths[*r as usize] += 1;
                    }
                }
                Ok(ColumnarValue::Array(rebuild(
                    &self.out,
                    OffsetBuffer::from_lengths(lengths),
                    kept,
                    nulls,
                )?))
            }
            Kind::Reduce => {
                let init = self
                    .init
                    .as_ref()
                    .ok_or_else(|| exec_err("REDUCE without initial state"))?
                    .evaluate(batch)?
                    .into_array(n)?;
                let mut results = Vec::with_capacity(n);
                let offs = offsets.as_ref();
                for r in 0..n {
                    let mut state = init.slice(r, 1);
                    if collection.is_valid(r) {
                        for i in offs[r] as usize..offs[r + 1] as usize {
                            let one_row = UInt32Array::from(vec![r as u32]);
                            let item: Vec<ArrayRef> = elems.iter().map(|e| e.slice(i, 1)).collect();
                            let eb =
                                self.element_batch(batch, &one_row, &item, Some(state.clone()))?;
                            if throws(&self.bodies[0], &eb)?[0] {
                                state = new_null_array(&self.out, 1);
                                break;
                            }
                            state = self.bodies[0].evaluate(&eb)?.into_array(1)?;
                        }
                    }
                    results.push(state);
                }
                let refs: Vec<&dyn Array> = results.iter().map(|a| a.as_ref()).collect();
                let out = if refs.is_empty() {
                    new_null_array(&self.out, 0)
                } else {
                    concat(&refs)?
                };
                Ok(ColumnarValue::Array(out))
            }
        }
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        let mut c = vec![&self.collection];
        c.extend(self.init.iter());
        c
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> DfResult<Arc<dyn PhysicalExpr>> {
        let mut it = children.into_iter();
        let collection = it.next().ok_or_else(|| exec_err("missing collection"))?;
        let init = it.next();
        Ok(Arc::new(HigherOrderExpr {
            kind: self.kind,
            collection,
            init,
            bodies: self.bodies.clone(),
            lambda_schema: self.lambda_schema.clone(),
            out: self.out.clone(),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// A list or map with the given offsets around new element arrays.
fn rebuild(
    out: &DataType,
    offsets: OffsetBuffer<i32>,
    elems: Vec<ArrayRef>,
    nulls: Option<arrow::buffer::NullBuffer>,
) -> DfResult<ArrayRef> {
    match out {
        DataType::List(item) => {
            let values = cast(&elems[0], item.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                item.clone(),
                offsets,
                values,
                nulls,
            )?))
        }
        DataType::Map(entries, sorted) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(exec_err("malformed map type"));
            };
            let kv: Fields = kv.clone();
            let keys = cast(&elems[0], kv[0].data_type())?;
            let values = cast(&elems[1], kv[1].data_type())?;
            let s = StructArray::try_new(kv, vec![keys, values], None)?;
            Ok(Arc::new(MapArray::try_new(
                entries.clone(),
                offsets,
                s,
                nulls,
                *sorted,
            )?))
        }
        other => Err(exec_err(format!("cannot rebuild {other}"))),
    }
}
