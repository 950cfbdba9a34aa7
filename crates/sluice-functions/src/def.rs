//! The function-definition framework: signature parsing, ksqlDB overload
//! resolution with implicit widening, and the generic `ScalarUDFImpl`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use crate::arrow::array::{new_empty_array, Array, ArrayRef};
use crate::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use crate::util::{cast_safe, list_type, map_type, null_of, plan_err_msg, sql_type_name};

/// Per-row implementation: receives one value per argument (already cast to
/// the resolved parameter types) and returns `None` for a NULL result.
pub(crate) type RowFn = fn(&[ScalarValue], &Ctx) -> Option<ScalarValue>;
/// Computes the return type from the resolved argument types (used where the
/// signature text cannot express it, e.g. decimal precision rules).
pub(crate) type RetFn = fn(&[DataType]) -> Result<DataType>;

/// Call context handed to the implementations.
pub(crate) struct Ctx<'a> {
    /// The resolved return type.
    pub ret: &'a DataType,
}

/// One ksqlDB function.
pub(crate) struct FnDef {
    pub name: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    pub signatures: &'static [&'static str],
    pub eval: RowFn,
    /// NULL in any argument gives NULL without calling `eval` (row mode).
    pub strict: bool,
    pub volatile: bool,
    pub ret: Option<RetFn>,
}

/// Builds a strict, immutable, row-evaluated definition.
pub(crate) fn def(
    category: &'static str,
    name: &'static str,
    description: &'static str,
    signatures: &'static [&'static str],
    f: RowFn,
) -> FnDef {
    FnDef {
        name,
        category,
        description,
        signatures,
        eval: f,
        strict: true,
        volatile: false,
        ret: None,
    }
}

impl FnDef {
    /// The function sees NULL arguments itself.
    pub fn lenient(mut self) -> Self {
        self.strict = false;
        self
    }
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }
    pub fn ret(mut self, f: RetFn) -> Self {
        self.ret = Some(f);
        self
    }
}

// ---------------------------------------------------------------------------
// Signature language
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    Bool,
    Int,
    BigInt,
    Double,
    Decimal,
    Str,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    /// Empty: any struct.
    Struct(Vec<(String, Ty)>),
    Any,
    Var(char),
}

impl Ty {
    /// Whether the type holds a type variable.
    fn has_generics(&self) -> bool {
        match self {
            Ty::Var(_) => true,
            Ty::Array(e) => e.has_generics(),
            Ty::Map(k, v) => k.has_generics() || v.has_generics(),
            Ty::Struct(fields) => fields.iter().any(|(_, t)| t.has_generics()),
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Overload {
    params: Vec<Ty>,
    variadic: bool,
    ret: Ty,
}

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

fn parse_ty(s: &str) -> std::result::Result<Ty, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("ARRAY<").and_then(|r| r.strip_suffix('>')) {
        return Ok(Ty::Array(Box::new(parse_ty(inner)?)));
    }
    if let Some(inner) = s.strip_prefix("MAP<").and_then(|r| r.strip_suffix('>')) {
        let parts = split_top(inner);
        if parts.len() != 2 {
            return Err(format!("bad map type {s}"));
        }
        return Ok(Ty::Map(
            Box::new(parse_ty(parts[0])?),
            Box::new(parse_ty(parts[1])?),
        ));
    }
    if let Some(inner) = s.strip_prefix("STRUCT<").and_then(|r| r.strip_suffix('>')) {
        let mut fields = Vec::new();
        for p in split_top(inner) {
            let (n, t) = p.split_once(' ').ok_or(format!("bad struct field {p}"))?;
            fields.push((n.to_string(), parse_ty(t)?));
        }
        return Ok(Ty::Struct(fields));
    }
    Ok(match s {
        "BOOLEAN" => Ty::Bool,
        "INT" => Ty::Int,
        "BIGINT" => Ty::BigInt,
        "DOUBLE" => Ty::Double,
        "DECIMAL" => Ty::Decimal,
        "STRING" => Ty::Str,
        "BYTES" => Ty::Bytes,
        "DATE" => Ty::Date,
        "TIME" => Ty::Time,
        "TIMESTAMP" => Ty::Timestamp,
        "STRUCT" => Ty::Struct(vec![]),
        "ANY" => Ty::Any,
        v if v.len() == 1 && v.chars().all(|c| c.is_ascii_uppercase()) => {
            Ty::Var(v.chars().next().unwrap_or('T'))
        }
        other => return Err(format!("unknown type {other}")),
    })
}

/// One parameter of a signature as written: `name TYPE`, or `name TYPE...`
/// for a variadic one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: &'a str,
    pub ty: &'a str,
    pub variadic: bool,
}

/// Reads one parameter (`None` when it is not `name TYPE`).
pub fn param_parts(p: &str) -> Option<Param<'_>> {
    let (name, ty) = p.trim().split_once(char::is_whitespace)?;
    let ty = ty.trim();
    Some(match ty.strip_suffix("...") {
        Some(t) => Param {
            name,
            ty: t.trim(),
            variadic: true,
        },
        None => Param {
            name,
            ty,
            variadic: false,
        },
    })
}

