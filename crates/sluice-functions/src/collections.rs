//! Array and map functions.

use std::cmp::Ordering;

use datafusion_common::ScalarValue;

use crate::arrow::datatypes::DataType;
use crate::def::{def, Ctx, FnDef};
use crate::util::{
    as_bool, as_i64, as_str, boolv, decimal_string, elem_type, i32v, java_double, list_items,
    make_list, make_map, make_struct, map_entries, map_kv_types, s,
};

const CAT: &str = "ARRAY";
const MAP: &str = "MAP";

pub(crate) fn register(out: &mut Vec<FnDef>) {
    out.extend([
        def(
            CAT,
            "ARRAY_CONTAINS",
            "Whether the array contains the value (FALSE for a NULL array).",
            &["ARRAY_CONTAINS(array ARRAY<T>, value T) => BOOLEAN"],
            |a, _| boolv(list_items(&a[0]).is_some_and(|items| items.contains(&a[1]))),
        )
        .lenient(),
        def(
            CAT,
            "ARRAY_DISTINCT",
            "The distinct elements, in order of first appearance.",
            &["ARRAY_DISTINCT(array ARRAY<T>) => ARRAY<T>"],
            |a, c| list(distinct(list_items(&a[0])?), c),
        ),
        def(
            CAT,
            "ARRAY_EXCEPT",
            "The distinct elements of the first array that are not in the second.",
            &["ARRAY_EXCEPT(left ARRAY<T>, right ARRAY<T>) => ARRAY<T>"],
            |a, c| {
                let right = list_items(&a[1])?;
                list(
                    distinct(list_items(&a[0])?)
                        .into_iter()
                        .filter(|v| !right.contains(v))
                        .collect(),
                    c,
                )
            },
        ),
        def(
            CAT,
            "ARRAY_INTERSECT",
            "The distinct elements present in both arrays.",
            &["ARRAY_INTERSECT(left ARRAY<T>, right ARRAY<T>) => ARRAY<T>"],
            |a, c| {
                let right = list_items(&a[1])?;
                list(
                    distinct(list_items(&a[0])?)
                        .into_iter()
                        .filter(|v| right.contains(v))
                        .collect(),
                    c,
                )
            },
        ),
        def(
            CAT,
            "ARRAY_UNION",
            "The distinct elements of both arrays.",
            &["ARRAY_UNION(left ARRAY<T>, right ARRAY<T>) => ARRAY<T>"],
            |a, c| {
                let mut all = list_items(&a[0])?;
                all.extend(list_items(&a[1])?);
                list(distinct(all), c)
            },
        ),
        def(
            CAT,
            "ARRAY_CONCAT",
            "Concatenates two arrays; a NULL array counts as empty unless both are NULL.",
            &["ARRAY_CONCAT(left ARRAY<T>, right ARRAY<T>) => ARRAY<T>"],
            |a, c| {
                let (l, r) = (list_items(&a[0]), list_items(&a[1]));
                if l.is_none() && r.is_none() {
                    return None;
                }
                let mut all = l.unwrap_or_default();
                all.extend(r.unwrap_or_default());
                list(all, c)
            },
        )
        .lenient(),
        def(
            CAT,
            "ARRAY_JOIN",
            "Joins the elements' text with a delimiter (default ',').",
            &[
                "ARRAY_JOIN(array ARRAY<T>) => STRING",
                "ARRAY_JOIN(array ARRAY<T>, delimiter STRING) => STRING",
            ],
            array_join,
        )
        .lenient(),
        def(
            CAT,
            "ARRAY_LENGTH",
            "Number of elements of the array.",
            &["ARRAY_LENGTH(array ARRAY<T>) => INT"],
            |a, _| i32v(list_items(&a[0])?.len() as i32),
        ),
        def(
            CAT,
            "ARRAY_MAX",
            "The greatest non-NULL element.",
            &["ARRAY_MAX(array ARRAY<T>) => T"],
            |a, _| extreme(list_items(&a[0])?, Ordering::Greater),
        ),
        def(
            CAT,
            "ARRAY_MIN",
            "The least non-NULL element.",
            &["ARRAY_MIN(array ARRAY<T>) => T"],
            |a, _| extreme(list_items(&a[0])?, Ordering::Less),
        ),
        def(
            CAT,
            "ARRAY_REMOVE",
            "Removes every element equal to the value.",
            &["ARRAY_REMOVE(array ARRAY<T>, value T) => ARRAY<T>"],
            |a, c| {
                let items = list_items(&a[0])?;
                let v = &a[1];
                list(
                    items
                        .into_iter()
                        .filter(|x| if v.is_null() { !x.is_null() } else { x != v })
                        .collect(),
                    c,
                )
            },
        )
        .lenient(),
        def(
            CAT,
            "ARRAY_SORT",
            "Sorts the array ('ASC' by default or 'DESC'); NULLs go last.",
            &[
                "ARRAY_SORT(array ARRAY<T>) => ARRAY<T>",
                "ARRAY_SORT(array ARRAY<T>, direction STRING) => ARRAY<T>",
            ],
            array_sort,
        ),
        def(
            CAT,
            "SLICE",
            "The elements from position `from` to `to` (1-based, inclusive).",
            &["SLICE(array ARRAY<T>, from INT, to INT) => ARRAY<T>"],
            slice,
        ),
        def(
            CAT,
            "GENERATE_SERIES",
            "The integers from start to end (inclusive), by step (default 1 or -1).",
            &[
                "GENERATE_SERIES(start INT, end INT) => ARRAY<INT>",
                "GENERATE_SERIES(start INT, end INT, step INT) => ARRAY<INT>",
                "GENERATE_SERIES(start BIGINT, end BIGINT) => ARRAY<BIGINT>",
                "GENERATE_SERIES(start BIGINT, end BIGINT, step INT) => ARRAY<BIGINT>",
            ],
            generate_series,
        ),
        def(
            MAP,
            "AS_MAP",
            "Builds a map from an array of keys and an array of values.",
            &["AS_MAP(keys ARRAY<STRING>, values ARRAY<T>) => MAP<STRING, T>"],
            as_map,
        ),
        def(
            MAP,
            "ENTRIES",
            "The map's entries as an array of STRUCT<K, V>, optionally sorted by key.",
            &["ENTRIES(map MAP<STRING, T>, sorted BOOLEAN) => ARRAY<STRUCT<K STRING, V T>>"],
            entries,
        ),
        def(
            MAP,
            "MAP_KEYS",
            "The keys of the map.",
            &["MAP_KEYS(map MAP<K, V>) => ARRAY<K>"],
            |a, c| list(map_entries(&a[0])?.into_iter().map(|e| e.0).collect(), c),
        ),
        def(
            MAP,
            "MAP_VALUES",
            "The values of the map.",
            &["MAP_VALUES(map MAP<K, V>) => ARRAY<V>"],
            |a, c| list(map_entries(&a[0])?.into_iter().map(|e| e.1).collect(), c),
        ),
        def(
            MAP,
            "MAP_UNION",
            "Merges two maps; the second wins on duplicate keys. NULL only if both are NULL.",
            &["MAP_UNION(map1 MAP<K, V>, map2 MAP<K, V>) => MAP<K, V>"],
            map_union,
        )
        .lenient(),
    ]);
}

