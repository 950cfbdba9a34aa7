//! Operators of ksqlDB's expression syntax that are not named functions: subscripts,
//! struct dereference, ARRAY/MAP/STRUCT constructors, and division/modulo with
//! ksqlDB's rules (a zero divisor gives NULL instead of failing the batch; DECIMAL
//! division uses ksqlDB's precision and scale). Each is a DataFusion UDF so the
//! planner can build them like any other function call.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, Decimal128Builder, Float64Array, ListArray, MapArray,
    StructArray, UInt32Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{cast, interleave, take};
use arrow::datatypes::{
    DataType, Decimal128Type, Field, Fields, Float64Type, Int32Type, Int64Type,
};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

type ReturnFn = fn(&[DataType], &[Option<&ScalarValue>]) -> Result<DataType>;
type KernelFn = fn(&[ArrayRef], &[Option<ScalarValue>], &DataType, usize) -> Result<ArrayRef>;

/// A UDF defined by a return-type rule and an array kernel.
struct KernelUdf {
    name: &'static str,
    signature: Signature,
    return_type: ReturnFn,
    kernel: KernelFn,
}

impl std::fmt::Debug for KernelUdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)
    }
}
impl PartialEq for KernelUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for KernelUdf {}
impl Hash for KernelUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for KernelUdf {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.return_type)(arg_types, &[])
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<Arc<Field>> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let ty = (self.return_type)(&types, args.scalar_arguments)?;
        Ok(Arc::new(Field::new(self.name, ty, true)))
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalars: Vec<Option<ScalarValue>> = args
            .args
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(s) => Some(s.clone()),
                ColumnarValue::Array(_) => None,
            })
            .collect();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = (self.kernel)(&arrays, &scalars, args.return_field.data_type(), rows)?;
        Ok(ColumnarValue::Array(out))
    }
}

fn udf(name: &'static str, return_type: ReturnFn, kernel: KernelFn) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(KernelUdf {
        name,
        signature: Signature::user_defined(Volatility::Immutable),
        return_type,
        kernel,
    }))
}

fn plan_err(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

fn literal_string(s: Option<&ScalarValue>) -> Option<String> {
    match s {
        Some(ScalarValue::Utf8(Some(v))) => Some(v.clone()),
        _ => None,
    }
}

// ---------------------------------------------------------------- subscript

/// `container[index]`: 1-based array index (negative counts from the end), or map lookup.
pub fn subscript() -> Arc<ScalarUDF> {
    udf("ksql_subscript", subscript_type, subscript_kernel)
}

fn subscript_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match types {
        [DataType::List(f), _] => Ok(f.data_type().clone()),
        [DataType::Map(f, _), _] => match f.data_type() {
            DataType::Struct(kv) => Ok(kv[1].data_type().clone()),
            _ => Err(plan_err("malformed map type".into())),
        },
        [other, _] => Err(plan_err(format!(
            "Subscript expression requires an ARRAY or MAP, got {}",
            crate::types::type_name(other)
        ))),
        _ => Err(plan_err("subscript takes two arguments".into())),
    }
}