/// Reads `NAME(a STRING, b INT...) => STRING`: its parameters, and its
/// result's type as written.
pub fn signature_parts(sig: &str) -> Option<(Vec<Param<'_>>, &str)> {
    let (lhs, ret) = sig.split_once("=>")?;
    let open = lhs.find('(')?;
    let close = lhs.rfind(')')?;
    let params = split_top(&lhs[open + 1..close])
        .into_iter()
        .map(param_parts)
        .collect::<Option<Vec<_>>>()?;
    Some((params, ret.trim()))
}

/// Parses `NAME(a STRING, b INT...) => STRING`.
pub(crate) fn parse_signature(sig: &str) -> std::result::Result<Overload, String> {
    let (written, ret) = signature_parts(sig).ok_or(format!("bad signature {sig}"))?;
    let mut params = Vec::new();
    for (i, p) in written.iter().enumerate() {
        if p.variadic && i + 1 != written.len() {
            return Err(format!("variadic parameter must be last in {sig}"));
        }
        params.push(parse_ty(p.ty)?);
    }
    Ok(Overload {
        params,
        variadic: written.last().is_some_and(|p| p.variadic),
        ret: parse_ty(ret)?,
    })
}

impl Overload {
    /// An overload taking and returning these Arrow types.
    pub(crate) fn of_types(params: &[DataType], variadic: bool, ret: &DataType) -> Overload {
        Overload {
            params: params.iter().map(ty_of).collect(),
            variadic,
            ret: ty_of(ret),
        }
    }
}

impl Overload {
    /// An overload whose types are these Arrow types, or where one is
    /// `Null`, the type written beside it (with type variables: `ARRAY<T>`).
    pub(crate) fn of_written(
        params: &[(&DataType, &str)],
        variadic: bool,
        ret: (&DataType, &str),
    ) -> Overload {
        let ty = |(t, text): (&DataType, &str)| match t {
            DataType::Null => parse_ty(text).unwrap_or(Ty::Any),
            exact => ty_of(exact),
        };
        Overload {
            params: params.iter().map(|p| ty(*p)).collect(),
            variadic,
            ret: ty(ret),
        }
    }
}

/// The signature language's type of an Arrow type (`ANY` for one it has no word for).
fn ty_of(t: &DataType) -> Ty {
    match t {
        DataType::Boolean => Ty::Bool,
        DataType::Int32 => Ty::Int,
        DataType::Int64 => Ty::BigInt,
        DataType::Float64 => Ty::Double,
        DataType::Decimal128(_, _) => Ty::Decimal,
        DataType::Utf8 => Ty::Str,
        DataType::Binary => Ty::Bytes,
        DataType::Date32 => Ty::Date,
        DataType::Time32(_) => Ty::Time,
        DataType::Timestamp(_, _) => Ty::Timestamp,
        DataType::List(f) => Ty::Array(Box::new(ty_of(f.data_type()))),
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Ty::Map(
                Box::new(ty_of(kv[0].data_type())),
                Box::new(ty_of(kv[1].data_type())),
            ),
            _ => Ty::Any,
        },
        DataType::Struct(fields) => Ty::Struct(
            fields
                .iter()
                .map(|f| (f.name().clone(), ty_of(f.data_type())))
                .collect(),
        ),
        _ => Ty::Any,
    }
}

// ---------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------

type Bindings = Vec<(char, DataType)>;

fn bound(b: &Bindings, c: char) -> Option<&DataType> {
    b.iter().find(|(k, _)| *k == c).map(|(_, t)| t)
}

