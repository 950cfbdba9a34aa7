//! ATTR: the value when every row of the group holds the same value, else
//! NULL. As in ksqlDB, NULL counts as a value of its own (a NULL and a 2 give
//! NULL), and retraction restores the answer once only one value is left.

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{
    first_arg, first_input, input, no_accept, scalar_at, typed_null, InsertionBag,
};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef};
use crate::arrow::datatypes::DataType;

pub(crate) static ATTR: AggDef = AggDef {
    name: "ATTR",
    display: "ATTR",
    table: true,
    structured_state: true,
    ret: attr_ret,
    inputs: first_input,
    make: make_attr,
};

fn attr_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [t] => Ok(t.clone()),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_attr(_: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(Attr {
        ty: first_arg(call),
        bag: InsertionBag::default(),
    }))
}

#[derive(Debug)]
struct Attr {
    ty: DataType,
    bag: InsertionBag,
}

impl Accumulator for Attr {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            self.bag.add(scalar_at(arr, i)?, 1, None);
        }
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            self.bag.remove(&scalar_at(arr, i)?);
        }
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut values = self.bag.iter();
        match (values.next(), values.next()) {
            (Some((v, _)), None) => Ok(v.clone()),
            _ => typed_null(&self.ty),
        }
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bag.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.bag.state(&self.ty)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.bag.merge(states, None)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    use crate::arrow::datatypes::DataType;

    #[test]
    fn attr_single_value_or_null() {
        let t = [DataType::Utf8];
        assert_eq!(ret("attr", &t, &[None]).ok(), Some(DataType::Utf8));
        let mut a = acc("attr", &t, &[None]);
        assert_eq!(a.evaluate().ok(), Some(null_str()));
        assert_eq!(push(&mut a, &[sv("v")]), sv("v"));
        assert_eq!(push(&mut a, &[sv("v")]), sv("v"));
        assert_eq!(push(&mut a, &[sv("w")]), null_str());
        assert_eq!(pull(&mut a, &[sv("v")]), null_str());
        assert_eq!(pull(&mut a, &[sv("v")]), sv("w"));
        let mut b = acc("attr", &t, &[None]);
        push(&mut b, &[sv("w")]);
        assert_eq!(merged_into(&mut a, &mut b), sv("w"));
    }

    #[test]
    fn attr_null_is_a_value() {
        let t = [DataType::Int32];
        let mut a = acc("attr", &t, &[None]);
        assert_eq!(push(&mut a, &[null_i32()]), null_i32());
        assert_eq!(push(&mut a, &[i32v(2)]), null_i32());
        assert_eq!(push(&mut a, &[i32v(2)]), null_i32());
        assert_eq!(pull(&mut a, &[null_i32()]), i32v(2));
        assert_eq!(
            ret_err("attr", &[], &[]),
            "Function 'ATTR' does not accept parameters ()."
        );
    }
}
