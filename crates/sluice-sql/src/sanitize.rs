//! A `CREATE ... AS SELECT` as ksqlDB shows it in the errors of its
//! planning step: the statement its `AstSanitizer` made (every column
//! qualified by its source's alias, every select item aliased, the source
//! aliased, `EMIT CHANGES` added) formatted by its `SqlFormatter` (one
//! select item per line, a clause per line).

use std::fmt::Write;

use crate::ast::*;

/// The statement `cas` as ksqlDB formats it after sanitizing it: a select
/// item without an alias takes its column's (or last field's) name, else
/// the next `KSQL_COL_n` no column of the source (`source_columns`) has.
/// `None` for what this does not format (joins, `*`, `x->*`): the caller
/// shows the statement as written.
pub fn sanitized_create_as(cas: &CreateAsSelect, source_columns: &[String]) -> Option<String> {
    let q = &cas.query;
    let Relation::Source { name, alias, .. } = &q.from else {
        return None;
    };
    let alias = alias.clone().unwrap_or_else(|| name.clone());
    let mut next = 0;
    let mut generated = || loop {
        let candidate = format!("KSQL_COL_{next}");
        next += 1;
        if !source_columns.contains(&candidate) {
            return candidate;
        }
    };
    let mut items: Vec<&Expr> = Vec::new();
    let mut aliases: Vec<String> = Vec::new();
    for item in &q.select {
        let SelectItem::Expr { expr, alias } = item else {
            return None;
        };
        items.push(expr);
        aliases.push(match (alias, natural_name(expr)) {
            (Some(a), _) => a.value.clone(),
            (None, Some(n)) => n,
            (None, None) => generated(),
        });
    }
    let qualify = |e: &Expr| qualified(e, &alias, &[]).to_string();
    let mut out = String::from("CREATE ");
    if cas.or_replace {
        out.push_str("OR REPLACE ");
    }
    out.push_str(match cas.kind {
        SourceKind::Stream => "STREAM ",
        SourceKind::Table => "TABLE ",
    });
    if cas.if_not_exists {
        out.push_str("IF NOT EXISTS ");
    }
    let _ = write!(out, "{}", cas.name);
    if !cas.properties.is_empty() {
        // ksqlDB lists them in name order
        let mut props: Vec<(String, &Literal)> = cas
            .properties
            .iter()
            .map(|(k, v)| (k.to_uppercase(), v))
            .collect();
        props.sort_by(|a, b| a.0.cmp(&b.0));
        let props: Vec<String> = props.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(out, " WITH ({})", props.join(", "));
    }
    out.push_str(" AS SELECT");
    let item = |e: &Expr, a: &String| format!("{} {}", qualify(e), Ident::new(a));
    let aliases = &aliases;
    if items.len() == 1 {
        let _ = writeln!(out, " {}", item(items[0], &aliases[0]));
    } else {
        let lines: Vec<String> = items
            .iter()
            .zip(aliases)
            .map(|(e, a)| format!("\n  {}", item(e, a)))
            .collect();
        let _ = writeln!(out, "{}", lines.join(","));
    }
    let _ = writeln!(out, "FROM {name} {alias}");
    if let Some(w) = &q.window {
        let _ = writeln!(out, "WINDOW{}", window_text(w));
    }
    if let Some(w) = &q.where_clause {
        let _ = writeln!(out, "WHERE {}", qualify(w));
    }
    let list = |exprs: &[Expr]| exprs.iter().map(qualify).collect::<Vec<_>>().join(", ");
    if !q.group_by.is_empty() {
        let _ = writeln!(out, "GROUP BY {}", list(&q.group_by));
    }
    if !q.partition_by.is_empty() {
        let _ = writeln!(out, "PARTITION BY {}", list(&q.partition_by));
    }
    if let Some(h) = &q.having {
        let _ = writeln!(out, "HAVING {}", qualify(h));
    }
    let _ = writeln!(out, "{}", q.emit.unwrap_or(Emit::Changes));
    if let Some(n) = q.limit {
        let _ = writeln!(out, "LIMIT {n}");
    }
    Some(out.trim_end_matches('\n').to_string())
}

/// The name a select item of `e` takes without an alias: a column's, a
/// dereference's last field.
fn natural_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Column { name, .. } => Some(name.value.clone()),
        Expr::Dereference { field, .. } => Some(field.value.clone()),
        Expr::Nested(inner) => natural_name(inner),
        _ => None,
    }
}

/// A window as ksqlDB's window expressions print themselves.
fn window_text(w: &WindowSpec) -> String {
    let tail = |retention: &Option<Duration>, grace: &Option<Duration>| {
        let mut t = String::new();
        if let Some(r) = retention {
            let _ = write!(t, " , RETENTION {r}");
        }
        if let Some(g) = grace {
            let _ = write!(t, " , GRACE PERIOD {g}");
        }
        t
    };
    match w {
        WindowSpec::Tumbling {
            size,
            retention,
            grace,
        } => format!(" TUMBLING ( SIZE {size}{} ) ", tail(retention, grace)),
        WindowSpec::Hopping {
            size,
            advance,
            retention,
            grace,
        } => format!(
            " HOPPING ( SIZE {size} , ADVANCE BY {advance}{} ) ",
            tail(retention, grace)
        ),
        WindowSpec::Session {
            gap,
            retention,
            grace,
        } => format!(" SESSION ( {gap}{} ) ", tail(retention, grace)),
    }
}

