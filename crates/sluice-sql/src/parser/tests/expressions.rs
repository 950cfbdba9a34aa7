use std::collections::HashMap;

use super::*;

// ---------------- expressions ----------------

#[test]
fn precedence() {
    assert_eq!(expr("a + b * c").to_string(), "(A + (B * C))");
    assert_eq!(expr("a - b - c").to_string(), "((A - B) - C)");
    assert_eq!(expr("-a * b").to_string(), "(-A * B)");
    assert_eq!(expr("a OR b AND c").to_string(), "(A OR (B AND C))");
    assert_eq!(expr("NOT a = 1 AND b").to_string(), "((NOT (A = 1)) AND B)");
    assert_eq!(expr("a + 1 > b * 2").to_string(), "((A + 1) > (B * 2))");
    assert_eq!(expr("x % 2 != 0").to_string(), "((X % 2) <> 0)");
    assert_eq!(expr("(a + b) * c").to_string(), "((A + B) * C)");
    assert_eq!(expr("s->f[1]").to_string(), "S->F[1]");
    assert_eq!(expr("-s->f").to_string(), "-S->F");
    assert!(same(
        &expr("a <= 1"),
        &Expr::Binary {
            op: BinaryOp::LtEq,
            left: Box::new(col("A")),
            right: Box::new(int(1))
        }
    ));
    // Comparisons do not chain.
    assert!(parse_expr("a = b = c").is_err());
}

#[test]
fn predicates() {
    assert_eq!(expr("a IS NULL").to_string(), "(A IS NULL)");
    assert_eq!(expr("a is not null").to_string(), "(A IS NOT NULL)");
    assert_eq!(
        expr("a IS NOT DISTINCT FROM b").to_string(),
        "(A IS NOT DISTINCT FROM B)"
    );
    assert_eq!(
        expr("a NOT BETWEEN 1 AND 2 + 3").to_string(),
        "(A NOT BETWEEN 1 AND (2 + 3))"
    );
    assert_eq!(expr("a IN (1, 'x')").to_string(), "(A IN (1, 'x'))");
    assert_eq!(expr("a NOT IN (1)").to_string(), "(A NOT IN (1))");
    let e = expr("a LIKE 'x!%' ESCAPE '!'");
    assert!(matches!(
        e,
        Expr::Like {
            escape: Some('!'),
            negated: false,
            ..
        }
    ));
    assert_eq!(e.to_string(), "(A LIKE 'x!%' ESCAPE '!')");
    assert!(parse_expr("a LIKE 'x' ESCAPE 'ab'").is_err());
    assert_eq!(
        expr("a BETWEEN 1 AND 2 AND b").to_string(),
        "((A BETWEEN 1 AND 2) AND B)"
    );
}

#[test]
fn literals() {
    assert_eq!(expr("12"), int(12));
    assert_eq!(expr("-12"), int(-12));
    assert_eq!(expr("-9223372036854775808"), int(i64::MIN));
    assert!(parse_expr("9223372036854775808")
        .unwrap_err()
        .message
        .contains("Invalid numeric literal: 9223372036854775808"));
    assert_eq!(expr("1.50"), Expr::Literal(Literal::Decimal("1.50".into())));
    assert_eq!(expr(".5"), Expr::Literal(Literal::Decimal(".5".into())));
    assert_eq!(expr("-1.5"), Expr::Literal(Literal::Decimal("-1.5".into())));
    assert_eq!(expr("1.5e3"), Expr::Literal(Literal::Double(1500.0)));
    assert_eq!(expr("2E-1"), Expr::Literal(Literal::Double(0.2)));
    assert_eq!(expr("1.5E3").to_string(), "1.5E3");
    assert!(parse_expr("1E999")
        .unwrap_err()
        .message
        .contains("overflows DOUBLE"));
    assert_eq!(
        expr("'it''s'"),
        Expr::Literal(Literal::String("it's".into()))
    );
    assert_eq!(expr("'it''s'").to_string(), "'it''s'");
    assert_eq!(
        expr("'a\\n'"),
        Expr::Literal(Literal::String("a\\n".into()))
    );
    assert_eq!(expr("NULL"), Expr::Literal(Literal::Null));
    assert_eq!(expr("true"), Expr::Literal(Literal::Boolean(true)));
    assert_eq!(expr("FALSE").to_string(), "false");
    assert_eq!(expr("- -1").to_string(), "- -1");
}

