//! A module's manifest: the JSON its `sluice_manifest` export hands over,
//! declaring its functions, their overloads and which exports compute them.

use arrow::datatypes::DataType;
use serde::Deserialize;
use sluice_functions::param_parts;
use sluice_functions::user::UserOverload;

use crate::WasmError;

#[cfg(test)]
mod tests {
    use super::variables;

    #[test]
    fn type_variables_are_one_letter_types_not_field_names() {
        assert_eq!(variables("T"), vec!['T']);
        assert_eq!(variables("MAP<K, ARRAY<V>>"), vec!['K', 'V']);
        assert_eq!(variables("STRUCT<A T, B INT>"), vec!['T']);
        assert!(variables("STRUCT<A INT, B STRING>").is_empty());
        assert!(variables("BIGINT").is_empty());
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub functions: Vec<FunctionDecl>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Scalar,
    Aggregate,
    Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionDecl {
    pub name: String,
    #[serde(default)]
    pub kind: Kind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub version: String,
    pub overloads: Vec<OverloadDecl>,
}

/// How values cross into an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Abi {
    /// Every argument and the result encoded in memory (any type; the
    /// function sees NULLs): `(ptr: i32, len: i32) -> i64`.
    #[default]
    Encoded,
    /// BOOLEAN, INT, BIGINT and DOUBLE as wasm's own `i32`/`i64`/`f64`
    /// arguments and result; a NULL argument gives NULL without a call.
    Direct,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadDecl {
    /// `name TYPE`, the last one may end in `...` (variadic).
    pub params: Vec<String>,
    pub returns: String,
    /// The export computing a scalar function's result, or a table
    /// function's rows (an ARRAY of `returns`).
    #[serde(default)]
    pub export: Option<String>,
    #[serde(default)]
    pub abi: Abi,
    /// An aggregate's state between rows (its type), and the exports that
    /// make it (`init`), add a row to it (`add`), take one out (`undo`, for
    /// tables), merge two (`merge`, for session windows) and give the result
    /// (`map`; without it the state is the result).
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub init: Option<String>,
    #[serde(default)]
    pub add: Option<String>,
    #[serde(default)]
    pub undo: Option<String>,
    #[serde(default)]
    pub merge: Option<String>,
    #[serde(default)]
    pub map: Option<String>,
}

/// An aggregate overload's state type and exports.
#[derive(Debug, Clone)]
pub struct AggregateExports {
    pub state: DataType,
    pub init: String,
    pub add: String,
    pub undo: Option<String>,
    pub merge: Option<String>,
    pub map: Option<String>,
}

/// An overload with its types resolved.
#[derive(Debug, Clone)]
pub struct Overload {
    pub user: UserOverload,
    /// A scalar or table function's export.
    pub export: String,
    pub abi: Abi,
    pub aggregate: Option<AggregateExports>,
}

/// The type variables of a type as written: one-letter names in a type's
/// place (`T`, `ARRAY<T>`, `MAP<K, V>`; not a struct's field `A` in
/// `STRUCT<A T>`), as ksqlDB's generic UDFs declare them.
fn variables(text: &str) -> Vec<char> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        let alone = |j: Option<&char>| j.is_none_or(|c| !c.is_ascii_alphanumeric() && *c != '_');
        if !c.is_ascii_uppercase()
            || !alone(i.checked_sub(1).map(|j| &chars[j]))
            || !alone(chars.get(i + 1))
        {
            continue;
        }
        // a field's name is followed by its type, a variable by `,`, `>` or the end
        let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
        if matches!(next, None | Some(',' | '>' | ')')) && !out.contains(c) {
            out.push(*c);
        }
    }
    out
}

/// A parameter's or result's type: exact, or `Null` when it holds type
/// variables (a call's arguments give it).
fn param_type(function: &str, text: &str) -> Result<DataType, WasmError> {
    match sql_type(function, text) {
        Ok(t) => Ok(t),
        Err(_) if !variables(text).is_empty() => Ok(DataType::Null),
        Err(e) => Err(e),
    }
}

fn sql_type(function: &str, text: &str) -> Result<DataType, WasmError> {
    let ty = sluice_sql::parse_data_type(text).map_err(|e| {
        WasmError::Manifest(format!(
            "function '{function}': '{text}' is not a type: {}",
            e.message
        ))
    })?;
    sluice_planner::types::sql_to_arrow(&ty, &())
        .map_err(|e| WasmError::Manifest(format!("function '{function}': {e}")))
}

