use super::*;

// ---------------- statements ----------------

#[test]
fn create_stream_with_elements() {
    let s = one("create stream s (id int key, `Name` varchar, h array<struct<key string, value bytes>> headers, x bytes header('k')) with (kafka_topic='t', value_format='JSON', partitions=4, 'retention.ms'=100);");
    let Statement::CreateSource(c) = s else {
        panic!()
    };
    assert_eq!(c.kind, SourceKind::Stream);
    assert!(!c.or_replace && !c.is_source && !c.if_not_exists);
    assert_eq!(c.name, Ident::new("S"));
    assert_eq!(c.elements.len(), 4);
    assert_eq!(c.elements[0].constraint, ColumnConstraint::Key);
    assert_eq!(c.elements[0].ty, SqlType::Int);
    assert_eq!(c.elements[1].name, Ident::quoted("Name"));
    assert_eq!(c.elements[1].ty, SqlType::String);
    assert_eq!(c.elements[2].constraint, ColumnConstraint::Headers);
    assert_eq!(
        c.elements[2].ty,
        SqlType::Array(Box::new(SqlType::Struct(vec![
            ("KEY".into(), SqlType::String),
            ("VALUE".into(), SqlType::Bytes)
        ])))
    );
    assert_eq!(
        c.elements[3].constraint,
        ColumnConstraint::Header("k".into())
    );
    assert_eq!(
        c.properties,
        vec![
            ("KAFKA_TOPIC".to_string(), Literal::String("t".into())),
            ("VALUE_FORMAT".to_string(), Literal::String("JSON".into())),
            ("PARTITIONS".to_string(), Literal::Integer(4)),
            ("retention.ms".to_string(), Literal::Integer(100)),
        ]
    );
}

#[test]
fn create_source_table_variants() {
    let Statement::CreateSource(c) = one(
        "CREATE OR REPLACE SOURCE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v DOUBLE) WITH (kafka_topic='t', format='JSON')",
    ) else {
        panic!()
    };
    assert!(c.or_replace && c.is_source && c.if_not_exists);
    assert_eq!(c.kind, SourceKind::Table);
    assert_eq!(c.elements[0].constraint, ColumnConstraint::PrimaryKey);
    // Schema from a registry: no column list.
    let Statement::CreateSource(c) =
        one("CREATE STREAM s WITH (kafka_topic='t', value_format='AVRO')")
    else {
        panic!()
    };
    assert!(c.elements.is_empty());
    // Column list without WITH.
    let Statement::CreateSource(c) = one("CREATE STREAM s (a INT)") else {
        panic!()
    };
    assert!(c.properties.is_empty());
}

#[test]
fn key_constraint_checked_against_kind() {
    let e = err("CREATE TABLE INPUT (ID INT KEY, NAME STRING) WITH (kafka_topic='input',value_format='JSON');");
    assert_eq!(
        e.to_string(),
        "Line: 1, Col: 21: Column `ID` is a 'KEY' column: please use 'PRIMARY KEY' for tables."
    );
    let e = err("CREATE STREAM INPUT (ID INT PRIMARY KEY) WITH (kafka_topic='input');");
    assert!(e.message.contains("please use 'KEY' for streams"), "{e}");
}

#[test]
fn create_as_select() {
    let Statement::CreateAsSelect(c) = one(
        "CREATE OR REPLACE TABLE IF NOT EXISTS agg WITH (kafka_topic='out') AS SELECT k, COUNT(*) AS cnt FROM s GROUP BY k EMIT CHANGES;",
    ) else {
        panic!()
    };
    assert!(c.or_replace && c.if_not_exists);
    assert_eq!(c.kind, SourceKind::Table);
    assert_eq!(c.properties.len(), 1);
    assert_eq!(c.query.group_by.len(), 1);
    assert_eq!(c.query.emit, Some(Emit::Changes));
    assert!(parse("CREATE STREAM s (a INT) AS SELECT * FROM t").is_err());
    assert!(parse("CREATE SOURCE STREAM s AS SELECT * FROM t").is_err());
}

#[test]
fn insert_forms() {
    let Statement::InsertInto {
        target,
        properties,
        query,
        ..
    } = one("INSERT INTO out WITH (QUERY_ID='q1') SELECT * FROM s;")
    else {
        panic!()
    };
    assert_eq!(target, Ident::new("OUT"));
    assert_eq!(properties[0].0, "QUERY_ID");
    assert_eq!(query.select, vec![SelectItem::Wildcard]);

    let Statement::InsertValues {
        target,
        columns,
        values,
    } = one("INSERT INTO s (k, `v`) VALUES ('a', -1);")
    else {
        panic!()
    };
    assert_eq!(target, Ident::new("S"));
    assert_eq!(columns, Some(vec![Ident::new("K"), Ident::quoted("v")]));
    assert_eq!(
        values,
        vec![Expr::Literal(Literal::String("a".into())), int(-1)]
    );
    let Statement::InsertValues { columns, .. } = one("INSERT INTO s VALUES (1, 2)") else {
        panic!()
    };
    assert_eq!(columns, None);
}