fn subscript_kernel(
    args: &[ArrayRef],
    _: &[Option<ScalarValue>],
    out: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let (container, index) = (&args[0], &args[1]);
    match container.data_type() {
        DataType::List(_) => {
            let list = container.as_list::<i32>();
            let index = cast(index, &DataType::Int64)?;
            let index = index.as_primitive::<arrow::datatypes::Int64Type>();
            let offsets = list.value_offsets();
            let picks: UInt32Array = (0..rows)
                .map(|r| {
                    if list.is_null(r) || index.is_null(r) {
                        return None;
                    }
                    let (start, end) = (offsets[r] as i64, offsets[r + 1] as i64);
                    let len = end - start;
                    let i = index.value(r);
                    let pos = if i > 0 { i - 1 } else { len + i };
                    (i != 0 && pos >= 0 && pos < len).then(|| (start + pos) as u32)
                })
                .collect();
            Ok(take(list.values().as_ref(), &picks, None)?)
        }
        DataType::Map(_, _) => {
            let map = container.as_map();
            let keys = cast(map.keys(), &DataType::Utf8)?;
            let keys = keys.as_string::<i32>();
            let wanted = cast(index, &DataType::Utf8)?;
            let wanted = wanted.as_string::<i32>();
            let offsets = map.value_offsets();
            let picks: UInt32Array = (0..rows)
                .map(|r| {
                    if map.is_null(r) || wanted.is_null(r) {
                        return None;
                    }
                    let w = wanted.value(r);
                    (offsets[r] as usize..offsets[r + 1] as usize)
                        .rev()
                        .find(|&i| keys.is_valid(i) && keys.value(i) == w)
                        .map(|i| i as u32)
                })
                .collect();
            Ok(take(map.values().as_ref(), &picks, None)?)
        }
        _ => Ok(new_null_array(out, rows)),
    }
}

// ---------------------------------------------------------------- dereference

/// `struct->field`, the field named by a string literal second argument.
pub fn field() -> Arc<ScalarUDF> {
    udf("ksql_field", field_type, field_kernel)
}

fn find_field(fields: &Fields, name: &str) -> Option<usize> {
    fields.iter().position(|f| f.name() == name).or_else(|| {
        fields
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    })
}

fn field_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let name = literal_string(scalars.get(1).copied().flatten())
        .ok_or_else(|| plan_err("struct field name must be a literal".into()))?;
    match types.first() {
        Some(DataType::Struct(fields)) => find_field(fields, &name)
            .map(|i| fields[i].data_type().clone())
            .ok_or_else(|| plan_err(format!("Could not find field '{name}' in struct"))),
        Some(DataType::Null) => Ok(DataType::Null),
        Some(other) => Err(plan_err(format!(
            "Expected STRUCT type for '->' dereference of '{name}', got {}",
            crate::types::type_name(other)
        ))),
        None => Err(plan_err("dereference takes two arguments".into())),
    }
}

fn field_kernel(
    args: &[ArrayRef],
    scalars: &[Option<ScalarValue>],
    out: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let name = literal_string(scalars.get(1).and_then(|s| s.as_ref())).unwrap_or_default();
    let Some(s) = args[0].as_struct_opt() else {
        return Ok(new_null_array(out, rows));
    };
    let Some(i) = find_field(s.fields(), &name) else {
        return Ok(new_null_array(out, rows));
    };
    with_parent_nulls(s.column(i).clone(), s.nulls())
}

/// A child of a struct or list is only valid where its parent is.
fn with_parent_nulls(child: ArrayRef, parent: Option<&NullBuffer>) -> Result<ArrayRef> {
    let Some(parent) = parent else {
        return Ok(child);
    };
    let nulls = NullBuffer::union(child.nulls(), Some(parent));
    let data = child.to_data().into_builder().nulls(nulls).build()?;
    Ok(arrow::array::make_array(data))
}

// ---------------------------------------------------------------- constructors

/// `ARRAY[a, b, ...]`; the planner casts every element to the element type first.
pub fn make_array() -> Arc<ScalarUDF> {
    udf("ksql_array", array_type, array_kernel)
}

fn array_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let item = types.first().cloned().unwrap_or(DataType::Null);
    Ok(crate::types::list_of(item))
}

fn interleave_rows(args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let refs: Vec<&dyn Array> = args.iter().map(|a| a.as_ref()).collect();
    // a constant argument comes as one value for every row
    let lens: Vec<usize> = args.iter().map(|a| a.len()).collect();
    let indices: Vec<(usize, usize)> = (0..rows)
        .flat_map(|r| {
            let lens = &lens;
            (0..args.len()).map(move |a| (a, if lens[a] == 1 { 0 } else { r }))
        })
        .collect();
    Ok(interleave(&refs, &indices)?)
}