#[test]
fn columns_and_positions() {
    let e = expr("foo");
    assert_eq!(
        e,
        Expr::Column {
            qualifier: None,
            name: Ident::new("FOO"),
            pos: Pos { line: 1, column: 1 }
        }
    );
    let e = expr("  t.`Col`");
    assert_eq!(
        e,
        Expr::Column {
            qualifier: Some(Ident::new("T")),
            name: Ident::quoted("Col"),
            pos: Pos { line: 1, column: 3 }
        }
    );
    assert_eq!(e.to_string(), "T.`Col`");
    let e = expr("\"Mixed\"");
    assert!(matches!(e, Expr::Column { name, .. } if name == Ident::quoted("Mixed")));
    let Expr::Binary { right, .. } = expr("1 +\n  abs(x)") else {
        panic!()
    };
    assert!(matches!(
        *right,
        Expr::Function {
            pos: Pos { line: 2, column: 3 },
            ..
        }
    ));
    let q = query("SELECT *\nFROM  src");
    assert!(matches!(
        q.from,
        Relation::Source {
            pos: Pos { line: 2, column: 7 },
            ..
        }
    ));
}

#[test]
fn functions_and_lambdas() {
    assert_eq!(
        expr("count(*)"),
        Expr::Function {
            name: "COUNT".into(),
            args: vec![],
            star: true,
            pos: Pos { line: 1, column: 1 }
        }
    );
    assert_eq!(expr("now()").to_string(), "NOW()");
    let e = expr("TRANSFORM(arr, x => x + 1)");
    let Expr::Function { args, .. } = &e else {
        panic!()
    };
    assert!(matches!(&args[1], Expr::Lambda { params, .. } if params == &vec![Ident::new("X")]));
    assert_eq!(e.to_string(), "TRANSFORM(ARR, (X) => (X + 1))");
    let e = expr("REDUCE(m, 0, (s, k, v) => s + v)");
    assert_eq!(e.to_string(), "REDUCE(M, 0, (S, K, V) => (S + V))");
    let e = expr("TIMESTAMPADD(SECONDS, 1, ts)");
    let Expr::Function { args, .. } = &e else {
        panic!()
    };
    assert_eq!(args[0], Expr::IntervalUnit("SECONDS".into()));
    assert_eq!(e.to_string(), "TIMESTAMPADD(SECONDS, 1, TS)");
    assert_eq!(expr("dateadd(day, 2, d)").to_string(), "DATEADD(DAY, 2, D)");
}

#[test]
fn constructors_cast_case() {
    assert_eq!(expr("ARRAY[1, 2]").to_string(), "ARRAY[1, 2]");
    assert_eq!(expr("ARRAY[]"), Expr::Array(vec![]));
    assert_eq!(
        expr("MAP('a' := 1, 'b' := 2)").to_string(),
        "MAP('a':=1, 'b':=2)"
    );
    assert_eq!(
        expr("STRUCT(a := 1, `b` := 'x')").to_string(),
        "STRUCT(A:=1, `b`:='x')"
    );
    assert_eq!(expr("STRUCT()"), Expr::Struct(vec![]));
    assert_eq!(
        expr("cast(x as decimal(4, 2))").to_string(),
        "CAST(X AS DECIMAL(4, 2))"
    );
    assert_eq!(expr("CAST(x AS VARCHAR)").to_string(), "CAST(X AS STRING)");
    assert_eq!(
        expr("CASE WHEN a > 1 THEN 'x' WHEN a < 0 THEN 'y' ELSE 'z' END").to_string(),
        "(CASE WHEN (A > 1) THEN 'x' WHEN (A < 0) THEN 'y' ELSE 'z' END)"
    );
    assert_eq!(
        expr("CASE a WHEN 1 THEN 'one' END").to_string(),
        "(CASE A WHEN 1 THEN 'one' END)"
    );
    assert!(parse_expr("CASE END").is_err());
}

