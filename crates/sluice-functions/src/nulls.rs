//! NULL handling: COALESCE, IFNULL, NULLIF.

use datafusion_common::ScalarValue;

use crate::def::{def, FnDef};

const CAT: &str = "OTHER";

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(
            CAT,
            "COALESCE",
            "The first non-NULL argument.",
            &["COALESCE(first T, others T...) => T"],
            |a, _| first_non_null(a),
        )
        .lenient(),
        def(
            CAT,
            "IFNULL",
            "expression if it is not NULL, otherwise altValue.",
            &["IFNULL(expression T, altValue T) => T"],
            |a, _| first_non_null(a),
        )
        .lenient(),
        def(
            CAT,
            "NULLIF",
            "NULL if both arguments are equal, otherwise the first argument.",
            &["NULLIF(expr1 T, expr2 T) => T"],
            |a, _| {
                if !a[1].is_null() && a[0] == a[1] {
                    None
                } else {
                    Some(a[0].clone())
                }
            },
        )
        .lenient(),
    ]);
}

fn first_non_null(a: &[ScalarValue]) -> Option<ScalarValue> {
    a.iter().find(|v| !v.is_null()).cloned()
}

#[cfg(test)]
mod tests {
    use crate::arrow::datatypes::DataType as D;
    use crate::testutil::*;

    #[test]
    fn null_functions() {
        assert_eq!(
            call("COALESCE", &[null_int(), null(), int(3), int(4)]),
            int(3)
        );
        assert_eq!(call("COALESCE", &[null_int(), big(7)]), big(7));
        assert_eq!(call("COALESCE", &[null_str()]), null_str());
        assert_eq!(call("IFNULL", &[null_str(), st("x")]), st("x"));
        assert_eq!(call("IFNULL", &[st("a"), st("x")]), st("a"));
        assert_eq!(call("NULLIF", &[int(1), int(1)]), null_int());
        assert_eq!(call("NULLIF", &[int(1), int(2)]), int(1));
        assert_eq!(call("NULLIF", &[int(1), null_int()]), int(1));
        assert!(ret("IFNULL", &[D::Utf8, D::Int32]).is_err());
        let l = ints(&[Some(1)]);
        assert_eq!(call("COALESCE", &[null(), l.clone()]), l);
    }
}
