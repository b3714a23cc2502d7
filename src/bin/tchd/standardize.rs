//! Standardisation of the points a flow is fitted to, folded into the saved model.
//!
//! Flows start as their standard normal base and their networks see values of order one, so they
//! train much better on points standardised per coordinate, `z = (x - mean) / sd`. Fitting the
//! flow `q(z)` to standardised points is the same as fitting
//! `p(x) = q((x - mean) / sd) / prod(sd)` to the original ones: `p` is the flow followed by the
//! constant affine map `x = mean + sd * z`, whose log-det-Jacobian `sum(log sd)` is constant. So
//! `tchd fit` appends that map to the flow's description, as a constant JSON bijector
//! `Chain([Shift(mean), Scale(sd)])` (TFP's order: `Scale` first), trains the whole on the
//! original points (the same gradient as the flow on standardised points), and saves it: the
//! saved model is a density of the original points, for `tchd eval`, `sample` and `plot` alike.

use anyhow::{bail, ensure, Result};
use serde_json::{json, Value};
use tch::{Kind, Tensor};

/// The `"name"` of the standardisation's member of the flow's chain.
pub const NAME: &str = "standardization";

/// Per-coordinate mean and standard deviation (population, `1/n`) of the points `x` `[n, d]`,
/// `n >= 1`. An error when a coordinate is constant (or not finite): such points have no density
/// to fit.
pub fn mean_sd(x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
    let size = x.size();
    ensure!(size.len() == 2 && size[0] >= 1, "fit: standardise: expected points [n, d], got shape {size:?}");
    let x = x.to_kind(Kind::Double);
    let mean = Vec::<f64>::try_from(x.mean_dim(0, false, Kind::Double))?;
    let sd = Vec::<f64>::try_from(x.std_dim(0, false, false))?;
    for (j, (&m, &s)) in mean.iter().zip(&sd).enumerate() {
        if !(m.is_finite() && s.is_finite()) {
            bail!("fit: standardise: coordinate {j} of the training points is not finite (mean {m}, sd {s})");
        }
        if s <= 0.0 {
            bail!(
                "fit: standardise: coordinate {j} of the training points is constant ({m}): a density needs spread in every coordinate"
            );
        }
    }
    Ok((mean, sd))
}

/// Appends the map from standardised back to original units, `x = mean + sd * z`, to a flow's
/// description `spec` (a `TransformedDistribution` whose bijector is a `Chain`, as
/// [`tch_distributions::flow_models::spec`] makes them): the constant member
/// `{"type": "Chain", "name": "standardization", "bijectors": [Shift(mean), Scale(sd)]}` goes first
/// in the chain's list, so it acts last on base draws and first on data. The flow's own members
/// keep their names and so their variables' paths.
pub fn fold_into(spec: &mut Value, mean: &[f64], sd: &[f64]) -> Result<()> {
    ensure!(mean.len() == sd.len(), "fit: standardise: {} means but {} sds", mean.len(), sd.len());
    let expected = "fit: standardise: expected a TransformedDistribution with a Chain bijector";
    ensure!(spec.get("type").and_then(Value::as_str) == Some("TransformedDistribution"), "{expected}");
    let Some(members) = spec.pointer_mut("/bijector/bijectors").and_then(Value::as_array_mut) else {
        bail!("{expected}");
    };
    members.insert(
        0,
        json!({"type": "Chain", "name": NAME, "bijectors": [
            {"type": "Shift", "shift": mean},
            {"type": "Scale", "scale": sd}]}),
    );
    Ok(())
}
