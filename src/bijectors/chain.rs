//! The chain (composition) bijector.

use super::{check_input, Bijector};
use anyhow::{bail, Result};
use std::sync::Arc;
use tch::Tensor;

/// The composition of bijectors in TFP's order: `Chain([f, g]).forward(x) = f(g(x))`, the last
/// member is applied first (the reverse of torch's `ComposeTransform`). An empty chain is the
/// identity.
///
/// Members may change the event rank (e.g. [`super::FillTriangular`] maps vectors `[m]` to
/// matrices `[n, n]`). As in TFP:
///
/// * `forward_min_event_ndims` is the smallest event rank of `x` on which every member,
///   applied in turn, sees at least its own `forward_min_event_ndims` (and likewise
///   `inverse_min_event_ndims` for `y`, walking the chain the other way); see
///   [`chain_min_event_ndims`].
/// * the log-det is the sum of the members' log-dets, each reduced over the current event
///   rank: a member `b` applied to an intermediate whose event has `e` dimensions contributes
///   `b.forward_log_det_jacobian_reduced(x, e)`, and `e` then becomes
///   `e - b.forward_min_event_ndims() + b.inverse_min_event_ndims()` (see
///   [`event_ndims_after`]).
/// * event shapes map through every member in turn.
///
/// Its name is TFP's: `"chain_of_" + names joined by "_of_"` (`"chain_of_exp_of_shift"`), or
/// `"identity"` when empty.
#[derive(Clone, Default)]
pub struct Chain {
    bijectors: Vec<Arc<dyn Bijector>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chain({})", self.name())
    }
}

impl Chain {
    /// `Chain([f, g])` applies `g` first, then `f`.
    pub fn new(bijectors: Vec<Arc<dyn Bijector>>) -> Self {
        Chain { bijectors }
    }
    /// The members, in TFP's order (the last is applied first by `forward`).
    pub fn bijectors(&self) -> &[Arc<dyn Bijector>] {
        &self.bijectors
    }
}

/// The event rank after applying `b` (forward if `forward`, else inverse) to an input whose
/// event has `event_ndims` dimensions: `e - min_in + min_out`, or an error when `e` is below
/// `b`'s min event ndims in that direction.
pub fn event_ndims_after(b: &dyn Bijector, event_ndims: usize, forward: bool) -> Result<usize> {
    let (min_in, min_out) = if forward {
        (b.forward_min_event_ndims(), b.inverse_min_event_ndims())
    } else {
        (b.inverse_min_event_ndims(), b.forward_min_event_ndims())
    };
    if event_ndims < min_in {
        bail!(
            "{}: event ndims {event_ndims} is below its {} min event ndims {min_in}",
            b.name(),
            if forward { "forward" } else { "inverse" }
        );
    }
    Ok(event_ndims - min_in + min_out)
}

/// TFP's min event ndims of a chain (`Chain._compute_min_event_ndims`): walking the members in
/// application order (`forward`: last to first; inverse: first to last), the event must cover
/// every dimension some member touches, counting the rank changes of the members before it.
/// Given as `(forward_min, inverse_min)` pairs of the members in chain order.
pub fn chain_min_event_ndims(mins: &[(usize, usize)], forward: bool) -> usize {
    let mut min_event_ndims: i64 = 0;
    let mut adjusted_max_min: i64 = 0;
    let order: Box<dyn Iterator<Item = &(usize, usize)>> =
        if forward { Box::new(mins.iter().rev()) } else { Box::new(mins.iter()) };
    for &(f, i) in order {
        let (cur, cur_inv) = if forward { (f as i64, i as i64) } else { (i as i64, f as i64) };
        if adjusted_max_min < cur {
            min_event_ndims += cur - adjusted_max_min;
        }
        adjusted_max_min = adjusted_max_min.max(cur);
        adjusted_max_min -= cur - cur_inv;
    }
    min_event_ndims.max(0) as usize
}

impl Chain {
    fn mins(&self) -> Vec<(usize, usize)> {
        self.bijectors.iter().map(|b| (b.forward_min_event_ndims(), b.inverse_min_event_ndims())).collect()
    }

