//! STDDEV_SAMPLE, STDDEV_SAMP and CORRELATION (all DOUBLE results).
//!
//! Both deviations use ksqlDB's running Youngs-Cramer update (count, sum, M2)
//! so results match it to the last bit, return 0.0 below two values and
//! ignore NULLs. As in ksqlDB, `STDDEV_SAMPLE` is the sample standard
//! deviation while `STDDEV_SAMP` returns the sample *variance* (M2 / (n-1)).
//! CORRELATION is Pearson's coefficient from running sums, skipping rows where
//! either value is NULL; it is NaN when undefined (fewer than two points or a
//! constant column), as in ksqlDB.

use datafusion_common::{Result, ScalarValue};
use datafusion_expr::Accumulator;

use super::common::{all_inputs, f64_at, first_input, input, internal, is_numeric, no_accept};
use super::{AggDef, AggregateCall, Options};
use crate::arrow::array::{Array, ArrayRef, AsArray};
use crate::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};

pub(crate) static STDDEV_SAMP: AggDef = AggDef {
    name: "STDDEV_SAMP",
    display: "stddev_samp",
    table: true,
    structured_state: true,
    ret: stddev_ret,
    inputs: first_input,
    make: make_stddev,
};

pub(crate) static STDDEV_SAMPLE: AggDef = AggDef {
    name: "STDDEV_SAMPLE",
    display: "STDDEV_SAMPLE",
    table: true,
    structured_state: true,
    ret: stddev_ret,
    inputs: first_input,
    make: make_stddev,
};

pub(crate) static CORRELATION: AggDef = AggDef {
    name: "CORRELATION",
    display: "correlation",
    table: true,
    structured_state: true,
    ret: correlation_ret,
    inputs: all_inputs,
    make: make_correlation,
};

fn stddev_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [t] if is_numeric(t) => Ok(DataType::Float64),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_stddev(def: &AggDef, call: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    let integral = matches!(call.arg_types, [DataType::Int32 | DataType::Int64]);
    Ok(Box::new(StdDev {
        variance_only: def.name == "STDDEV_SAMP",
        sum: if integral {
            Sum::Int(0)
        } else {
            Sum::Double(0.0)
        },
        count: 0,
        m2: 0.0,
    }))
}

/// The running sum, integral for INT/BIGINT inputs like ksqlDB.
#[derive(Debug, Clone, Copy)]
enum Sum {
    Int(i64),
    Double(f64),
}

#[derive(Debug)]
struct StdDev {
    variance_only: bool,
    sum: Sum,
    count: i64,
    m2: f64,
}

