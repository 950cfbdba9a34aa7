use super::*;
use arrow::array::{ArrayRef, AsArray, Int32Array, RecordBatch, StringArray};

fn eval(sql: &str) -> (ArrayRef, DataType) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("A", DataType::Int32, true),
        Field::new("S", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![Some(7), None])),
            Arc::new(StringArray::from(vec![Some("ab"), Some("cd")])),
        ],
    )
    .unwrap();
    let compiler = ExprCompiler::new(Scope::of_schema(schema, None), &(), "SELECT");
    let c = compiler
        .compile(&sluice_sql::parse_expr(sql).unwrap())
        .unwrap();
    let v = c.expr.evaluate(&batch).unwrap().into_array(2).unwrap();
    (v, c.ty)
}

#[test]
fn integer_arithmetic_stays_integer() {
    let (v, ty) = eval("A / 2 + 1");
    assert_eq!(ty, DataType::Int32);
    assert_eq!(v.as_primitive::<arrow::datatypes::Int32Type>().value(0), 4);
    assert!(v.is_null(1));
}

#[test]
fn decimal_literals_and_widening() {
    let (_, ty) = eval("A + 1.50");
    assert_eq!(ty, DataType::Decimal128(13, 2));
    let (_, ty) = eval("A * 1.5E0");
    assert_eq!(ty, DataType::Float64);
}

#[test]
fn string_plus_concatenates_and_like_matches() {
    let (v, ty) = eval("S + 'x'");
    assert_eq!(ty, DataType::Utf8);
    assert_eq!(v.as_string::<i32>().value(0), "abx");
    let (v, _) = eval("S LIKE 'a%'");
    assert!(v.as_boolean().value(0));
    assert!(!v.as_boolean().value(1));
}

#[test]
fn unknown_column_names_position() {
    let schema = Arc::new(Schema::new(vec![Field::new("A", DataType::Int32, true)]));
    let compiler = ExprCompiler::new(Scope::of_schema(schema, None), &(), "SELECT");
    let err = compiler
        .compile(&sluice_sql::parse_expr("A + NOPE").unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("SELECT column 'NOPE' cannot be resolved"),
        "{err}"
    );
}

#[test]
fn case_and_between_and_in() {
    let (v, ty) = eval("CASE WHEN A > 5 THEN 'big' ELSE 'small' END");
    assert_eq!(ty, DataType::Utf8);
    assert_eq!(v.as_string::<i32>().value(0), "big");
    let (v, _) = eval("A BETWEEN 1 AND 10");
    assert!(v.as_boolean().value(0));
    let (v, _) = eval("A IN (1, 7)");
    assert!(v.as_boolean().value(0));
}

#[test]
fn like_pattern_translation() {
    assert_eq!(like_pattern("a!%b", Some('!')), "a\\%b");
    assert_eq!(like_pattern("a\\b", None), "a\\\\b");
}