fn array_kernel(
    args: &[ArrayRef],
    _: &[Option<ScalarValue>],
    out: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let DataType::List(item) = out else {
        return Err(plan_err("ARRAY constructor must return a list".into()));
    };
    let values = if args.is_empty() {
        new_null_array(item.data_type(), 0)
    } else {
        interleave_rows(args, rows)?
    };
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(args.len(), rows));
    Ok(Arc::new(ListArray::try_new(
        item.clone(),
        offsets,
        values,
        None,
    )?))
}

/// `MAP(k1 := v1, ...)` as `ksql_map(k1, v1, k2, v2, ...)`, keys and values pre-cast.
pub fn make_map() -> Arc<ScalarUDF> {
    udf("ksql_map", map_type, map_kernel)
}

fn map_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let key = types.first().cloned().unwrap_or(DataType::Utf8);
    let value = types.get(1).cloned().unwrap_or(DataType::Null);
    Ok(crate::types::map_of(key, value))
}

fn map_kernel(
    args: &[ArrayRef],
    _: &[Option<ScalarValue>],
    out: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let DataType::Map(entries, _) = out else {
        return Err(plan_err("MAP constructor must return a map".into()));
    };
    let DataType::Struct(kv) = entries.data_type() else {
        return Err(plan_err("malformed map type".into()));
    };
    let keys: Vec<ArrayRef> = args.iter().step_by(2).cloned().collect();
    let values: Vec<ArrayRef> = args.iter().skip(1).step_by(2).cloned().collect();
    let n = keys.len();
    let (k, v) = if n == 0 {
        (
            new_null_array(kv[0].data_type(), 0),
            new_null_array(kv[1].data_type(), 0),
        )
    } else {
        (
            interleave_rows(&keys, rows)?,
            interleave_rows(&values, rows)?,
        )
    };
    let k = null_keys_as_text(k)?;
    let entries_array = StructArray::try_new(kv.clone(), vec![k, v], None)?;
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(n, rows));
    Ok(Arc::new(MapArray::try_new(
        entries.clone(),
        offsets,
        entries_array,
        None,
        false,
    )?))
}

/// A NULL key of a constructed map: ksqlDB's map holds it, and writes it as
/// the key `null` (Jackson's null key); an Arrow map cannot hold one, so a
/// text key becomes that text. Any other NULL key is refused by name.
fn null_keys_as_text(keys: ArrayRef) -> Result<ArrayRef> {
    if keys.null_count() == 0 {
        return Ok(keys);
    }
    match keys.data_type() {
        DataType::Utf8 => {
            let text = keys.as_string::<i32>();
            let filled: arrow::array::StringArray =
                text.iter().map(|k| Some(k.unwrap_or("null"))).collect();
            Ok(Arc::new(filled))
        }
        other => Err(plan_err(format!(
            "a MAP key of type {other} cannot be NULL"
        ))),
    }
}

/// `STRUCT(a := x, ...)` as `ksql_struct('A', x, ...)`.
pub fn make_struct() -> Arc<ScalarUDF> {
    udf("ksql_struct", struct_type, struct_kernel)
}

fn struct_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let mut fields = Vec::new();
    for i in (0..types.len()).step_by(2) {
        let name = literal_string(scalars.get(i).copied().flatten())
            .ok_or_else(|| plan_err("struct field names must be literals".into()))?;
        fields.push((name, types.get(i + 1).cloned().unwrap_or(DataType::Null)));
    }
    Ok(crate::types::struct_of(fields))
}

fn struct_kernel(
    args: &[ArrayRef],
    _: &[Option<ScalarValue>],
    out: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let DataType::Struct(fields) = out else {
        return Err(plan_err("STRUCT constructor must return a struct".into()));
    };
    let columns: Vec<ArrayRef> = args.iter().skip(1).step_by(2).cloned().collect();
    if columns.is_empty() {
        return Ok(Arc::new(StructArray::new_empty_fields(rows, None)));
    }
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        None,
    )?))
}