fn int_at(arr: &ArrayRef, i: usize) -> Option<i64> {
    if arr.is_null(i) {
        return None;
    }
    match arr.data_type() {
        DataType::Int32 => Some(i64::from(arr.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => Some(arr.as_primitive::<Int64Type>().value(i)),
        _ => None,
    }
}

impl StdDev {
    /// `x * (count + 1) - (sum + x)`: the Youngs-Cramer delta.
    fn delta(&self, arr: &ArrayRef, i: usize) -> Option<f64> {
        let c = self.count;
        match self.sum {
            Sum::Int(s) => {
                let x = i128::from(int_at(arr, i)?);
                Some((x * i128::from(c + 1) - (i128::from(s) + x)) as f64)
            }
            Sum::Double(s) => {
                let x = f64_at(arr, i)?;
                Some(x * (c + 1) as f64 - (s + x))
            }
        }
    }

    fn add_sum(&mut self, arr: &ArrayRef, i: usize, negate: bool) {
        match &mut self.sum {
            Sum::Int(s) => {
                let x = int_at(arr, i).unwrap_or(0);
                *s = if negate {
                    s.wrapping_sub(x)
                } else {
                    s.wrapping_add(x)
                };
            }
            Sum::Double(s) => {
                let x = f64_at(arr, i).unwrap_or(0.0);
                *s = if negate { *s - x } else { *s + x };
            }
        }
    }

    fn sum_f64(&self) -> f64 {
        match self.sum {
            Sum::Int(s) => s as f64,
            Sum::Double(s) => s,
        }
    }
}

impl Accumulator for StdDev {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            let Some(delta) = self.delta(arr, i) else {
                continue;
            };
            let n = (self.count + 1) as f64;
            if self.count > 0 {
                self.m2 += delta * delta / (n * (n - 1.0));
            }
            self.add_sum(arr, i, false);
            self.count += 1;
        }
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = input(values, 0)?;
        for i in 0..arr.len() {
            let Some(delta) = self.delta(arr, i) else {
                continue;
            };
            let n = (self.count - 1) as f64;
            if n > 0.0 {
                self.m2 -= delta * delta / (n * (n + 1.0));
            } else {
                self.m2 = 0.0;
            }
            self.add_sum(arr, i, true);
            self.count -= 1;
        }
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.count < 2 {
            return Ok(ScalarValue::Float64(Some(0.0)));
        }
        let variance = self.m2 / (self.count - 1) as f64;
        Ok(ScalarValue::Float64(Some(if self.variance_only {
            variance
        } else {
            variance.sqrt()
        })))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    /// `[sum DOUBLE, count BIGINT, m2 DOUBLE]`.
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Float64(Some(self.sum_f64())),
            ScalarValue::Int64(Some(self.count)),
            ScalarValue::Float64(Some(self.m2)),
        ])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (sums, counts, m2s) = (input(states, 0)?, input(states, 1)?, input(states, 2)?);
        if sums.data_type() != &DataType::Float64 || m2s.data_type() != &DataType::Float64 {
            return Err(internal("STDDEV state must be DOUBLE"));
        }
        let (sums, m2s) = (
            sums.as_primitive::<Float64Type>(),
            m2s.as_primitive::<Float64Type>(),
        );
        for i in 0..sums.len() {
            let n2 = int_at(counts, i).unwrap_or(0);
            if n2 == 0 {
                continue;
            }
            let (s2, m2) = (sums.value(i), m2s.value(i));
            let n1 = self.count;
            if n1 > 0 {
                let d = self.sum_f64() / n1 as f64 - s2 / n2 as f64;
                self.m2 += m2 + (n1 * n2) as f64 * d * d / (n1 + n2) as f64;
            } else {
                self.m2 += m2;
            }
            match &mut self.sum {
                Sum::Int(s) => *s = s.wrapping_add(s2 as i64),
                Sum::Double(s) => *s += s2,
            }
            self.count += n2;
        }
        Ok(())
    }
}

fn correlation_ret(def: &AggDef, call: &AggregateCall) -> Result<DataType> {
    match call.arg_types {
        [x, y] if is_numeric(x) && is_numeric(y) => Ok(DataType::Float64),
        _ => Err(no_accept(def.display, call)),
    }
}

fn make_correlation(_: &AggDef, _: &AggregateCall, _: &Options) -> Result<Box<dyn Accumulator>> {
    Ok(Box::new(Correlation::default()))
}

/// Running sums: x, y, x², y², xy, and the count.
#[derive(Debug, Default)]
struct Correlation {
    sums: [f64; 5],
    count: i64,
}

impl Correlation {
    fn apply(&mut self, values: &[ArrayRef], sign: f64) -> Result<()> {
        let (xs, ys) = (input(values, 0)?, input(values, 1)?);
        for i in 0..xs.len() {
            let (Some(x), Some(y)) = (f64_at(xs, i), f64_at(ys, i)) else {
                continue;
            };
            for (s, v) in self.sums.iter_mut().zip([x, y, x * x, y * y, x * y]) {
                *s += sign * v;
            }
            self.count += sign as i64;
        }
        Ok(())
    }
}

