//! Name resolution: the columns an expression may reference and where they sit in
//! the row layout.

use super::*;

/// One column visible to expressions: its (optional) source alias and name, and its
/// position in the row layout.
#[derive(Debug, Clone)]
pub struct ScopeColumn {
    pub qualifier: Option<String>,
    pub name: String,
    pub index: usize,
}

/// The columns an expression may reference, over the row layout `schema`.
#[derive(Debug, Clone)]
pub struct Scope {
    pub schema: SchemaRef,
    pub columns: Vec<ScopeColumn>,
}

impl Scope {
    /// Every field of `schema`, unqualified, by its own name.
    pub fn of_schema(schema: SchemaRef, qualifier: Option<&str>) -> Self {
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !crate::catalog::is_internal_column(f.name()))
            .map(|(index, f)| ScopeColumn {
                qualifier: qualifier.map(str::to_string),
                name: f.name().clone(),
                index,
            })
            .collect();
        Scope { schema, columns }
    }

    /// This scope plus extra columns appended to the layout (lambda parameters).
    pub fn extend(&self, extra: &[(String, DataType)]) -> Scope {
        let mut fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = self.columns.clone();
        for (name, ty) in extra {
            // A lambda parameter hides an outer column of the same name.
            columns.retain(|c| !(c.qualifier.is_none() && &c.name == name));
            columns.push(ScopeColumn {
                qualifier: None,
                name: name.clone(),
                index: fields.len(),
            });
            fields.push(Field::new(name, ty.clone(), true));
        }
        Scope {
            schema: Arc::new(Schema::new(fields)),
            columns,
        }
    }

    pub fn resolve(&self, qualifier: Option<&str>, name: &str) -> Result<Option<usize>, PlanError> {
        let matches: Vec<&ScopeColumn> = self
            .columns
            .iter()
            .filter(|c| {
                c.name == name && (qualifier.is_none() || c.qualifier.as_deref() == qualifier)
            })
            .collect();
        match matches.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.index)),
            many => {
                // the same physical column reachable under several names is fine
                if many.iter().all(|c| c.index == many[0].index) {
                    Ok(Some(many[0].index))
                } else {
                    let mut candidates: Vec<String> = many
                        .iter()
                        .map(|c| format!("{}.{}", c.qualifier.as_deref().unwrap_or(""), c.name))
                        .collect();
                    candidates.sort();
                    Err(PlanError::Ambiguous {
                        name: name.to_string(),
                        candidates,
                        pos: None,
                    })
                }
            }
        }
    }
}