// ---------------------------------------------------------------- division

/// `a / b` with ksqlDB's rules; the planner casts both sides to the operand type first.
pub fn divide() -> Arc<ScalarUDF> {
    udf(
        "ksql_divide",
        |t, _| Ok(t[0].clone()),
        |a, _, o, r| div_mod(a, o, r, false),
    )
}

/// `a % b` with ksqlDB's rules.
pub fn modulo() -> Arc<ScalarUDF> {
    udf(
        "ksql_modulo",
        |t, _| Ok(t[0].clone()),
        |a, _, o, r| div_mod(a, o, r, true),
    )
}

/// ksqlDB's DECIMAL division result: scale max(6, s1 + p2 + 1), precision p1 - s1 + s2 + scale.
pub fn decimal_divide_type(p1: u8, s1: i8, p2: u8, s2: i8) -> DataType {
    let scale = 6i16.max(s1 as i16 + p2 as i16 + 1);
    let precision = (p1 as i16 - s1 as i16 + s2 as i16 + scale).clamp(1, 38);
    DataType::Decimal128(precision as u8, scale.min(precision) as i8)
}

/// ksqlDB's DECIMAL modulo result: scale max(s1, s2), precision min(p1-s1, p2-s2) + scale.
pub fn decimal_modulo_type(p1: u8, s1: i8, p2: u8, s2: i8) -> DataType {
    let scale = s1.max(s2) as i16;
    let precision = ((p1 as i16 - s1 as i16).min(p2 as i16 - s2 as i16) + scale).clamp(1, 38);
    DataType::Decimal128(precision as u8, scale.min(precision) as i8)
}

/// Java's integer `/` and `%` (wrapping on MIN / -1), NULL for a zero divisor.
fn integer_div_mod<T: arrow::datatypes::ArrowPrimitiveType>(
    a: &ArrayRef,
    b: &ArrayRef,
    rows: usize,
    modulo: bool,
) -> ArrayRef
where
    T::Native: arrow::datatypes::ArrowNativeTypeOp,
{
    use arrow::datatypes::ArrowNativeTypeOp;
    let (a, b) = (a.as_primitive::<T>(), b.as_primitive::<T>());
    let r: arrow::array::PrimitiveArray<T> = (0..rows)
        .map(|i| {
            let (x, y) = (a.value(i), b.value(i));
            (a.is_valid(i) && b.is_valid(i) && !y.is_zero()).then(|| {
                if modulo {
                    x.mod_wrapping(y)
                } else {
                    x.div_wrapping(y)
                }
            })
        })
        .collect();
    Arc::new(r)
}

fn div_mod(args: &[ArrayRef], out: &DataType, rows: usize, modulo: bool) -> Result<ArrayRef> {
    let (a, b) = (&args[0], &args[1]);
    Ok(match a.data_type() {
        DataType::Int32 => integer_div_mod::<arrow::datatypes::Int32Type>(a, b, rows, modulo),
        DataType::Int64 => integer_div_mod::<arrow::datatypes::Int64Type>(a, b, rows, modulo),
        DataType::Float64 => {
            let (a, b) = (
                a.as_primitive::<arrow::datatypes::Float64Type>(),
                b.as_primitive::<arrow::datatypes::Float64Type>(),
            );
            let r: Float64Array = (0..rows)
                .map(|i| {
                    let (x, y): (f64, f64) = (a.value(i), b.value(i));
                    (a.is_valid(i) && b.is_valid(i)).then(|| if modulo { x % y } else { x / y })
                })
                .collect();
            Arc::new(r)
        }
        DataType::Decimal128(_, s1) => {
            let s1 = *s1;
            let s2 = match b.data_type() {
                DataType::Decimal128(_, s) => *s,
                _ => 0,
            };
            let DataType::Decimal128(p, s) = out else {
                return Err(plan_err("decimal division must return a decimal".into()));
            };
            let (a, b) = (
                a.as_primitive::<arrow::datatypes::Decimal128Type>(),
                b.as_primitive::<arrow::datatypes::Decimal128Type>(),
            );
            let mut builder = Decimal128Builder::with_capacity(rows);
            for i in 0..rows {
                let v = if a.is_valid(i) && b.is_valid(i) && b.value(i) != 0 {
                    decimal_div_mod(a.value(i), s1, b.value(i), s2, *s, modulo)
                } else {
                    None
                };
                builder.append_option(v);
            }
            Arc::new(builder.finish().with_precision_and_scale(*p, *s)?)
        }
        _ => new_null_array(out, rows),
    })
}