impl Accumulator for Correlation {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, 1.0)
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, -1.0)
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let [sx, sy, sxx, syy, sxy] = self.sums;
        let n = self.count as f64;
        let numerator = n * sxy - sx * sy;
        let denominator = ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt();
        Ok(ScalarValue::Float64(Some(numerator / denominator)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    /// `[x, y, x², y², xy sums as DOUBLE, count BIGINT]`.
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut s: Vec<ScalarValue> = self
            .sums
            .iter()
            .map(|v| ScalarValue::Float64(Some(*v)))
            .collect();
        s.push(ScalarValue::Int64(Some(self.count)));
        Ok(s)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for (j, s) in self.sums.iter_mut().enumerate() {
            let arr = input(states, j)?;
            *s += (0..arr.len()).filter_map(|i| f64_at(arr, i)).sum::<f64>();
        }
        let counts = input(states, 5)?;
        self.count += (0..counts.len())
            .filter_map(|i| int_at(counts, i))
            .sum::<i64>();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use datafusion_common::ScalarValue;

    use crate::arrow::datatypes::DataType;

    fn close(v: ScalarValue, want: f64) {
        match v {
            ScalarValue::Float64(Some(x)) => assert!((x - want).abs() < 1e-9, "{x} vs {want}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stddev_sample_and_samp_variance() {
        let t = [DataType::Int32];
        assert_eq!(
            ret("stddev_sample", &t, &[None]).ok(),
            Some(DataType::Float64)
        );
        let mut sd = acc("stddev_sample", &t, &[None]);
        let mut var = acc("stddev_samp", &t, &[None]);
        assert_eq!(push(&mut sd, &[i32v(2)]), f64v(0.0));
        assert_eq!(push(&mut var, &[i32v(2)]), f64v(0.0));
        assert_eq!(push(&mut sd, &[i32v(6)]), f64v(8f64.sqrt()));
        assert_eq!(push(&mut var, &[i32v(6)]), f64v(8.0));
        assert_eq!(push(&mut var, &[null_i32()]), f64v(8.0));
        // 2, 6, 7: mean 5, squared deviations 9 + 1 + 4 = 14
        assert_eq!(push(&mut var, &[i32v(7)]), f64v(7.0));
        close(pull(&mut var, &[i32v(2)]), 0.5);
        close(pull(&mut var, &[i32v(6)]), 0.0);
        let mut other = acc("stddev_samp", &t, &[None]);
        push(&mut other, &[i32v(1)]);
        push(&mut other, &[i32v(4)]);
        // 7, 1, 4: mean 4, 9 + 9 + 0 = 18
        close(merged_into(&mut var, &mut other), 9.0);
    }

    #[test]
    fn stddev_of_doubles() {
        let t = [DataType::Float64];
        let mut sd = acc("stddev_sample", &t, &[None]);
        for v in [1.5, 2.5, 4.5] {
            push(&mut sd, &[f64v(v)]);
        }
        close(sd.evaluate().expect("value"), (7.0f64 / 3.0).sqrt());
        assert_eq!(
            ret_err("stddev_samp", &[DataType::Utf8], &[None]),
            "Function 'stddev_samp' does not accept parameters (STRING)."
        );
    }

    #[test]
    fn correlation_nan_until_defined() {
        let t = [DataType::Float64, DataType::Int32];
        assert_eq!(
            ret("correlation", &t, &[None, None]).ok(),
            Some(DataType::Float64)
        );
        let mut c = acc("correlation", &t, &[None, None]);
        let nan = |v: ScalarValue| matches!(v, ScalarValue::Float64(Some(x)) if x.is_nan());
        assert!(nan(push(&mut c, &[f64v(1.0), i32v(2)])));
        assert!(nan(push(&mut c, &[f64v(3.0), null_i32()])));
        close(push(&mut c, &[f64v(2.0), i32v(4)]), 1.0);
        close(push(&mut c, &[f64v(3.0), i32v(0)]), -0.5);
        close(pull(&mut c, &[f64v(3.0), i32v(0)]), 1.0);
        close(push(&mut c, &[f64v(0.0), i32v(6)]), -0.5);
        let mut d = acc("correlation", &t, &[None, None]);
        close(merged_into(&mut c, &mut d), -0.5);
        assert_eq!(
            ret_err("correlation", &[DataType::Float64], &[None]),
            "Function 'correlation' does not accept parameters (DOUBLE)."
        );
    }
}