/// Rank of a numeric type in ksqlDB's widening chain.
fn num_rank(t: &DataType) -> Option<u8> {
    match t {
        DataType::Int32 => Some(0),
        DataType::Int64 => Some(1),
        DataType::Decimal128(_, _) => Some(2),
        DataType::Float64 => Some(3),
        _ => None,
    }
}

fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Time32(_) | DataType::Timestamp(_, _)
    )
}

fn int_digits(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((19, 0)),
        DataType::Decimal128(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// The common supertype of two types under ksqlDB's implicit widening.
pub(crate) fn widen(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (DataType::Null, x) | (x, DataType::Null) => Some(x.clone()),
        (DataType::Utf8, t) | (t, DataType::Utf8) if is_temporal(t) => Some(t.clone()),
        (DataType::List(fa), DataType::List(fb)) => {
            Some(list_type(widen(fa.data_type(), fb.data_type())?))
        }
        _ => {
            let (ra, rb) = (num_rank(a)?, num_rank(b)?);
            if ra == 3 || rb == 3 {
                return Some(DataType::Float64);
            }
            if ra == 2 || rb == 2 {
                let (pa, sa) = int_digits(a)?;
                let (pb, sb) = int_digits(b)?;
                let scale = sa.max(sb);
                let ints = (pa as i16 - sa as i16).max(pb as i16 - sb as i16);
                let p = (ints + scale as i16).clamp(1, 38) as u8;
                return Some(DataType::Decimal128(p, scale));
            }
            Some(if ra.max(rb) == 1 {
                DataType::Int64
            } else {
                DataType::Int32
            })
        }
    }
}

/// First pass: bind type variables.
fn bind(p: &Ty, a: &DataType, b: &mut Bindings) -> bool {
    match (p, a) {
        (Ty::Var(c), _) => match bound(b, *c).cloned() {
            None => {
                b.push((*c, a.clone()));
                true
            }
            Some(prev) => match widen(&prev, a) {
                Some(w) => {
                    for e in b.iter_mut() {
                        if e.0 == *c {
                            e.1 = w.clone();
                        }
                    }
                    true
                }
                None => false,
            },
        },
        (Ty::Array(e), DataType::List(f)) => bind(e, f.data_type(), b),
        (Ty::Map(k, v), DataType::Map(f, _)) => match f.data_type() {
            DataType::Struct(fs) if fs.len() == 2 => {
                bind(k, fs[0].data_type(), b) && bind(v, fs[1].data_type(), b)
            }
            _ => false,
        },
        _ => true,
    }
}

/// Concrete type for a pattern given bindings (`None` for unbound variables).
fn resolve(p: &Ty, b: &Bindings) -> Option<DataType> {
    Some(match p {
        Ty::Bool => DataType::Boolean,
        Ty::Int => DataType::Int32,
        Ty::BigInt => DataType::Int64,
        Ty::Double => DataType::Float64,
        Ty::Decimal => return None,
        Ty::Str => DataType::Utf8,
        Ty::Bytes => DataType::Binary,
        Ty::Date => DataType::Date32,
        Ty::Time => DataType::Time32(TimeUnit::Millisecond),
        Ty::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        Ty::Array(e) => list_type(resolve(e, b).unwrap_or(DataType::Null)),
        Ty::Map(k, v) => map_type(
            resolve(k, b).unwrap_or(DataType::Utf8),
            resolve(v, b).unwrap_or(DataType::Null),
        ),
        Ty::Struct(fs) if !fs.is_empty() => DataType::Struct(Fields::from(
            fs.iter()
                .map(|(n, t)| Field::new(n, resolve(t, b).unwrap_or(DataType::Null), true))
                .collect::<Vec<_>>(),
        )),
        Ty::Struct(_) | Ty::Any => return None,
        Ty::Var(c) => match bound(b, *c) {
            Some(DataType::Null) | None => return None,
            Some(t) => t.clone(),
        },
    })
}

/// Second pass: cost of passing `a` where `p` is expected, and the type the
/// argument must be cast to.
fn accept(p: &Ty, a: &DataType, b: &Bindings) -> Option<(u32, DataType)> {
    use DataType as D;
    if *a == D::Null {
        return Some((0, resolve(p, b).unwrap_or(D::Null)));
    }
    let same = |c: u32| Some((c, a.clone()));
    match (p, a) {
        (Ty::Any, _) => same(0),
        (Ty::Bool, D::Boolean) => same(0),
        (Ty::Int, D::Int32) => same(0),
        (Ty::Int, D::Int8 | D::Int16 | D::UInt8 | D::UInt16) => Some((0, D::Int32)),
        (Ty::BigInt, D::Int64) => same(0),
        (Ty::BigInt, D::Int32 | D::Int8 | D::Int16 | D::UInt8 | D::UInt16 | D::UInt32) => {
            Some((1, D::Int64))
        }
        (Ty::Decimal, D::Decimal128(_, _)) => same(0),
        (Ty::Decimal, D::Int64) => Some((2, D::Decimal128(19, 0))),
        (Ty::Decimal, D::Int32) => Some((3, D::Decimal128(10, 0))),
        (Ty::Double, D::Float64) => same(0),
        (Ty::Double, D::Float32) => Some((0, D::Float64)),
        (Ty::Double, D::Decimal128(_, _)) => Some((4, D::Float64)),
        (Ty::Double, D::Int64) => Some((5, D::Float64)),
        (Ty::Double, D::Int32) => Some((6, D::Float64)),
        (Ty::Str, D::Utf8) => same(0),
        (Ty::Str, D::LargeUtf8 | D::Utf8View) => Some((0, D::Utf8)),
        (Ty::Bytes, D::Binary) => same(0),
        (Ty::Bytes, D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_)) => Some((0, D::Binary)),
        (Ty::Date, D::Date32) => same(0),
        (Ty::Time, D::Time32(TimeUnit::Millisecond)) => same(0),
        (Ty::Timestamp, D::Timestamp(TimeUnit::Millisecond, None)) => same(0),
        (Ty::Timestamp, D::Timestamp(_, _)) => Some((0, D::Timestamp(TimeUnit::Millisecond, None))),
        // ksqlDB coerces string literals to temporal types.
        (Ty::Date | Ty::Time | Ty::Timestamp, D::Utf8) => Some((8, resolve(p, b)?)),
        (Ty::Array(e), D::List(f)) => {
            let (c, t) = accept(e, f.data_type(), b)?;
            Some((c, list_type(t)))
        }
        (Ty::Map(k, v), D::Map(f, _)) => match f.data_type() {
            D::Struct(fs) if fs.len() == 2 => {
                let (ck, tk) = accept(k, fs[0].data_type(), b)?;
                let (cv, tv) = accept(v, fs[1].data_type(), b)?;
                Some((ck + cv, map_type(tk, tv)))
            }
            _ => None,
        },
        (Ty::Struct(_), D::Struct(_)) => same(0),
        (Ty::Var(c), _) => {
            let t = bound(b, *c)?;
            if t == a {
                return same(0);
            }
            let w = widen(t, a)?;
            if &w == t {
                Some((1, w))
            } else {
                None
            }
        }
        _ => None,
    }
}