/// `e` with every column qualified by `alias` (not a lambda's parameters,
/// `params`), and without the parentheses as written (ksqlDB's tree keeps
/// none: its formatter adds its own).
fn qualified(e: &Expr, alias: &Ident, params: &[String]) -> Expr {
    match e {
        Expr::Column {
            qualifier: None,
            name,
            pos,
        } if !params.contains(&name.value) => Expr::Column {
            qualifier: Some(alias.clone()),
            name: name.clone(),
            pos: *pos,
        },
        Expr::Nested(inner) => qualified(inner, alias, params),
        Expr::Lambda {
            params: names,
            body,
        } => {
            let mut inner = params.to_vec();
            inner.extend(names.iter().map(|n| n.value.clone()));
            Expr::Lambda {
                params: names.clone(),
                body: Box::new(qualified(body, alias, &inner)),
            }
        }
        _ => crate::map_children(e, &mut |c| qualified(c, alias, params)),
    }
}

/// A `CREATE SOURCE|SINK CONNECTOR` as ksqlDB's `QueryMask` shows it back in
/// responses and logs: every property value but `connector.class` replaced by
/// `'[string]'`, so no password travels back. `None` for other statements.
pub fn masked_connector(stmt: &crate::Statement) -> Option<String> {
    let crate::Statement::CreateConnector {
        source,
        if_not_exists,
        name,
        properties,
    } = stmt
    else {
        return None;
    };
    let props: Vec<String> = properties
        .iter()
        .map(|(k, v)| {
            let value = if k == "connector.class" {
                format!("'{}'", v.as_property_text().replace('\'', "''"))
            } else {
                "'[string]'".to_string()
            };
            format!("'{}'={value}", k.replace('\'', "''"))
        })
        .collect();
    Some(format!(
        "CREATE {} CONNECTOR {}{name} WITH ({});",
        if *source { "SOURCE" } else { "SINK" },
        if *if_not_exists { "IF NOT EXISTS " } else { "" },
        props.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cas(sql: &str) -> CreateAsSelect {
        let parsed = crate::parse(sql).unwrap().remove(0);
        match parsed.statement {
            Statement::CreateAsSelect(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_create_as_select_reads_as_ksqldb_formats_it_after_sanitizing() {
        let c = cas("CREATE TABLE out WITH (partitions=2, key_format='KAFKA') AS SELECT f2, f1, f2+(f1), COUNT(*) FROM test WINDOW TUMBLING (SIZE 30 SECOND) WHERE f1 > 0 GROUP BY f1, f2 HAVING COUNT(*) > 1;");
        let source = ["F1", "F2"].map(String::from).to_vec();
        assert_eq!(
            sanitized_create_as(&c, &source).unwrap(),
            "CREATE TABLE OUT WITH (KEY_FORMAT='KAFKA', PARTITIONS=2) AS SELECT\n  TEST.F2 F2,\n  TEST.F1 F1,\n  (TEST.F2 + TEST.F1) KSQL_COL_0,\n  COUNT(*) KSQL_COL_1\nFROM TEST TEST\nWINDOW TUMBLING ( SIZE 30 SECONDS ) \nWHERE (TEST.F1 > 0)\nGROUP BY TEST.F1, TEST.F2\nHAVING (COUNT(*) > 1)\nEMIT CHANGES"
        );
    }

    #[test]
    fn one_select_item_stays_on_the_select_line_and_lambda_parameters_stay_unqualified() {
        let c = cas("CREATE STREAM s AS SELECT TRANSFORM(xs, x => x + k) AS ys FROM src s1;");
        assert_eq!(
            sanitized_create_as(&c, &[]).unwrap(),
            "CREATE STREAM S AS SELECT TRANSFORM(S1.XS, (X) => (X + S1.K)) YS\nFROM SRC S1\nEMIT CHANGES"
        );
    }

    #[test]
    fn generated_names_skip_the_source_s_columns() {
        let c = cas("CREATE STREAM s AS SELECT ABS(a), s.st->f AS g, s.st->f, a + 1 FROM src s;");
        let source = ["A", "KSQL_COL_0"].map(String::from).to_vec();
        assert_eq!(
            sanitized_create_as(&c, &source).unwrap(),
            "CREATE STREAM S AS SELECT\n  ABS(S.A) KSQL_COL_1,\n  S.ST->F G,\n  S.ST->F F,\n  (S.A + 1) KSQL_COL_2\nFROM SRC S\nEMIT CHANGES"
        );
    }

    #[test]
    fn joins_and_stars_are_not_formatted() {
        let c = cas("CREATE STREAM s AS SELECT * FROM src;");
        assert_eq!(sanitized_create_as(&c, &[]), None);
    }
}
