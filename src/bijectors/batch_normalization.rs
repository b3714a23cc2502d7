//! The batch-normalization bijector of flows (TFP's `BatchNormalization`).

use super::{check_vector, vector_event_shape, Bijector};
use anyhow::{bail, Result};
use std::cell::Cell;
use tch::{nn, Kind, Tensor};

/// TFP's `BatchNormalization` bijector (Dinh et al. 2017; Papamakarios et al. 2017) on vectors
/// of `event_size` (`forward_min_event_ndims = 1`), with Keras' defaults (momentum 0.99,
/// epsilon 1e-3) and TFP's positive scale `γ = relu(γ_raw) + 1e-6`.
///
/// * inverse (density direction) normalises: `x = γ (y - μ) / sqrt(σ² + ε) + β`, with `(μ, σ²)`
///   the mean and (biased) variance of the current batch over every dimension but the last
///   while training, and the moving averages otherwise. While training, each inverse also
///   updates the moving averages, `m ← momentum m + (1 - momentum) batch` (no gradient, no host
///   synchronisation).
/// * forward (sampling) de-normalises with the moving averages:
///   `y = (x - β) / γ · sqrt(σ²_moving + ε) + μ_moving`.
/// * `log|det J⁻¹| = Σ log γ - ½ Σ log(σ² + ε)` (the statistics taken as constants, as TFP
///   does), the same for every point; `log|det J| = -log|det J⁻¹|` with the moving variance.
///
/// So while training, `forward(inverse(y))` is not `y` (batch versus moving statistics); in
/// evaluation mode ([`BatchNormalization::set_training`]`(false)`) the two are exact inverses.
///
/// Variables under the given path: `gamma` and `beta` (trainable, `[event_size]`) and
/// `moving_mean`, `moving_variance` (in the `VarStore`, saved and loaded with it, not trainable).
pub struct BatchNormalization {
    gamma: Tensor,
    beta: Tensor,
    moving_mean: Tensor,
    moving_variance: Tensor,
    names: [String; 2],
    momentum: f64,
    epsilon: f64,
    training: Cell<bool>,
}

impl std::fmt::Debug for BatchNormalization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BatchNormalization(event_size={}, training={})", self.event_size(), self.training.get())
    }
}

impl BatchNormalization {
    /// A layer for vectors of `event_size` in `kind` (float32 or float64), its variables created
    /// under `path` (`γ = 1`, `β = 0`, moving mean 0, moving variance 1), in training mode.
    pub fn new(path: &nn::Path, event_size: i64, kind: Kind) -> Result<Self> {
        let op = "BatchNormalization::new";
        if event_size < 1 {
            bail!("{op}: expected an event size >= 1, got {event_size}");
        }
        if !matches!(kind, Kind::Float | Kind::Double) {
            bail!("{op}: expected dtype float32 or float64, got {kind:?}");
        }
        let opts = (kind, path.device());
        let add = |name: &str, value: Tensor, trainable: bool| -> Result<Tensor> {
            if path.get(name).is_some() {
                bail!("{op}: the VarStore already holds a variable named {:?}", path.path(name));
            }
            Ok(path.add(name, value, trainable))
        };
        let gamma = add("gamma", Tensor::ones([event_size], opts), true)?;
        let beta = add("beta", Tensor::zeros([event_size], opts), true)?;
        let moving_mean = add("moving_mean", Tensor::zeros([event_size], opts), false)?;
        let moving_variance = add("moving_variance", Tensor::ones([event_size], opts), false)?;
        Ok(BatchNormalization {
            gamma,
            beta,
            moving_mean,
            moving_variance,
            names: [path.path("gamma"), path.path("beta")],
            momentum: 0.99,
            epsilon: 1e-3,
            training: Cell::new(true),
        })
    }