pub(crate) struct Resolved {
    /// Which overload was chosen.
    pub index: usize,
    pub args: Vec<DataType>,
    pub ret: DataType,
}

/// What overload resolution needs to know of a function beside its overloads.
pub(crate) struct Callee<'a> {
    pub name: &'a str,
    /// Its signatures as text, for the message of a call none takes.
    pub signatures: &'a [&'a str],
    pub ret: Option<RetFn>,
}

fn try_overload(
    ret_fn: Option<RetFn>,
    ov: &Overload,
    args: &[DataType],
) -> Option<(u32, Resolved, bool)> {
    let n = ov.params.len();
    if ov.variadic {
        if args.len() + 1 < n {
            return None;
        }
    } else if args.len() != n {
        return None;
    }
    let param = |i: usize| -> &Ty { ov.params.get(i).unwrap_or(&ov.params[n - 1]) };
    let mut b = Bindings::new();
    for (i, a) in args.iter().enumerate() {
        if !bind(param(i), a, &mut b) {
            return None;
        }
    }
    let mut cost = 0;
    let mut targets = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let (c, t) = accept(param(i), a, &b)?;
        cost += c;
        targets.push(t);
    }
    let ambiguous = matches!(&ov.ret, Ty::Var(c) if resolve(&Ty::Var(*c), &b).is_none());
    let ret = match ret_fn {
        Some(f) => f(&targets).ok()?,
        None => match &ov.ret {
            Ty::Decimal => targets
                .iter()
                .find(|t| matches!(t, DataType::Decimal128(_, _)))
                .cloned()
                .unwrap_or(DataType::Decimal128(38, 18)),
            other => resolve(other, &b).unwrap_or(DataType::Null),
        },
    };
    Some((
        cost,
        Resolved {
            index: 0,
            args: targets,
            ret,
        },
        ambiguous,
    ))
}