/// Builds a list of the return type's element type.
fn list(items: Vec<ScalarValue>, c: &Ctx) -> Option<ScalarValue> {
    make_list(items, &elem_type(c.ret))
}

fn distinct(items: Vec<ScalarValue>) -> Vec<ScalarValue> {
    let mut out: Vec<ScalarValue> = Vec::with_capacity(items.len());
    for v in items {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn extreme(items: Vec<ScalarValue>, want: Ordering) -> Option<ScalarValue> {
    let mut best: Option<ScalarValue> = None;
    for v in items.into_iter().filter(|v| !v.is_null()) {
        best = match best {
            Some(b) if v.partial_cmp(&b) != Some(want) => Some(b),
            _ => Some(v),
        };
    }
    best
}

/// Java's `String.valueOf` of a primitive ksqlDB value.
pub(crate) fn java_text(v: &ScalarValue) -> String {
    if v.is_null() {
        return "null".into();
    }
    match v {
        ScalarValue::Float64(Some(x)) => java_double(*x),
        ScalarValue::Decimal128(Some(x), _, sc) => decimal_string(*x, *sc),
        other => match as_str(other) {
            Some(s) => s.to_string(),
            None => crate::json::to_json_string(other),
        },
    }
}

fn array_join(a: &[ScalarValue], _: &Ctx) -> Option<ScalarValue> {
    let items = list_items(&a[0])?;
    let delim = match a.get(1) {
        None => ",",
        Some(d) => as_str(d).unwrap_or(""),
    };
    s(items.iter().map(java_text).collect::<Vec<_>>().join(delim))
}

fn array_sort(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    let mut items = list_items(&a[0])?;
    let desc = match a.get(1) {
        None => false,
        Some(d) => match as_str(d)?.to_ascii_uppercase().as_str() {
            "ASC" => false,
            "DESC" => true,
            _ => return None,
        },
    };
    items.sort_by(|x, y| match (x.is_null(), y.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = x.partial_cmp(y).unwrap_or(Ordering::Equal);
            if desc {
                o.reverse()
            } else {
                o
            }
        }
    });
    list(items, c)
}

fn slice(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    let items = list_items(&a[0])?;
    let (from, to) = (as_i64(&a[1])?, as_i64(&a[2])?);
    let len = items.len() as i64;
    let start = (from.max(1) - 1).min(len);
    let end = to.min(len).max(start);
    list(items[start as usize..end as usize].to_vec(), c)
}

const MAX_SERIES: i64 = 1_000_000;

fn generate_series(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    let (start, end) = (as_i64(&a[0])?, as_i64(&a[1])?);
    let step = match a.get(2) {
        Some(v) => as_i64(v)?,
        None if end >= start => 1,
        None => -1,
    };
    // ksqlDB rejects a zero step or one pointing away from `end`.
    if step == 0 || (end > start && step < 0) || (end < start && step > 0) {
        return None;
    }
    let count = (end - start) / step + 1;
    if count > MAX_SERIES {
        return None;
    }
    let big = matches!(elem_type(c.ret), DataType::Int64);
    let items = (0..count)
        .map(|i| {
            let v = start + i * step;
            if big {
                ScalarValue::Int64(Some(v))
            } else {
                ScalarValue::Int32(Some(v as i32))
            }
        })
        .collect();
    list(items, c)
}

fn as_map(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    let keys = list_items(&a[0])?;
    let vals = list_items(&a[1])?;
    let mut entries: Vec<(ScalarValue, ScalarValue)> = Vec::new();
    for (k, v) in keys.into_iter().zip(vals) {
        if k.is_null() {
            continue;
        }
        match entries.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = v,
            None => entries.push((k, v)),
        }
    }
    let (kt, vt) = map_kv_types(c.ret);
    make_map(entries, &kt, &vt)
}