    /// Forward pass with the log-det summed over `event_ndims` rightmost dimensions of `x`.
    fn forward_impl(&self, x: &Tensor, event_ndims: usize, with_ldj: bool) -> Result<(Tensor, Option<Tensor>)> {
        let mut cur = x.shallow_clone();
        let mut e = event_ndims;
        let mut ldj: Option<Tensor> = None;
        for b in self.bijectors.iter().rev() {
            let next_e = event_ndims_after(b.as_ref(), e, true)?;
            if with_ldj {
                // The member's combined method: one evaluation for value and log-det (a flow's
                // coupling network runs once, not twice).
                let (next, l) = b.forward_and_log_det(&cur)?;
                let op = format!("{}.forward_log_det_jacobian", b.name());
                let l = super::reduce_log_det(&op, &l, &cur.size(), b.forward_min_event_ndims(), e)?;
                ldj = Some(match ldj {
                    None => l,
                    Some(acc) => acc + l,
                });
                cur = next;
            } else {
                cur = b.forward(&cur)?;
            }
            e = next_e;
        }
        Ok((cur, ldj))
    }

    /// Inverse pass with the log-det summed over `event_ndims` rightmost dimensions of `y`.
    fn inverse_impl(&self, y: &Tensor, event_ndims: usize, with_ldj: bool) -> Result<(Tensor, Option<Tensor>)> {
        let mut cur = y.shallow_clone();
        let mut e = event_ndims;
        let mut ldj: Option<Tensor> = None;
        for b in self.bijectors.iter() {
            let next_e = event_ndims_after(b.as_ref(), e, false)?;
            if with_ldj {
                let (next, l) = b.inverse_and_log_det(&cur)?;
                let op = format!("{}.inverse_log_det_jacobian", b.name());
                let l = super::reduce_log_det(&op, &l, &cur.size(), b.inverse_min_event_ndims(), e)?;
                ldj = Some(match ldj {
                    None => l,
                    Some(acc) => acc + l,
                });
                cur = next;
            } else {
                cur = b.inverse(&cur)?;
            }
            e = next_e;
        }
        Ok((cur, ldj))
    }

    fn zero_ldj(t: &Tensor, event_ndims: usize) -> Tensor {
        let s = t.size();
        Tensor::zeros(&s[..s.len() - event_ndims], (t.kind(), t.device()))
    }

    fn checked_event_ndims(&self, op: &str, what: &str, t: &Tensor, event_ndims: usize, min: usize) -> Result<()> {
        if event_ndims < min {
            bail!("{op}: event_ndims must be at least the bijector's min event ndims {min}, got {event_ndims}");
        }
        check_input(op, what, t, event_ndims)
    }
}

