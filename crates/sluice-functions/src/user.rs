//! User functions (`CREATE FUNCTION`) as DataFusion UDFs.
//!
//! A user function has one or more overloads with exact parameter and
//! return types, chosen for a call by the same resolution as the built-in
//! catalogue (ksqlDB's implicit widening, its messages for a call no
//! overload takes). What computes the result is a [`UserBody`]: the planner
//! gives SQL-bodied functions one that evaluates their compiled expression,
//! WebAssembly modules give theirs.

use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion_common::Result;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::arrow::array::ArrayRef;
use crate::arrow::datatypes::DataType;
use crate::def::{resolve_call, Callee, Overload};
use crate::util::cast_safe;

thread_local! {
    static ROW_ERRORS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How many row errors a thread keeps until someone takes them.
const MAX_ROW_ERRORS: usize = 10_000;

/// Says a user function could not compute one row's result (which is then
/// NULL, as ksqlDB's for a UDF that throws): the query task evaluating it
/// takes the message ([`take_row_errors`]) into its processing log.
pub fn report_row_error(message: String) {
    ROW_ERRORS.with(|errors| {
        let mut errors = errors.borrow_mut();
        if errors.len() < MAX_ROW_ERRORS {
            errors.push(message);
        }
    });
}

/// The row errors reported on this thread since the last call.
pub fn take_row_errors() -> Vec<String> {
    ROW_ERRORS.with(|errors| std::mem::take(&mut *errors.borrow_mut()))
}

/// One overload of a user function.
#[derive(Debug, Clone, PartialEq)]
pub struct UserOverload {
    /// Parameter names and their exact types.
    pub params: Vec<(String, DataType)>,
    /// The last parameter takes any number of arguments.
    pub variadic: bool,
    pub returns: DataType,
    /// `NAME(a INT, b STRING) => STRING`, as `DESCRIBE FUNCTION` shows it.
    pub text: String,
    /// When a type has type variables (`T`, `ARRAY<T>`, `MAP<K, V>`), the
    /// parameters' and the result's types as written: those types are
    /// `DataType::Null` above, and a call's come from its arguments.
    pub generic: Option<(Vec<String>, String)>,
}

impl UserOverload {
    /// What a parameter at position `i` takes (the last one repeats when variadic).
    fn param(&self, i: usize) -> Option<&DataType> {
        self.params.get(i).or(self.params.last()).map(|(_, t)| t)
    }
}

/// What computes a user function's results.
pub trait UserBody: Send + Sync + Debug {
    /// The results of overload `overload` for `rows` rows, from one array
    /// per argument, each of `rows` values cast to its parameter's type; the
    /// results are of type `returns` (the overload's, or for a generic one,
    /// what the arguments made it).
    fn eval(
        &self,
        overload: usize,
        args: &[ArrayRef],
        rows: usize,
        returns: &DataType,
    ) -> Result<ArrayRef>;
}

/// A body that can be replaced while queries use it: `CREATE OR REPLACE
/// FUNCTION` with the same overloads swaps what running queries call.
#[derive(Debug)]
pub struct BodySlot(std::sync::RwLock<Arc<dyn UserBody>>);

impl BodySlot {
    pub fn new(body: Arc<dyn UserBody>) -> Arc<Self> {
        Arc::new(BodySlot(std::sync::RwLock::new(body)))
    }

    /// From now on, calls go to `body`.
    pub fn replace(&self, body: Arc<dyn UserBody>) {
        if let Ok(mut slot) = self.0.write() {
            *slot = body;
        }
    }

    /// What calls go to now.
    pub fn current(&self) -> Result<Arc<dyn UserBody>> {
        self.0.read().map(|b| b.clone()).map_err(|_| {
            datafusion_common::DataFusionError::Execution("a function's body was lost".into())
        })
    }
}

impl UserBody for BodySlot {
    fn eval(
        &self,
        overload: usize,
        args: &[ArrayRef],
        rows: usize,
        returns: &DataType,
    ) -> Result<ArrayRef> {
        self.current()?.eval(overload, args, rows, returns)
    }
}

/// A user function as a DataFusion UDF.
#[derive(Debug)]
struct UserUdf {
    name: String,
    signature: Signature,
    overloads: Vec<UserOverload>,
    resolved: Vec<Overload>,
    body: Arc<dyn UserBody>,
}

impl PartialEq for UserUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.body, &other.body)
    }
}
impl Eq for UserUdf {}
impl Hash for UserUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

/// The UDF of user function `name` (upper case) with these overloads.
pub fn user_function(
    name: &str,
    overloads: Vec<UserOverload>,
    volatile: bool,
    body: Arc<dyn UserBody>,
) -> Arc<ScalarUDF> {
    let resolved = overloads.iter().map(resolution).collect();
    let volatility = if volatile {
        Volatility::Volatile
    } else {
        Volatility::Immutable
    };
    Arc::new(ScalarUDF::new_from_impl(UserUdf {
        name: name.to_string(),
        signature: Signature::one_of(
            vec![TypeSignature::Nullary, TypeSignature::UserDefined],
            volatility,
        ),
        overloads,
        resolved,
        body,
    }))
}