pub(crate) fn resolve_call(
    def: &Callee<'_>,
    overloads: &[Overload],
    args: &[DataType],
) -> Result<Resolved> {
    // as ksqlDB's UdfIndex: the overloads taking the arguments as they
    // are, else those taking them through implicit casts; among several,
    // one without varargs beats one with, then more parameters, then fewer
    // generic ones; a tie is ambiguous
    let mut exact = Vec::new();
    let mut cast = Vec::new();
    for (index, ov) in overloads.iter().enumerate() {
        if let Some(mut r) = try_overload(def.ret, ov, args) {
            r.1.index = index;
            if r.0 == 0 {
                exact.push((ov, r));
            } else {
                cast.push((ov, r));
            }
        }
    }
    let mut candidates = if exact.is_empty() { cast } else { exact };
    let rank = |ov: &Overload| {
        let generics = ov.params.iter().filter(|p| p.has_generics()).count();
        (!ov.variadic, ov.params.len(), std::cmp::Reverse(generics))
    };
    candidates.sort_by_key(|(ov, _)| rank(ov));
    let tie = candidates.len() > 1
        && rank(candidates[candidates.len() - 1].0) == rank(candidates[candidates.len() - 2].0);
    let best = candidates
        .pop()
        .map(|(_, (c, r, ambiguous))| (c, r, ambiguous || tie));
    let names = args
        .iter()
        .map(sql_type_name)
        .collect::<Vec<_>>()
        .join(", ");
    match best {
        Some((_, _, true)) => Err(plan_err_msg(format!(
            "Function '{}' cannot be resolved due to ambiguous method parameters ({names}).",
            declared_name(def.name)
        ))),
        Some((_, r, false)) => Ok(r),
        None => Err(plan_err_msg(format!(
            "Function '{}' does not accept parameters ({names}).\nValid alternatives are:\n{}\nFor detailed information on a function run: DESCRIBE FUNCTION <Function-Name>;",
            declared_name(def.name),
            def.signatures.join("\n")
        ))),
    }
}

/// A function's name as ksqlDB's UDF declares it (its messages show it so):
/// lower case for most, as written for those declared otherwise.
pub fn declared_name(name: &str) -> String {
    const DECLARED: [&str; 26] = [
        "ARRAY_CONTAINS",
        "ARRAY_JOIN",
        "ARRAY_LENGTH",
        "AS_MAP",
        "AS_VALUE",
        "Abs",
        "COALESCE",
        "Ceil",
        "Chr",
        "ENTRIES",
        "Floor",
        "GENERATE_SERIES",
        "IFNULL",
        "IS_JSON_STRING",
        "JSON_ARRAY_CONTAINS",
        "JSON_ARRAY_LENGTH",
        "JSON_CONCAT",
        "JSON_ITEMS",
        "JSON_KEYS",
        "JSON_RECORDS",
        "LPad",
        "NULLIF",
        "RPad",
        "Round",
        "TO_JSON_STRING",
        "UUID",
    ];
    DECLARED
        .iter()
        .find(|d| d.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_lowercase(), |d| d.to_string())
}

// ---------------------------------------------------------------------------
// The UDF
// ---------------------------------------------------------------------------

#[derive(Debug)]
pub(crate) struct KsqlUdf {
    name: &'static str,
    signature: Signature,
    inner: Arc<Inner>,
}

struct Inner {
    def: FnDef,
    overloads: Vec<Overload>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.def.name)
    }
}

impl PartialEq for KsqlUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for KsqlUdf {}
impl Hash for KsqlUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl KsqlUdf {
    pub fn new(def: FnDef) -> Self {
        let overloads = def
            .signatures
            .iter()
            .filter_map(|s| match parse_signature(s) {
                Ok(o) => Some(o),
                Err(e) => {
                    debug_assert!(false, "{e}");
                    None
                }
            })
            .collect();
        let vol = if def.volatile {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        };
        let signature = Signature::one_of(
            vec![TypeSignature::Nullary, TypeSignature::UserDefined],
            vol,
        );
        KsqlUdf {
            name: def.name,
            signature,
            inner: Arc::new(Inner { def, overloads }),
        }
    }