fn pow10(n: i32) -> Option<i128> {
    10i128.checked_pow(u32::try_from(n).ok()?)
}

/// Exact decimal division/modulo, rounding half-up to `scale`; None on overflow.
fn decimal_div_mod(a: i128, sa: i8, b: i128, sb: i8, scale: i8, modulo: bool) -> Option<i128> {
    if modulo {
        // bring both to the result scale, then remainder.
        let a = a.checked_mul(pow10((scale - sa) as i32)?)?;
        let b = b.checked_mul(pow10((scale - sb) as i32)?)?;
        return a.checked_rem(b);
    }
    // a/10^sa / (b/10^sb) = (a * 10^(scale + sb - sa)) / b  at 10^-scale
    let shift = scale as i32 + sb as i32 - sa as i32;
    let (num, den) = if shift >= 0 {
        (a.checked_mul(pow10(shift)?)?, b)
    } else {
        (a, b.checked_mul(pow10(-shift)?)?)
    };
    let q = num / den;
    let r = num % den;
    // half-up: away from zero when the remainder is at least half the divisor.
    if r.unsigned_abs().checked_mul(2)? >= den.unsigned_abs() {
        Some(if (num < 0) != (den < 0) { q - 1 } else { q + 1 })
    } else {
        Some(q)
    }
}

/// ksqlDB compares with NULL to false, not NULL: `null_as_false(cmp)`.
pub fn null_as_false() -> Arc<ScalarUDF> {
    udf(
        "ksql_null_as_false",
        |_, _| Ok(DataType::Boolean),
        |args, _, _, _| {
            let b = args[0].as_boolean();
            Ok(Arc::new(match b.nulls() {
                Some(_) => arrow::compute::prep_null_mask_filter(b),
                None => b.clone(),
            }))
        },
    )
}

/// Rewrites a LIKE pattern with a custom ESCAPE character (second argument, a literal)
/// into arrow's syntax, for patterns only known at run time.
pub fn like_escape() -> Arc<ScalarUDF> {
    udf(
        "ksql_like_escape",
        |_, _| Ok(DataType::Utf8),
        |args, scalars, _, rows| {
            let escape = literal_string(scalars.get(1).and_then(|s| s.as_ref()))
                .and_then(|e| e.chars().next());
            let patterns = args[0].as_string::<i32>();
            let out: arrow::array::StringArray = (0..rows)
                .map(|i| {
                    patterns
                        .is_valid(i)
                        .then(|| crate::expr::like_pattern(patterns.value(i), escape))
                })
                .collect();
            Ok(Arc::new(out))
        },
    )
}

// ---------------------------------------------------------------- casts by name

/// A value converted as ksqlDB (Java) converts it where arrow's `cast`
/// differs: a struct's fields by name (a field the value lacks is NULL);
/// integers narrowed by dropping high bits (`Long.intValue()`), doubles
/// truncated and saturated, decimals truncated then narrowed; a map as
/// `{k=v, ...}` text; inside arrays and maps too; everything else as
/// `CAST` does. Called as `ksql_cast(value, NULL of the type)`.
pub fn cast_by_name() -> Arc<ScalarUDF> {
    udf("ksql_cast", cast_by_name_type, cast_by_name_kernel)
}