#[test]
fn drop_terminate_pause_resume() {
    assert_eq!(
        one("DROP TABLE IF EXISTS t DELETE TOPIC"),
        Statement::DropSource {
            kind: SourceKind::Table,
            if_exists: true,
            name: Ident::new("T"),
            delete_topic: true
        }
    );
    assert_eq!(
        one("drop stream s"),
        Statement::DropSource {
            kind: SourceKind::Stream,
            if_exists: false,
            name: Ident::new("S"),
            delete_topic: false
        }
    );
    assert_eq!(
        one("TERMINATE CSAS_OUT_0"),
        Statement::Terminate {
            query_id: Some("CSAS_OUT_0".into())
        }
    );
    assert_eq!(
        one("TERMINATE ALL"),
        Statement::Terminate { query_id: None }
    );
    assert_eq!(
        one("PAUSE q1"),
        Statement::PauseResume {
            resume: false,
            query_id: Some("Q1".into())
        }
    );
    assert_eq!(
        one("RESUME ALL"),
        Statement::PauseResume {
            resume: true,
            query_id: None
        }
    );
    // a connector's target state, beyond ksqlDB
    for (sql, target) in [
        ("PAUSE CONNECTOR jdbc_in", ConnectorTarget::Paused),
        ("resume connector jdbc_in", ConnectorTarget::Started),
        ("STOP CONNECTOR jdbc_in", ConnectorTarget::Stopped),
    ] {
        let parsed = one(sql);
        assert_eq!(
            parsed,
            Statement::ConnectorTarget {
                name: Ident::new("JDBC_IN"),
                target
            }
        );
        assert_eq!(
            parsed.to_string(),
            format!("{} CONNECTOR JDBC_IN", target.verb())
        );
    }
    // a query named CONNECTOR is still paused as a query
    assert_eq!(
        one("PAUSE connector"),
        Statement::PauseResume {
            resume: false,
            query_id: Some("CONNECTOR".into())
        }
    );
}

