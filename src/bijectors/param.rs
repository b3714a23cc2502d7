//! The parameter of a parametrised bijector (`Shift`, `Scale`, `Sigmoid`'s bounds, `Power`, ...).

use super::check_input;
use crate::shape::{broadcast_shapes, check_float, check_tensor};
use crate::Parameter;
use anyhow::Result;
use tch::Tensor;

/// A bijector parameter: a [`Parameter`] (a constant tensor, a trainable variable or a
/// [`crate::TransformedVariable`], read at every call so an optimizer step is seen by the next
/// one), or an `f64` scalar that takes the input's dtype and device at call time (so one
/// bijector serves float32 and float64 inputs).
#[derive(Debug)]
pub(crate) enum Param {
    Value(Parameter),
    Scalar(f64),
}

/// A parameter's value for one call: a tensor, or the scalar as it is (tch's `x + f64` is
/// cheaper than a one-element tensor).
pub(crate) enum Val {
    Tensor(Tensor),
    Scalar(f64),
}

impl Val {
    /// The value as a tensor in `like`'s dtype and device (a scalar becomes a 0-d tensor).
    pub(crate) fn tensor(&self, like: &Tensor) -> Tensor {
        match self {
            Val::Tensor(t) => t.shallow_clone(),
            Val::Scalar(s) => Tensor::from(*s).to_kind(like.kind()).to_device(like.device()),
        }
    }
}

impl Param {
    /// A tensor-like parameter (`Tensor`, `TransformedVariable` or `Parameter`).
    pub(crate) fn value(p: impl Into<Parameter>) -> Self {
        Param::Value(p.into())
    }

    /// Checks `x` against the parameter (float dtype, same dtype and device as a tensor
    /// parameter, broadcastable shapes) and returns the broadcast shape of `x` and the
    /// parameter, with the parameter's value for this call.
    pub(crate) fn check(&self, op: &str, what: &str, pname: &str, x: &Tensor) -> Result<(Vec<i64>, Val)> {
        check_input(op, what, x, 0)?;
        match self {
            Param::Scalar(s) => Ok((x.size(), Val::Scalar(*s))),
            Param::Value(p) => {
                let v = p.value()?;
                check_float(op, pname, &v)?;
                check_tensor(op, what, x, v.kind(), v.device())?;
                Ok((broadcast_shapes(op, &x.size(), &v.size())?, Val::Tensor(v)))
            }
        }
    }

    /// The trainable variables behind the parameter (none for a constant or a scalar).
    pub(crate) fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        match self {
            Param::Value(p) => p.trainable_variables(),
            Param::Scalar(_) => vec![],
        }
    }
}