fn entries(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    let mut es = map_entries(&a[0])?;
    if as_bool(&a[1])? {
        es.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(Ordering::Equal));
    }
    let et = elem_type(c.ret);
    let DataType::Struct(fields) = &et else {
        return None;
    };
    let items = es
        .into_iter()
        .map(|(k, v)| make_struct(fields, vec![k, v]))
        .collect::<Option<Vec<_>>>()?;
    make_list(items, &et)
}

fn map_union(a: &[ScalarValue], c: &Ctx) -> Option<ScalarValue> {
    let (m1, m2) = (map_entries(&a[0]), map_entries(&a[1]));
    if m1.is_none() && m2.is_none() {
        return None;
    }
    let mut out = m1.unwrap_or_default();
    for (k, v) in m2.unwrap_or_default() {
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = v,
            None => out.push((k, v)),
        }
    }
    let (kt, vt) = map_kv_types(c.ret);
    make_map(out, &kt, &vt)
}

#[cfg(test)]
mod tests {
    use crate::arrow::datatypes::DataType as D;
    use crate::testutil::*;

    fn a() -> datafusion_common::ScalarValue {
        ints(&[Some(3), Some(1), None, Some(3), Some(2)])
    }

    #[test]
    fn membership_and_sets() {
        assert_eq!(call("ARRAY_CONTAINS", &[a(), int(2)]), boo(true));
        assert_eq!(call("ARRAY_CONTAINS", &[a(), int(9)]), boo(false));
        assert_eq!(call("ARRAY_CONTAINS", &[a(), null()]), boo(true));
        assert_eq!(
            call("ARRAY_CONTAINS", &[list(vec![], D::Int32), int(1)]),
            boo(false)
        );
        assert_eq!(
            call("ARRAY_CONTAINS", &[ints(&[Some(5)]), big(5)]),
            boo(true)
        );
        assert_eq!(show(&call("ARRAY_DISTINCT", &[a()])), "[3,1,null,2]");
        assert_eq!(
            show(&call("ARRAY_EXCEPT", &[a(), ints(&[Some(3), None])])),
            "[1,2]"
        );
        assert_eq!(
            show(&call("ARRAY_INTERSECT", &[a(), ints(&[Some(2), Some(3)])])),
            "[3,2]"
        );
        assert_eq!(
            show(&call(
                "ARRAY_UNION",
                &[ints(&[Some(1), Some(1)]), ints(&[Some(4), Some(1)])]
            )),
            "[1,4]"
        );
        assert_eq!(
            show(&call("ARRAY_EXCEPT", &[a(), list(vec![], D::Int32)])),
            "[3,1,null,2]"
        );
        assert_eq!(show(&call("ARRAY_UNION", &[a(), null()])), "null");
        assert_eq!(
            show(&call(
                "ARRAY_CONCAT",
                &[ints(&[Some(1)]), ints(&[Some(1), None])]
            )),
            "[1,1,null]"
        );
        assert_eq!(
            show(&call("ARRAY_CONCAT", &[null(), ints(&[Some(1)])])),
            "[1]"
        );
        assert_eq!(show(&call("ARRAY_REMOVE", &[a(), int(3)])), "[1,null,2]");
        assert_eq!(show(&call("ARRAY_REMOVE", &[a(), null_int()])), "[3,1,3,2]");
        assert!(ret("ARRAY_CONTAINS", &[D::Utf8, D::Int32]).is_err());
    }