#[test]
fn show_and_list() {
    let cases = [
        ("SHOW STREAMS", Show::Streams { extended: false }),
        ("LIST STREAMS EXTENDED", Show::Streams { extended: true }),
        ("show tables", Show::Tables { extended: false }),
        (
            "SHOW ALL TOPICS EXTENDED",
            Show::Topics {
                all: true,
                extended: true,
            },
        ),
        (
            "LIST TOPICS",
            Show::Topics {
                all: false,
                extended: false,
            },
        ),
        ("SHOW QUERIES EXTENDED", Show::Queries { extended: true }),
        ("SHOW FUNCTIONS", Show::Functions),
        ("SHOW TYPES", Show::Types),
        ("SHOW PROPERTIES", Show::Properties),
        ("SHOW VARIABLES", Show::Variables),
        ("SHOW CONNECTORS", Show::Connectors { source: None }),
        ("SHOW CONNECTOR PLUGINS", Show::ConnectorPlugins),
        (
            "SHOW SOURCE CONNECTORS",
            Show::Connectors { source: Some(true) },
        ),
        (
            "LIST SINK CONNECTORS",
            Show::Connectors {
                source: Some(false),
            },
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(one(sql), Statement::Show(want), "{sql}");
    }
}

#[test]
fn describe_forms() {
    let d = |sql| match one(sql) {
        Statement::Describe(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        d("DESCRIBE s"),
        Describe::Source {
            name: Ident::new("S"),
            extended: false
        }
    );
    assert_eq!(
        d("DESCRIBE EXTENDED s"),
        Describe::Source {
            name: Ident::new("S"),
            extended: true
        }
    );
    assert_eq!(
        d("DESCRIBE s EXTENDED"),
        Describe::Source {
            name: Ident::new("S"),
            extended: true
        }
    );
    assert_eq!(
        d("DESCRIBE STREAMS"),
        Describe::AllStreams { extended: false }
    );
    assert_eq!(
        d("DESCRIBE TABLES EXTENDED;"),
        Describe::AllTables { extended: true }
    );
    assert_eq!(
        d("DESCRIBE FUNCTION substring"),
        Describe::Function {
            name: "SUBSTRING".into()
        }
    );
    assert_eq!(
        d("DESCRIBE CONNECTOR c"),
        Describe::Connector {
            name: Ident::new("C")
        }
    );
}

#[test]
fn explain_forms() {
    assert_eq!(
        one("EXPLAIN CTAS_T_1;"),
        Statement::Explain(Explain::QueryId("CTAS_T_1".into()))
    );
    let Statement::Explain(Explain::Statement(inner)) = one("EXPLAIN SELECT * FROM s EMIT CHANGES")
    else {
        panic!()
    };
    assert!(matches!(*inner, Statement::Query(_)));
}

#[test]
fn print_forms() {
    assert_eq!(
        one("PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 10"),
        Statement::Print {
            topic: Ident::quoted("my-topic"),
            from_beginning: true,
            interval: Some(2),
            limit: Some(10)
        }
    );
    assert_eq!(
        one("PRINT topic SAMPLE 3"),
        Statement::Print {
            topic: Ident::new("TOPIC"),
            from_beginning: false,
            interval: Some(3),
            limit: None
        }
    );
}

#[test]
fn properties_and_variables_statements() {
    assert_eq!(
        one("SET 'auto.offset.reset'='earliest';"),
        Statement::Set {
            property: "auto.offset.reset".into(),
            value: "earliest".into()
        }
    );
    assert_eq!(
        one("UNSET 'auto.offset.reset'"),
        Statement::Unset {
            property: "auto.offset.reset".into()
        }
    );
    assert_eq!(
        one("ALTER SYSTEM 'ksql.x' = 'y'"),
        Statement::AlterSystem {
            property: "ksql.x".into(),
            value: "y".into()
        }
    );
    assert_eq!(
        one("DEFINE replicas = '3'"),
        Statement::Define {
            name: "replicas".into(),
            value: "3".into()
        }
    );
    assert_eq!(
        one("UNDEFINE replicas"),
        Statement::Undefine {
            name: "replicas".into()
        }
    );
    assert_eq!(
        one("RUN SCRIPT '/tmp/x.sql'"),
        Statement::RunScript {
            path: "/tmp/x.sql".into()
        }
    );
}

#[test]
fn types_and_connectors() {
    assert_eq!(
        one("CREATE TYPE IF NOT EXISTS address AS STRUCT<street STRING, `zip` INT>"),
        Statement::CreateType {
            name: Ident::new("ADDRESS"),
            if_not_exists: true,
            ty: SqlType::Struct(vec![
                ("STREET".into(), SqlType::String),
                ("zip".into(), SqlType::Int)
            ])
        }
    );
    assert_eq!(
        one("DROP TYPE IF EXISTS address"),
        Statement::DropType {
            name: Ident::new("ADDRESS"),
            if_exists: true
        }
    );
    assert_eq!(
        one("CREATE SOURCE CONNECTOR IF NOT EXISTS c WITH ('connector.class'='X', \"tasks.max\"='1')"),
        Statement::CreateConnector {
            source: true,
            if_not_exists: true,
            name: Ident::new("C"),
            properties: vec![
                ("connector.class".into(), Literal::String("X".into())),
                ("tasks.max".into(), Literal::String("1".into()))
            ]
        }
    );
    assert!(matches!(
        one("CREATE SINK CONNECTOR c WITH (a=1)"),
        Statement::CreateConnector { source: false, .. }
    ));
    assert_eq!(
        one("DROP CONNECTOR IF EXISTS c"),
        Statement::DropConnector {
            name: Ident::new("C"),
            if_exists: true
        }
    );
}

#[test]
fn alter_source() {
    assert_eq!(
        one("ALTER STREAM s ADD COLUMN a INT, ADD b ARRAY<STRING>"),
        Statement::AlterSource {
            kind: SourceKind::Stream,
            name: Ident::new("S"),
            add_columns: vec![
                TableElement {
                    name: Ident::new("A"),
                    ty: SqlType::Int,
                    constraint: ColumnConstraint::None
                },
                TableElement {
                    name: Ident::new("B"),
                    ty: SqlType::Array(Box::new(SqlType::String)),
                    constraint: ColumnConstraint::None
                },
            ]
        }
    );
}

#[test]
fn asserts() {
    assert_eq!(
        one("ASSERT NOT EXISTS TOPIC 'foo' WITH (partitions=1) TIMEOUT 3 SECONDS"),
        Statement::Assert(Assert::Topic {
            exists: false,
            name: Ident::quoted("foo"),
            properties: vec![("PARTITIONS".into(), Literal::Integer(1))],
            timeout: Some(Duration {
                value: 3,
                unit: TimeUnit::Seconds
            })
        })
    );
    assert_eq!(
        one("ASSERT SCHEMA SUBJECT 'x-value' ID 4"),
        Statement::Assert(Assert::Schema {
            exists: true,
            subject: Some("x-value".into()),
            id: Some(4),
            timeout: None
        })
    );
    assert_eq!(
        one("ASSERT VALUES out (k, v) VALUES (1, 'a')"),
        Statement::Assert(Assert::Values {
            tombstone: false,
            target: Ident::new("OUT"),
            columns: Some(vec![Ident::new("K"), Ident::new("V")]),
            values: vec![int(1), Expr::Literal(Literal::String("a".into()))]
        })
    );
    assert!(matches!(
        one("ASSERT NULL VALUES out (k) KEY (1)"),
        Statement::Assert(Assert::Values {
            tombstone: true,
            ..
        })
    ));
    assert!(matches!(
        one("ASSERT TABLE t (k INT PRIMARY KEY, v STRING) WITH (kafka_topic='t')"),
        Statement::Assert(Assert::Source {
            kind: SourceKind::Table,
            ..
        })
    ));
}

// ---------------- queries ----------------

#[test]
fn full_query() {
    let q = query(
        "SELECT a.x AS x1, b.*, COUNT(*) cnt FROM s1 a LEFT OUTER JOIN t2 AS b WITHIN (1 HOUR, 2 hours) GRACE PERIOD 5 MINUTES ON a.id = b.id \
         FULL JOIN t3 c ON a.id = c.id \
         WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 10 seconds) \
         WHERE a.x > 1 GROUP BY (a.x, b.y) PARTITION BY a.x HAVING COUNT(*) > 2 EMIT FINAL LIMIT 5",
    );
    assert_eq!(q.select.len(), 3);
    assert!(matches!(&q.select[0], SelectItem::Expr { alias: Some(a), .. } if a.value == "X1"));
    assert_eq!(q.select[1], SelectItem::QualifiedWildcard(Ident::new("B")));
    assert!(matches!(&q.select[2], SelectItem::Expr { alias: Some(a), .. } if a.value == "CNT"));
    let Relation::Join { left, joins } = &q.from else {
        panic!()
    };
    assert!(
        matches!(**left, Relation::Source { ref alias, .. } if alias == &Some(Ident::new("A")))
    );
    assert_eq!(joins.len(), 2);
    assert_eq!(joins[0].kind, JoinKind::Left);
    let w = joins[0].within.as_ref().unwrap();
    assert_eq!(w.before.millis(), 3_600_000);
    assert_eq!(w.after.millis(), 7_200_000);
    assert_eq!(w.grace.unwrap().millis(), 300_000);
    assert_eq!(joins[1].kind, JoinKind::Full);
    assert_eq!(
        q.window,
        Some(WindowSpec::Tumbling {
            size: Duration {
                value: 1,
                unit: TimeUnit::Minutes
            },
            retention: Some(Duration {
                value: 2,
                unit: TimeUnit::Days
            }),
            grace: Some(Duration {
                value: 10,
                unit: TimeUnit::Seconds
            }),
        })
    );
    assert_eq!(q.group_by.len(), 2);
    assert_eq!(q.partition_by.len(), 1);
    assert!(q.having.is_some());
    assert_eq!(q.emit, Some(Emit::Final));
    assert_eq!(q.limit, Some(5));
}

#[test]
fn windows() {
    let q =
        query("SELECT * FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) GROUP BY k");
    assert!(
        matches!(q.window, Some(WindowSpec::Hopping { advance, .. }) if advance.millis() == 10_000)
    );
    let q = query("SELECT * FROM s WINDOW SESSION (5 MINUTES, GRACE PERIOD 1 MINUTE) GROUP BY k");
    assert!(
        matches!(q.window, Some(WindowSpec::Session { gap, retention: None, grace: Some(_) }) if gap.millis() == 300_000)
    );
    assert!(parse("SELECT * FROM s WINDOW TUMBLING (SIZE 1 FORTNIGHT)").is_err());
}

#[test]
fn select_items_and_struct_wildcard() {
    let q = query("SELECT s->*, s->f->g, arr[1] FROM t");
    assert!(matches!(
        &q.select[0],
        SelectItem::StructWildcard(Expr::Column { .. })
    ));
    let SelectItem::Expr { expr, alias: None } = &q.select[1] else {
        panic!()
    };
    assert_eq!(expr.to_string(), "S->F->G");
}

#[test]
fn partition_before_having_and_single_group_by_expression() {
    let q = query("SELECT k FROM s GROUP BY k HAVING COUNT(*) > 1 PARTITION BY k");
    assert!(q.having.is_some() && q.partition_by.len() == 1);
    let q = query("SELECT k FROM s GROUP BY (k) + 1");
    assert_eq!(q.group_by.len(), 1);
    assert_eq!(q.group_by[0].to_string(), "((K) + 1)");
}

#[test]
fn keywords_as_identifiers() {
    let q = query("SELECT key, value, timestamp, size, type, topic, date, time, emit_x FROM s");
    assert_eq!(q.select.len(), 9);
    let Statement::CreateSource(c) =
        one("CREATE STREAM s (key STRING KEY, value INT, timestamp BIGINT, size INT, type STRING)")
    else {
        panic!()
    };
    assert_eq!(c.elements[0].name, Ident::new("KEY"));
    // Relation aliases stop at clause words.
    let q = query("SELECT * FROM s EMIT CHANGES");
    assert!(matches!(q.from, Relation::Source { alias: None, .. }));
    let q = query("SELECT * FROM s PARTITION BY x");
    assert!(matches!(q.from, Relation::Source { alias: None, .. }));
    assert!(parse("SELECT select FROM s").is_err());
    let q = query("SELECT `select` FROM s");
    assert!(
        matches!(&q.select[0], SelectItem::Expr { expr: Expr::Column { name, .. }, .. } if name == &Ident::quoted("select"))
    );
}

#[test]
fn alter_system_and_its_reset() {
    let set = one("ALTER SYSTEM 'ksql.streams.commit.interval.ms'='500'");
    assert_eq!(
        set,
        Statement::AlterSystem {
            property: "ksql.streams.commit.interval.ms".into(),
            value: "500".into()
        }
    );
    assert_eq!(
        set.to_string(),
        "ALTER SYSTEM 'ksql.streams.commit.interval.ms'='500'"
    );
    let reset = one("alter system reset 'ksql.streams.commit.interval.ms'");
    assert_eq!(
        reset,
        Statement::AlterSystemReset {
            property: "ksql.streams.commit.interval.ms".into()
        }
    );
    assert_eq!(
        reset.to_string(),
        "ALTER SYSTEM RESET 'ksql.streams.commit.interval.ms'"
    );
}

#[test]
fn topic_statements_take_topic_names_as_typed() {
    let Statement::CreateTopic { name, .. } = one("CREATE TOPIC bar_Admin") else {
        panic!()
    };
    assert_eq!(name.value, "bar_Admin");
    let Statement::DropTopic { name, .. } = one("DROP TOPIC IF EXISTS 'a.B'") else {
        panic!()
    };
    assert_eq!(name.value, "a.B");
    let Statement::AlterTopic { name, .. } = one("alter topic orders add partitions 2") else {
        panic!()
    };
    assert_eq!(name.value, "orders");
}

#[test]
fn functions() {
    match one(
        "CREATE OR REPLACE FUNCTION plus(a INT, b INT) RETURNS BIGINT LANGUAGE SQL AS 'a + b'",
    ) {
        Statement::CreateFunction(cf) => {
            assert_eq!(cf.name, Ident::new("PLUS"));
            assert!(cf.or_replace && !cf.if_not_exists);
            match cf.body {
                FunctionBody::Sql {
                    params, returns, ..
                } => {
                    assert_eq!(
                        params,
                        vec![
                            (Ident::new("A"), SqlType::Int),
                            (Ident::new("B"), SqlType::Int)
                        ]
                    );
                    assert_eq!(returns, SqlType::Bigint);
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        one("DROP FUNCTION plus"),
        Statement::DropFunction {
            name: Ident::new("PLUS"),
            if_exists: false
        }
    );
    // an error in the body is placed in the statement
    let e = err("CREATE FUNCTION f(a INT) RETURNS INT\n  AS 'a +* 2'");
    assert_eq!((e.pos.line, e.pos.column), (2, 10), "{e}");
    let e = err("CREATE FUNCTION f AS 'a'");
    assert!(
        e.message.contains("needs its parameters and return type"),
        "{e}"
    );
    let e = err("CREATE FUNCTION f(a INT) RETURNS INT LANGUAGE WASM AS 'x.wasm'");
    assert!(e.message.contains("its module declares"), "{e}");
    let e = err("CREATE FUNCTION f LANGUAGE PYTHON AS 'x'");
    assert!(e.to_string().contains("SQL or WASM"), "{e}");
}