/// Whether converting `from` to `to` needs [`cast_by_name`] rather than
/// arrow's `cast` (see there).
pub fn needs_java_cast(from: &DataType, to: &DataType) -> bool {
    match (from, to) {
        (DataType::Int64, DataType::Int32)
        | (DataType::Float64 | DataType::Decimal128(..), DataType::Int32 | DataType::Int64)
        | (DataType::Map(..), DataType::Utf8) => true,
        (DataType::Struct(a), DataType::Struct(b)) => {
            a.len() != b.len()
                || a.iter().zip(b.iter()).any(|(f, g)| {
                    f.name() != g.name() || needs_java_cast(f.data_type(), g.data_type())
                })
        }
        (DataType::List(a), DataType::List(b)) => needs_java_cast(a.data_type(), b.data_type()),
        (DataType::Map(a, _), DataType::Map(b, _)) => needs_java_cast(a.data_type(), b.data_type()),
        _ => false,
    }
}

fn cast_by_name_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    types
        .get(1)
        .cloned()
        .ok_or_else(|| plan_err("ksql_cast_by_name takes a value and its target type".into()))
}

fn cast_by_name_kernel(
    args: &[ArrayRef],
    _: &[Option<ScalarValue>],
    out: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let cast = cast_array_by_name(&args[0], out)?;
    if cast.len() == rows {
        return Ok(cast);
    }
    // a constant value: one row for every row
    let indices = UInt32Array::from(vec![0u32; rows]);
    Ok(take(cast.as_ref(), &indices, None)?)
}

fn cast_array_by_name(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    match (a.data_type(), to) {
        (from, to) if from == to => Ok(a.clone()),
        (DataType::Struct(from), DataType::Struct(fields)) => {
            let s = a.as_struct();
            let columns = fields
                .iter()
                .map(|f| match from.iter().position(|g| g.name() == f.name()) {
                    Some(i) => cast_array_by_name(s.column(i), f.data_type()),
                    None => Ok(new_null_array(f.data_type(), s.len())),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                columns,
                s.nulls().cloned(),
            )?))
        }
        (DataType::List(_), DataType::List(item)) => {
            let l = a.as_list::<i32>();
            let values = cast_array_by_name(l.values(), item.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                item.clone(),
                l.offsets().clone(),
                values,
                l.nulls().cloned(),
            )?))
        }
        (DataType::Map(_, _), DataType::Map(entries, sorted)) => {
            let m = a.as_map();
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(plan_err("a map's entries must be a struct".into()));
            };
            let keys = cast_array_by_name(m.keys(), kv[0].data_type())?;
            let values = cast_array_by_name(m.values(), kv[1].data_type())?;
            let pairs = StructArray::try_new(kv.clone(), vec![keys, values], None)?;
            Ok(Arc::new(MapArray::try_new(
                entries.clone(),
                m.offsets().clone(),
                pairs,
                m.nulls().cloned(),
                *sorted,
            )?))
        }
        (DataType::Int64, DataType::Int32) => Ok(Arc::new(
            a.as_primitive::<Int64Type>()
                .unary::<_, Int32Type>(|v| v as i32),
        )),
        (DataType::Float64, DataType::Int32) => Ok(Arc::new(
            a.as_primitive::<Float64Type>()
                .unary::<_, Int32Type>(|v| v as i32),
        )),
        (DataType::Float64, DataType::Int64) => Ok(Arc::new(
            a.as_primitive::<Float64Type>()
                .unary::<_, Int64Type>(|v| v as i64),
        )),
        (DataType::Decimal128(_, scale), DataType::Int32 | DataType::Int64) => {
            let div = 10i128.pow(u32::try_from(*scale).unwrap_or(0));
            let d = a.as_primitive::<Decimal128Type>();
            Ok(if to == &DataType::Int32 {
                Arc::new(d.unary::<_, Int32Type>(|v| (v / div) as i32))
            } else {
                Arc::new(d.unary::<_, Int64Type>(|v| (v / div) as i64))
            })
        }
        (DataType::Map(..), DataType::Utf8) => map_as_text(a),
        _ => Ok(cast(a, to)?),
    }
}