#[test]
fn nested_parentheses() {
    assert_eq!(expr("(a)"), Expr::Nested(Box::new(col_at("A", 2))));
    // Parentheses around an expression that prints its own are not kept twice.
    assert_eq!(expr("((a + b))").to_string(), "(A + B)");
    assert_eq!(expr("-(a)").to_string(), "-(A)");
    assert_eq!(expr("(-a)[1]").to_string(), "(-A)[1]");
}

fn col_at(name: &str, column: u64) -> Expr {
    Expr::Column {
        qualifier: None,
        name: Ident::new(name),
        pos: Pos { line: 1, column },
    }
}

// ---------------- types ----------------

#[test]
fn data_types() {
    let t = |s: &str| parse_data_type(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(t("int"), SqlType::Int);
    assert_eq!(t("INTEGER"), SqlType::Int);
    assert_eq!(t("bigint"), SqlType::Bigint);
    assert_eq!(t("BOOLEAN"), SqlType::Boolean);
    assert_eq!(t("double"), SqlType::Double);
    assert_eq!(t("varchar"), SqlType::String);
    assert_eq!(t("VARCHAR(STRING)"), SqlType::String);
    assert_eq!(t("bytes"), SqlType::Bytes);
    assert_eq!(t("date"), SqlType::Date);
    assert_eq!(t("time"), SqlType::Time);
    assert_eq!(t("timestamp"), SqlType::Timestamp);
    assert_eq!(
        t("DECIMAL(10, 2)"),
        SqlType::Decimal {
            precision: 10,
            scale: 2
        }
    );
    assert_eq!(
        t("ARRAY<MAP<STRING,INT>>"),
        SqlType::Array(Box::new(SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Int)
        )))
    );
    assert_eq!(
        t("MAP<STRING, ARRAY<ARRAY<INT>>>"),
        SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Array(Box::new(SqlType::Array(Box::new(
                SqlType::Int
            )))))
        )
    );
    assert_eq!(
        t("STRUCT<a STRUCT<b INT>>").to_string(),
        "STRUCT<`A` STRUCT<`B` INTEGER>>"
    );
    assert_eq!(
        t("STRUCT<a ARRAY<STRUCT<b INT>>, c INT>").to_string(),
        "STRUCT<`A` ARRAY<STRUCT<`B` INTEGER>>, `C` INTEGER>"
    );
    assert_eq!(t("STRUCT<>"), SqlType::Struct(vec![]));
    assert_eq!(
        t("ARRAY<STRUCT<>>"),
        SqlType::Array(Box::new(SqlType::Struct(vec![])))
    );
    assert_eq!(t("address"), SqlType::Custom("ADDRESS".into()));
    assert_eq!(t("MAP<STRING, INT>").to_string(), "MAP<STRING, INTEGER>");
    assert!(parse_data_type("ARRAY<INT>>").is_err());
    assert!(parse_data_type("ARRAY<INT").is_err());
    assert!(parse_data_type("DECIMAL(300, 2)").is_err());
    // A `>>` closing a CREATE column type, then more columns.
    let Statement::CreateSource(c) = one("CREATE STREAM s (a ARRAY<ARRAY<INT>>, b INT)") else {
        panic!()
    };
    assert_eq!(c.elements.len(), 2);
    assert!(parse("CREATE STREAM s (a ARRAY<INT>>, b INT)").is_err());
}

// ---------------- errors ----------------