    #[test]
    fn join_length_minmax_sort() {
        assert_eq!(call("ARRAY_JOIN", &[a()]), st("3,1,null,3,2"));
        assert_eq!(
            call(
                "ARRAY_JOIN",
                &[list(vec![dbl(1.0), dbl(0.25)], D::Float64), st("|")]
            ),
            st("1.0|0.25")
        );
        assert_eq!(
            call("ARRAY_JOIN", &[strs(&["a", "b"]), null_str()]),
            st("ab")
        );
        assert_eq!(call("ARRAY_JOIN", &[null(), st(",")]), null_str());
        assert_eq!(call("ARRAY_LENGTH", &[a()]), int(5));
        assert_eq!(call("ARRAY_LENGTH", &[null()]), null_int());
        assert_eq!(call("ARRAY_MAX", &[a()]), int(3));
        assert_eq!(call("ARRAY_MIN", &[a()]), int(1));
        assert_eq!(call("ARRAY_MIN", &[list(vec![], D::Utf8)]), null_str());
        assert_eq!(show(&call("ARRAY_SORT", &[a()])), "[1,2,3,3,null]");
        assert_eq!(
            show(&call("ARRAY_SORT", &[a(), st("desc")])),
            "[3,3,2,1,null]"
        );
        assert_eq!(
            show(&call("ARRAY_SORT", &[strs(&["b", "B", "a"])])),
            r#"["B","a","b"]"#
        );
    }

    #[test]
    fn slice_and_series() {
        let l = strs(&["a", "b", "c", "d"]);
        assert_eq!(
            show(&call("SLICE", &[l.clone(), int(2), int(3)])),
            r#"["b","c"]"#
        );
        assert_eq!(
            show(&call("SLICE", &[l.clone(), int(0), int(9)])),
            r#"["a","b","c","d"]"#
        );
        assert_eq!(show(&call("SLICE", &[l.clone(), int(3), int(2)])), "[]");
        assert_eq!(show(&call("SLICE", &[l, null_int(), int(2)])), "null");
        assert_eq!(
            show(&call("GENERATE_SERIES", &[int(1), int(4)])),
            "[1,2,3,4]"
        );
        assert_eq!(
            show(&call("GENERATE_SERIES", &[int(5), int(1), int(-2)])),
            "[5,3,1]"
        );
        assert_eq!(show(&call("GENERATE_SERIES", &[int(3), int(1)])), "[3,2,1]");
        assert_eq!(
            show(&call("GENERATE_SERIES", &[int(1), int(3), int(-1)])),
            "null"
        );
        assert_eq!(
            ret("GENERATE_SERIES", &[D::Int64, D::Int32]).ok(),
            Some(crate::util::list_type(D::Int64))
        );
        assert_eq!(show(&call("GENERATE_SERIES", &[big(1), big(2)])), "[1,2]");
    }

    #[test]
    fn maps() {
        let m = map(
            vec![(st("b"), int(2)), (st("a"), int(1))],
            D::Utf8,
            D::Int32,
        );
        assert_eq!(
            show(&call("MAP_KEYS", std::slice::from_ref(&m))),
            r#"["b","a"]"#
        );
        assert_eq!(show(&call("MAP_VALUES", std::slice::from_ref(&m))), "[2,1]");
        assert_eq!(
            show(&call("ENTRIES", &[m.clone(), boo(true)])),
            r#"[{"K":"a","V":1},{"K":"b","V":2}]"#
        );
        assert_eq!(
            show(&call("ENTRIES", &[m.clone(), boo(false)])),
            r#"[{"K":"b","V":2},{"K":"a","V":1}]"#
        );
        let m2 = map(
            vec![(st("a"), int(9)), (st("c"), int(3))],
            D::Utf8,
            D::Int32,
        );
        assert_eq!(
            show(&call("MAP_UNION", &[m.clone(), m2])),
            r#"{"b":2,"a":9,"c":3}"#
        );
        assert_eq!(show(&call("MAP_UNION", &[null(), m])), r#"{"b":2,"a":1}"#);
        let am = call("AS_MAP", &[strs(&["x", "y"]), ints(&[Some(1), None])]);
        assert_eq!(show(&am), r#"{"x":1,"y":null}"#);
        assert_eq!(show(&call("AS_MAP", &[strs(&["x"]), null()])), "null");
    }
}