impl FunctionDecl {
    /// The overloads, typed, with their signatures as `DESCRIBE FUNCTION` shows them.
    pub fn overloads(&self) -> Result<Vec<Overload>, WasmError> {
        let name = self.name.to_uppercase();
        if self.overloads.is_empty() {
            return Err(WasmError::Manifest(format!(
                "function '{name}' declares no overloads"
            )));
        }
        self.overloads
            .iter()
            .map(|o| {
                let mut params = Vec::with_capacity(o.params.len());
                let mut written = Vec::with_capacity(o.params.len());
                let mut variadic = false;
                for (i, p) in o.params.iter().enumerate() {
                    let param = param_parts(p).ok_or_else(|| {
                        WasmError::Manifest(format!(
                            "function '{name}': parameter '{p}' is not 'name TYPE'"
                        ))
                    })?;
                    if param.variadic && i + 1 != o.params.len() {
                        return Err(WasmError::Manifest(format!(
                            "function '{name}': only the last parameter can be variadic"
                        )));
                    }
                    variadic = param.variadic;
                    params.push((param.name.to_uppercase(), param_type(&name, param.ty)?));
                    written.push(param.ty.to_string());
                }
                let returns = param_type(&name, &o.returns)?;
                let generic = (params.iter().any(|(_, t)| *t == DataType::Null)
                    || returns == DataType::Null)
                    .then(|| (written.clone(), o.returns.trim().to_string()));
                let bound: Vec<char> = written.iter().flat_map(|t| variables(t)).collect();
                if let Some(free) = variables(&o.returns)
                    .into_iter()
                    .find(|v| !bound.contains(v))
                {
                    return Err(WasmError::Manifest(format!(
                        "function '{name}': its result's type variable {free} is none of its \
                         parameters'"
                    )));
                }
                if self.kind == Kind::Aggregate && params.is_empty() {
                    return Err(WasmError::Manifest(format!(
                        "aggregate '{name}': an overload takes no parameter, and an aggregate \
                         folds its rows' values"
                    )));
                }
                if o.abi == Abi::Direct {
                    let plain = |t: &DataType| {
                        matches!(
                            t,
                            DataType::Boolean
                                | DataType::Int32
                                | DataType::Int64
                                | DataType::Float64
                        )
                    };
                    if variadic || !params.iter().all(|(_, t)| plain(t)) || !plain(&returns) {
                        return Err(WasmError::Manifest(format!(
                            "function '{name}': the direct ABI takes and returns BOOLEAN, INT, \
                             BIGINT and DOUBLE only, and no variadic parameter; use \"abi\": \
                             \"encoded\""
                        )));
                    }
                }
                if self.kind != Kind::Scalar && o.abi == Abi::Direct {
                    return Err(WasmError::Manifest(format!(
                        "function '{name}': table functions and aggregates take the encoded ABI"
                    )));
                }
                let aggregate = match self.kind {
                    Kind::Aggregate => Some(self.aggregate_exports(o, &returns)?),
                    _ => None,
                };
                let export = match (self.kind, &o.export) {
                    (Kind::Aggregate, _) => String::new(),
                    (_, Some(export)) => export.clone(),
                    (_, None) => {
                        return Err(WasmError::Manifest(format!(
                            "function '{name}': an overload names no export"
                        )))
                    }
                };
                let text = format!(
                    "{name}({}) => {}",
                    o.params
                        .iter()
                        .map(|p| p.trim().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    o.returns.trim()
                );
                Ok(Overload {
                    user: UserOverload {
                        params,
                        variadic,
                        returns,
                        text,
                        generic,
                    },
                    export,
                    abi: o.abi,
                    aggregate,
                })
            })
            .collect()
    }

    fn aggregate_exports(
        &self,
        o: &OverloadDecl,
        returns: &DataType,
    ) -> Result<AggregateExports, WasmError> {
        let name = self.name.to_uppercase();
        let needed = |what: &str, export: &Option<String>| {
            export.clone().ok_or_else(|| {
                WasmError::Manifest(format!(
                    "aggregate '{name}': an overload names no `{what}` export"
                ))
            })
        };
        let state = match &o.state {
            Some(t) => param_type(&name, t)?,
            None => returns.clone(),
        };
        let same = match &o.state {
            Some(t) => {
                t.trim() == o.returns.trim() || (&state == returns && variables(t).is_empty())
            }
            None => true,
        };
        if o.map.is_none() && !same {
            return Err(WasmError::Manifest(format!(
                "aggregate '{name}': without a `map` export the state is the result, so \
                 `state` and `returns` must be the same type"
            )));
        }
        Ok(AggregateExports {
            state,
            init: needed("init", &o.init)?,
            add: needed("add", &o.add)?,
            undo: o.undo.clone(),
            merge: o.merge.clone(),
            map: o.map.clone(),
        })
    }
}