    fn callee(&self) -> Callee<'_> {
        let def = &self.inner.def;
        Callee {
            name: def.name,
            signatures: def.signatures,
            ret: def.ret,
        }
    }

    fn run(&self, args: Vec<ColumnarValue>, rows: usize) -> Result<ColumnarValue> {
        let def = &self.inner.def;
        let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
        let res = resolve_call(&self.callee(), &self.inner.overloads, &types)?;
        let args = args
            .into_iter()
            .zip(&res.args)
            .map(|(a, t)| {
                if &a.data_type() == t || *t == DataType::Null {
                    Ok(a)
                } else {
                    match a {
                        ColumnarValue::Array(arr) => cast_safe(&arr, t).map(ColumnarValue::Array),
                        ColumnarValue::Scalar(s) => {
                            let arr = cast_safe(&s.to_array_of_size(1)?, t)?;
                            ScalarValue::try_from_array(&arr, 0).map(ColumnarValue::Scalar)
                        }
                    }
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let ctx_rows = if all_scalar && !def.volatile { 1 } else { rows };
        let arrays: Vec<ArrayRef> = args
            .iter()
            .map(|a| a.to_array(ctx_rows))
            .collect::<Result<_>>()?;
        let ctx = Ctx { ret: &res.ret };
        let f = def.eval;
        let mut vals = Vec::with_capacity(ctx_rows);
        let mut row = Vec::with_capacity(arrays.len());
        for i in 0..ctx_rows {
            row.clear();
            for a in &arrays {
                row.push(ScalarValue::try_from_array(a, i)?);
            }
            let v = if def.strict && row.iter().any(|v| v.is_null()) {
                None
            } else {
                f(&row, &ctx)
            };
            vals.push(match v {
                Some(v) if &v.data_type() == ctx.ret => v,
                Some(v) if !v.is_null() => {
                    let arr = cast_safe(&v.to_array_of_size(1)?, ctx.ret)?;
                    ScalarValue::try_from_array(&arr, 0)?
                }
                _ => null_of(ctx.ret)?,
            });
        }
        let out = if vals.is_empty() {
            new_empty_array(ctx.ret)
        } else {
            ScalarValue::iter_to_array(vals)?
        };
        if all_scalar && !def.volatile && out.len() == 1 {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

impl ScalarUDFImpl for KsqlUdf {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(resolve_call(&self.callee(), &self.inner.overloads, arg_types)?.ret)
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.run(args.args, args.number_rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signatures() {
        let o = parse_signature("F(a MAP<STRING, ARRAY<T>>, b INT...) => STRUCT<K STRING, V T>")
            .expect("parse");
        assert!(o.variadic);
        assert_eq!(o.params.len(), 2);
        assert!(matches!(o.ret, Ty::Struct(ref f) if f.len() == 2));
        assert!(parse_signature("F() => STRING")
            .expect("parse")
            .params
            .is_empty());
        assert!(parse_signature("F(a WHAT) => STRING").is_err());
    }

    #[test]
    fn widening() {
        assert_eq!(
            widen(&DataType::Decimal128(9, 2), &DataType::Decimal128(7, 6)),
            Some(DataType::Decimal128(13, 6))
        );
        assert_eq!(
            widen(&DataType::Int32, &DataType::Int64),
            Some(DataType::Int64)
        );
        assert_eq!(
            widen(&DataType::Int32, &DataType::Float64),
            Some(DataType::Float64)
        );
        assert_eq!(widen(&DataType::Int32, &DataType::Utf8), None);
    }
}

#[cfg(test)]
mod batch_tests {
    use std::sync::Arc;

    use crate::arrow::array::{Array, ArrayRef, Int32Array, StringArray};
    use crate::testutil::call_arrays;

    #[test]
    fn multi_row_arrays_with_nulls() {
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("hello"), None, Some("ab")]));
        let p: ArrayRef = Arc::new(Int32Array::from(vec![Some(2), Some(1), None]));
        let out = call_arrays("SUBSTRING", vec![s, p]);
        let out = out.as_any().downcast_ref::<StringArray>().expect("utf8");
        assert_eq!(out.len(), 3);
        assert_eq!(out.value(0), "ello");
        assert!(out.is_null(1) && out.is_null(2));
        // INT column widened to DOUBLE for SQRT.
        let i: ArrayRef = Arc::new(Int32Array::from(vec![Some(4), None]));
        let out = call_arrays("SQRT", vec![i]);
        assert_eq!(out.data_type(), &crate::arrow::datatypes::DataType::Float64);
        assert_eq!(out.null_count(), 1);
    }
}