impl Bijector for Chain {
    fn name(&self) -> String {
        if self.bijectors.is_empty() {
            return "identity".into();
        }
        let names: Vec<String> = self.bijectors.iter().map(|b| b.name()).collect();
        format!("chain_of_{}", names.join("_of_"))
    }
    fn forward_min_event_ndims(&self) -> usize {
        chain_min_event_ndims(&self.mins(), true)
    }
    fn inverse_min_event_ndims(&self) -> usize {
        chain_min_event_ndims(&self.mins(), false)
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let op = format!("{}.forward", self.name());
        check_input(&op, "x", x, self.forward_min_event_ndims())?;
        Ok(self.forward_impl(x, self.forward_min_event_ndims(), false)?.0)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let op = format!("{}.inverse", self.name());
        check_input(&op, "y", y, self.inverse_min_event_ndims())?;
        Ok(self.inverse_impl(y, self.inverse_min_event_ndims(), false)?.0)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_and_log_det(x)?.1)
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.inverse_and_log_det(y)?.1)
    }
    fn forward_and_log_det(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let e = self.forward_min_event_ndims();
        check_input(&format!("{}.forward_and_log_det", self.name()), "x", x, e)?;
        let (y, ldj) = self.forward_impl(x, e, true)?;
        Ok((y, ldj.unwrap_or_else(|| Self::zero_ldj(x, e))))
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let e = self.inverse_min_event_ndims();
        check_input(&format!("{}.inverse_and_log_det", self.name()), "y", y, e)?;
        let (x, ldj) = self.inverse_impl(y, e, true)?;
        Ok((x, ldj.unwrap_or_else(|| Self::zero_ldj(y, e))))
    }
    fn forward_log_det_jacobian_reduced(&self, x: &Tensor, event_ndims: usize) -> Result<Tensor> {
        let op = format!("{}.forward_log_det_jacobian", self.name());
        self.checked_event_ndims(&op, "input", x, event_ndims, self.forward_min_event_ndims())?;
        let (_, ldj) = self.forward_impl(x, event_ndims, true)?;
        Ok(ldj.unwrap_or_else(|| Self::zero_ldj(x, event_ndims)))
    }
    fn inverse_log_det_jacobian_reduced(&self, y: &Tensor, event_ndims: usize) -> Result<Tensor> {
        let op = format!("{}.inverse_log_det_jacobian", self.name());
        self.checked_event_ndims(&op, "input", y, event_ndims, self.inverse_min_event_ndims())?;
        let (_, ldj) = self.inverse_impl(y, event_ndims, true)?;
        Ok(ldj.unwrap_or_else(|| Self::zero_ldj(y, event_ndims)))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        let mut s = input.to_vec();
        for b in self.bijectors.iter().rev() {
            s = b.forward_event_shape(&s)?;
        }
        Ok(s)
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        let mut s = output.to_vec();
        for b in self.bijectors.iter() {
            s = b.inverse_event_shape(&s)?;
        }
        Ok(s)
    }
    fn is_constant_jacobian(&self) -> bool {
        self.bijectors.iter().all(|b| b.is_constant_jacobian())
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        super::unique_variables(self.bijectors.iter().map(|b| b.trainable_variables()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_event_ndims_like_tfp() {
        // (forward_min, inverse_min) per member, chain order.
        let exp = (0, 0);
        let fill = (1, 2); // FillTriangular
        let pad2 = (2, 2); // Pad(axis=-2) / ConcatConstant(axis=-2)
        assert_eq!(chain_min_event_ndims(&[], true), 0);
        assert_eq!(chain_min_event_ndims(&[exp, exp], true), 0);
        // FillScaleTriL = Chain([TransformDiagonal (2, 2), FillTriangular])
        assert_eq!(chain_min_event_ndims(&[pad2, fill], true), 1);
        assert_eq!(chain_min_event_ndims(&[pad2, fill], false), 2);
        assert_eq!(chain_min_event_ndims(&[exp, fill], true), 1);
        assert_eq!(chain_min_event_ndims(&[exp, fill], false), 2);
        assert_eq!(chain_min_event_ndims(&[fill, exp], true), 1);
        assert_eq!(chain_min_event_ndims(&[fill, exp], false), 2);
        // Chain([FillScaleTriL, PadEye]): x [r, m] -> [r+1, m] -> [r+1, n, n].
        assert_eq!(chain_min_event_ndims(&[fill, pad2], true), 2);
        assert_eq!(chain_min_event_ndims(&[fill, pad2], false), 3);
        // Two rank increases: vector -> matrix -> (matrix rows as vectors) -> rank 3.
        assert_eq!(chain_min_event_ndims(&[fill, fill], true), 1);
        assert_eq!(chain_min_event_ndims(&[fill, fill], false), 3);
    }

    struct Mins(usize, usize);
    impl Bijector for Mins {
        fn name(&self) -> String {
            "mins".into()
        }
        fn forward_min_event_ndims(&self) -> usize {
            self.0
        }
        fn inverse_min_event_ndims(&self) -> usize {
            self.1
        }
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            Ok(x.shallow_clone())
        }
        fn inverse(&self, y: &Tensor) -> Result<Tensor> {
            Ok(y.shallow_clone())
        }
        fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
            Ok(x.shallow_clone())
        }
    }

    #[test]
    fn event_ndims_bookkeeping() {
        let fill = Mins(1, 2);
        assert_eq!(event_ndims_after(&fill, 1, true).unwrap(), 2);
        assert_eq!(event_ndims_after(&fill, 3, true).unwrap(), 4);
        assert_eq!(event_ndims_after(&fill, 2, false).unwrap(), 1);
        assert!(event_ndims_after(&fill, 0, true).is_err());
        assert!(event_ndims_after(&fill, 1, false).unwrap_err().to_string().contains("below"));
        let elem = Mins(0, 0);
        assert_eq!(event_ndims_after(&elem, 0, true).unwrap(), 0);
        assert_eq!(event_ndims_after(&elem, 2, false).unwrap(), 2);
    }
}