#[test]
fn error_positions_and_messages() {
    let e = err("SELECT * FROM s WHERE FOO BAR");
    assert_eq!(
        e.pos,
        Pos {
            line: 1,
            column: 27
        }
    );
    assert_eq!(
        e.to_string(),
        "line 1:27: Syntax Error\n\nStatement: SELECT * FROM s WHERE FOO BAR"
    );

    let e = err("CREATE STREAM s (a INT,\n  b FOO BAR)");
    assert_eq!(e.pos, Pos { line: 2, column: 9 });
    assert!(
        e.message.starts_with("expected {',', ')'}, found 'BAR'"),
        "{e}"
    );
    assert!(
        e.to_string()
            .ends_with("Syntax Error\nExpecting {',', ')'}\nStatement:   b FOO BAR)"),
        "{e}"
    );

    let e = err("SELECT a FROM");
    assert_eq!(e.message, "expected an identifier, found end of input");
    assert_eq!(
        e.pos,
        Pos {
            line: 1,
            column: 14
        }
    );

    let e = err("FROB x");
    assert_eq!(
        e.to_string(),
        "line 1:1: Syntax Error\nUnknown statement 'FROB'\nDid you mean 'DROP'?\nStatement: FROB x"
    );

    // a statement of a script: positions count from the script's start
    let e = parse_at("SELECT * FROM s WHERE FOO BAR", Pos { line: 3, column: 5 }).unwrap_err();
    assert_eq!(
        e.pos,
        Pos {
            line: 3,
            column: 31
        }
    );
    let e = parse_at(
        "SELECT 1 AS x,\n 9223372036854775808 AS y",
        Pos { line: 3, column: 5 },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Failed to prepare statement: line 4:3: Invalid numeric literal: 9223372036854775808\nStatement: SELECT 1 AS x,\n 9223372036854775808 AS y"
    );

    // the test runner's statements are not the server's
    let e = parse("ASSERT VALUES t (a) VALUES (1);").unwrap_err();
    assert!(
        e.to_string()
            .contains("Syntax error at or near 'VALUES' at line 1:8"),
        "{e}"
    );

    // Tokenizer errors keep their location.
    let e = err("SELECT 'abc FROM s");
    assert_eq!(e.pos.line, 1);
    assert!(e.pos.column >= 8, "{e}");
    let e = err("SELECT `abc FROM s");
    assert_eq!(e.pos, Pos { line: 1, column: 8 });
}

// ---------------- multiple statements ----------------

#[test]
fn multiple_statements_text_and_positions() {
    let sql = "CREATE STREAM s (a INT) WITH (kafka_topic='t');\n  SELECT * FROM s EMIT CHANGES ;\n-- comment\nSHOW STREAMS";
    let v = parse(sql).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].text, "CREATE STREAM s (a INT) WITH (kafka_topic='t');");
    assert_eq!(v[0].pos, Pos { line: 1, column: 1 });
    assert_eq!(v[1].text, "SELECT * FROM s EMIT CHANGES ;");
    assert_eq!(v[1].pos, Pos { line: 2, column: 3 });
    assert_eq!(v[2].text, "SHOW STREAMS");
    assert_eq!(v[2].pos, Pos { line: 4, column: 1 });
    assert!(parse("").unwrap().is_empty());
    assert!(parse("  -- only a comment\n /* and a block */ ")
        .unwrap()
        .is_empty());
    assert_eq!(parse(";;SHOW TABLES;;").unwrap().len(), 1);
    // Multi-byte text before a statement keeps the slicing right.
    let v = parse("SELECT 'é' FROM s; SHOW TYPES;").unwrap();
    assert_eq!(v[0].text, "SELECT 'é' FROM s;");
    assert_eq!(v[1].text, "SHOW TYPES;");
}

// ---------------- variable substitution ----------------

#[test]
fn variable_substitution() {
    let vars: HashMap<String, String> = [
        ("format".to_string(), "AVRO".to_string()),
        ("REPLICAS".to_string(), "3".to_string()),
        ("topicName".to_string(), "'my_topic'".to_string()),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        substitute_variables(
            "CREATE STREAM s WITH (kafka_topic=${TopicName}, value_format='${FORMAT}', replicas=${replicas});",
            &vars
        )
        .unwrap(),
        "CREATE STREAM s WITH (kafka_topic='my_topic', value_format='AVRO', replicas=3);"
    );
    // Undefined variables are left as written, as ksqlDB does.
    assert_eq!(
        substitute_variables("SELECT '${nope}' FROM s", &vars).unwrap(),
        "SELECT '${nope}' FROM s"
    );
    // `$$` escapes a reference.
    assert_eq!(
        substitute_variables("SELECT '$${format}', '${format}', 'a$b'", &vars).unwrap(),
        "SELECT '${format}', 'AVRO', 'a$b'"
    );
    let e = substitute_variables("SELECT\n  ${1x}", &vars).unwrap_err();
    assert_eq!(e.pos, Pos { line: 2, column: 3 });
}