    /// Sets the momentum of the moving averages (Keras' default 0.99) and epsilon (1e-3).
    pub fn with_momentum_and_epsilon(mut self, momentum: f64, epsilon: f64) -> Result<Self> {
        if !((0.0..=1.0).contains(&momentum) && epsilon > 0.0 && epsilon.is_finite()) {
            bail!("BatchNormalization: expected momentum in [0, 1] and a finite epsilon > 0, got {momentum} and {epsilon}");
        }
        self.momentum = momentum;
        self.epsilon = epsilon;
        Ok(self)
    }

    /// Training mode (batch statistics in `inverse`, moving averages updated) or evaluation
    /// mode (moving averages everywhere).
    pub fn set_training(&self, training: bool) {
        self.training.set(training);
    }

    /// Whether the layer is in training mode.
    pub fn training(&self) -> bool {
        self.training.get()
    }

    /// The event size.
    pub fn event_size(&self) -> i64 {
        self.gamma.size()[0]
    }

    fn check(&self, op: &str, what: &str, t: &Tensor) -> Result<()> {
        check_vector(op, what, t, self.event_size(), Some(&self.gamma))
    }

    fn scale(&self) -> Tensor {
        self.gamma.relu() + 1e-6
    }

    /// `(mean, variance)` for normalising `y`: the batch's (updating the moving averages) while
    /// training, else the moving ones.
    fn statistics(&self, y: &Tensor) -> (Tensor, Tensor) {
        if !self.training.get() || y.dim() < 2 {
            return (self.moving_mean.shallow_clone(), self.moving_variance.shallow_clone());
        }
        let flat = y.reshape([-1, self.event_size()]);
        let mean = flat.mean_dim(0, false, y.kind());
        let var = flat.var_dim(0, false, false);
        tch::no_grad(|| {
            let m = self.momentum;
            let new_mean = &self.moving_mean * m + mean.detach() * (1.0 - m);
            let new_var = &self.moving_variance * m + var.detach() * (1.0 - m);
            self.moving_mean.shallow_clone().copy_(&new_mean);
            self.moving_variance.shallow_clone().copy_(&new_var);
        });
        (mean, var)
    }

    /// `Σ log γ - ½ Σ log(σ² + ε)`, broadcast to the batch shape of `t`.
    fn ildj(&self, var: &Tensor, t: &Tensor) -> Tensor {
        let s = t.size();
        let v = self.scale().log() - (var + self.epsilon).log() * 0.5;
        v.sum(t.kind()).broadcast_to(&s[..s.len() - 1])
    }
}

impl Bijector for BatchNormalization {
    fn name(&self) -> String {
        "batch_normalization".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.check("batch_normalization.forward", "x", x)?;
        let sd = (&self.moving_variance + self.epsilon).sqrt();
        Ok((x - &self.beta) / self.scale() * sd + &self.moving_mean)
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.inverse_and_log_det(y)?.0)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.check("batch_normalization.forward_log_det_jacobian", "x", x)?;
        Ok(-self.ildj(&self.moving_variance, x))
    }
    fn inverse_log_det_jacobian(&self, y: &Tensor) -> Result<Tensor> {
        Ok(self.inverse_and_log_det(y)?.1)
    }
    fn inverse_and_log_det(&self, y: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check("batch_normalization.inverse", "y", y)?;
        let (mean, var) = self.statistics(y);
        let x = (y - mean) / (&var + self.epsilon).sqrt() * self.scale() + &self.beta;
        Ok((x, self.ildj(&var, y)))
    }
    fn forward_event_shape(&self, input: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("batch_normalization.forward_event_shape", input, self.event_size())
    }
    fn inverse_event_shape(&self, output: &[i64]) -> Result<Vec<i64>> {
        vector_event_shape("batch_normalization.inverse_event_shape", output, self.event_size())
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
    fn trainable_variables(&self) -> Vec<(String, Tensor)> {
        vec![(self.names[0].clone(), self.gamma.shallow_clone()), (self.names[1].clone(), self.beta.shallow_clone())]
    }
}