/// How a call resolved: the overload, what each argument is cast to, and
/// the result's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub overload: usize,
    pub args: Vec<DataType>,
    pub returns: DataType,
}

impl Call {
    /// `args` cast to the types the call takes (those of a type variable
    /// stay as they are).
    pub fn cast_args(&self, args: Vec<ArrayRef>) -> Result<Vec<ArrayRef>> {
        args.into_iter()
            .zip(&self.args)
            .map(|(a, t)| {
                if a.data_type() != t && *t != DataType::Null {
                    cast_safe(&a, t)
                } else {
                    Ok(a)
                }
            })
            .collect()
    }
}

/// Which of `overloads` of function `name` a call with arguments of
/// `types` takes, as the built-ins' calls resolve (ksqlDB's message when none).
pub fn resolve_overload(
    name: &str,
    overloads: &[UserOverload],
    types: &[DataType],
) -> Result<Call> {
    let resolved: Vec<Overload> = overloads.iter().map(resolution).collect();
    resolve_with(name, overloads, &resolved, types)
}

fn resolution(o: &UserOverload) -> Overload {
    match &o.generic {
        None => {
            let params: Vec<DataType> = o.params.iter().map(|(_, t)| t.clone()).collect();
            Overload::of_types(&params, o.variadic, &o.returns)
        }
        Some((texts, ret)) => {
            let params: Vec<(&DataType, &str)> = o
                .params
                .iter()
                .zip(texts)
                .map(|((_, t), text)| (t, text.as_str()))
                .collect();
            Overload::of_written(&params, o.variadic, (&o.returns, ret))
        }
    }
}

fn resolve_with(
    name: &str,
    overloads: &[UserOverload],
    resolved: &[Overload],
    types: &[DataType],
) -> Result<Call> {
    let texts: Vec<&str> = overloads.iter().map(|o| o.text.as_str()).collect();
    let callee = Callee {
        name,
        signatures: &texts,
        ret: None,
    };
    let r = resolve_call(&callee, resolved, types)?;
    let o = &overloads[r.index];
    // exact types are the declared ones; a type variable's come from the call
    let args = (0..types.len())
        .map(|i| match o.param(i) {
            Some(DataType::Null) | None => r.args[i].clone(),
            Some(t) => t.clone(),
        })
        .collect();
    let returns = match &o.returns {
        DataType::Null if o.generic.is_some() => r.ret,
        t => t.clone(),
    };
    Ok(Call {
        overload: r.index,
        args,
        returns,
    })
}

impl UserUdf {
    fn resolve(&self, types: &[DataType]) -> Result<Call> {
        resolve_with(&self.name, &self.overloads, &self.resolved, types)
    }
}

impl ScalarUDFImpl for UserUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.resolve(arg_types)?.returns)
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let types: Vec<DataType> = args.args.iter().map(|a| a.data_type()).collect();
        let call = self.resolve(&types)?;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let arrays = call.cast_args(arrays)?;
        let out = self
            .body
            .eval(call.overload, &arrays, rows, &call.returns)?;
        let out = if out.data_type() == &call.returns {
            out
        } else {
            cast_safe(&out, &call.returns)?
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::array::{Array, Float64Array, Int32Array};
    use datafusion_common::ScalarValue;

    /// Adds its two arguments as doubles.
    #[derive(Debug)]
    struct Plus;

    impl UserBody for Plus {
        fn eval(
            &self,
            _overload: usize,
            args: &[ArrayRef],
            _rows: usize,
            _returns: &DataType,
        ) -> Result<ArrayRef> {
            let a = args[0]
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("f64");
            let b = args[1]
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("f64");
            let out: Float64Array = a.iter().zip(b.iter()).map(|(a, b)| Some(a? + b?)).collect();
            Ok(Arc::new(out))
        }
    }

    fn plus() -> Arc<ScalarUDF> {
        user_function(
            "PLUS",
            vec![UserOverload {
                params: vec![
                    ("A".into(), DataType::Float64),
                    ("B".into(), DataType::Float64),
                ],
                variadic: false,
                returns: DataType::Float64,
                text: "PLUS(A DOUBLE, B DOUBLE) => DOUBLE".into(),
                generic: None,
            }],
            false,
            Arc::new(Plus),
        )
    }

    #[test]
    fn widens_arguments_and_refuses_what_no_overload_takes() {
        let f = plus();
        assert_eq!(
            f.return_type(&[DataType::Int32, DataType::Int64])
                .expect("type"),
            DataType::Float64
        );
        let e = f
            .return_type(&[DataType::Utf8, DataType::Int64])
            .expect_err("refused");
        assert!(
            e.to_string()
                .contains("Function 'plus' does not accept parameters (STRING, BIGINT)"),
            "{e}"
        );
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(3)]));
        let args = vec![
            ColumnarValue::Array(a),
            ColumnarValue::Scalar(ScalarValue::Int64(Some(10))),
        ];
        let out = crate::testutil::invoke_udf(&f, args, 3)
            .expect("call")
            .to_array(3)
            .expect("array");
        let out = out.as_any().downcast_ref::<Float64Array>().expect("f64");
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![Some(11.0), None, Some(13.0)]
        );
    }
}