/// Maps as Java prints them: `{k1=v1, k2=v2}`.
fn map_as_text(a: &ArrayRef) -> Result<ArrayRef> {
    let m = a.as_map();
    let keys = cast_array_by_name(m.keys(), &DataType::Utf8)?;
    let values = cast_array_by_name(m.values(), &DataType::Utf8)?;
    let (keys, values) = (keys.as_string::<i32>(), values.as_string::<i32>());
    let text = |i: usize, a: &arrow::array::StringArray| {
        if a.is_null(i) {
            "null".to_string()
        } else {
            a.value(i).to_string()
        }
    };
    let out: arrow::array::StringArray = (0..m.len())
        .map(|row| {
            m.is_valid(row).then(|| {
                let offsets = m.value_offsets();
                let entries: Vec<String> = (offsets[row] as usize..offsets[row + 1] as usize)
                    .map(|i| format!("{}={}", text(i, keys), text(i, values)))
                    .collect();
                format!("{{{}}}", entries.join(", "))
            })
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;

    #[test]
    fn array_of_constants_fills_every_row() {
        // `ARRAY['a', x]` over two rows: the constant comes as one value
        let constant: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["a"]));
        let column: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["x", "y"]));
        let out_ty = crate::types::list_of(DataType::Utf8);
        let out = array_kernel(&[constant, column], &[], &out_ty, 2).unwrap();
        let list = out.as_any().downcast_ref::<ListArray>().unwrap();
        let row = |r: usize| {
            let v = list.value(r);
            let s = v
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap();
            (0..s.len())
                .map(|i| s.value(i).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(row(0), vec!["a", "x"]);
        assert_eq!(row(1), vec!["a", "y"]);
    }

    #[test]
    fn decimal_division_rounds_half_up() {
        // 1.00 / 3 at scale 6 = 0.333333
        assert_eq!(decimal_div_mod(100, 2, 3, 0, 6, false), Some(333_333));
        // 2 / 3 = 0.666667
        assert_eq!(decimal_div_mod(2, 0, 3, 0, 6, false), Some(666_667));
        assert_eq!(decimal_div_mod(-2, 0, 3, 0, 6, false), Some(-666_667));
        // 5.5 % 2 = 1.5
        assert_eq!(decimal_div_mod(55, 1, 2, 0, 1, true), Some(15));
    }

    #[test]
    fn decimal_result_types_follow_ksqldb() {
        assert_eq!(decimal_divide_type(4, 2, 4, 2), DataType::Decimal128(11, 7));
        assert_eq!(decimal_modulo_type(4, 2, 3, 0), DataType::Decimal128(4, 2));
    }

    #[test]
    fn integer_division_by_zero_is_null() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(7), Some(7), None]));
        let b: ArrayRef = Arc::new(Int32Array::from(vec![Some(2), Some(0), Some(1)]));
        let r = div_mod(&[a, b], &DataType::Int32, 3, false).unwrap();
        let r = r.as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![Some(3), None, None]);
    }

    #[test]
    fn array_subscript_is_one_based_and_negative_from_end() {
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<
            arrow::datatypes::Int32Type,
            _,
            _,
        >(vec![Some(vec![Some(1), Some(2), Some(3)]), None]));
        for (idx, want) in [(1, Some(1)), (-1, Some(3)), (4, None), (0, None)] {
            let i: ArrayRef = Arc::new(Int32Array::from(vec![idx, idx]));
            let r = subscript_kernel(&[list.clone(), i], &[], &DataType::Int32, 2).unwrap();
            let r = r.as_primitive::<arrow::datatypes::Int32Type>();
            assert_eq!(
                r.iter().collect::<Vec<_>>(),
                vec![want, None],
                "index {idx}"
            );
        }
    }
}
