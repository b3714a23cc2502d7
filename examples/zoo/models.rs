//! The six learnable distributions of TFP's "Learnable Distributions Zoo" (`shared/seed`),
//! written as a user of tch-distributions would write them, line by line after the seed.
//! Shared by `examples/zoo/main.rs` and `tests/zoo.rs`.

use anyhow::{bail, Result};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::{triangular_rows, Bijector, Chain, Exp, FillScaleTriL, Pad, Softplus};
use tch_distributions::distributions::{
    Categorical, Distribution, Independent, MixtureSameFamily, MultivariateNormalTriL, Normal,
};
use tch_distributions::{Parameter, TransformedVariable};

pub const EVENT_SIZE: i64 = 4;
pub const NUM_COMPONENTS: i64 = 3;
const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// The seed's own bijector, written with the public trait only: prepends the row that
/// `tril_fn.inverse` makes of the identity, so the first component's `scale_tril` is `eye`.
/// (The library's `ConcatConstant` does the same in one line.)
pub struct PadEye {
    tril_fn: Arc<dyn Bijector>,
}

impl PadEye {
    pub fn new(tril_fn: Arc<dyn Bijector>) -> Self {
        PadEye { tril_fn }
    }
}

impl Bijector for PadEye {
    fn name(&self) -> String {
        "PadEye".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        2
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = x.size();
        let Some(n) = s.last().copied().and_then(triangular_rows).filter(|_| s.len() >= 2) else {
            bail!("PadEye.forward: expected [..., k, n(n+1)/2], got {s:?}");
        };
        let row = self.tril_fn.inverse(&Tensor::eye(n, (x.kind(), x.device())))?; // [n(n+1)/2]
        let mut shape = s[..s.len() - 2].to_vec();
        shape.extend([1, s[s.len() - 1]]);
        Ok(Tensor::cat(&[row.broadcast_to(shape.as_slice()), x.shallow_clone()], -2))
    }
    fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let rows = y.size().iter().rev().nth(1).copied().unwrap_or(0);
        if rows < 1 {
            bail!("PadEye.inverse: expected [..., k + 1, n(n+1)/2], got {:?}", y.size());
        }
        Ok(y.narrow(-2, 1, rows - 1))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> Result<Tensor> {
        Ok(Tensor::zeros([], (x.kind(), x.device())))
    }
    fn is_constant_jacobian(&self) -> bool {
        true
    }
    fn forward_event_shape(&self, s: &[i64]) -> Result<Vec<i64>> {
        let mut s = s.to_vec();
        let i = s.len() - 2;
        s[i] += 1;
        Ok(s)
    }
    fn inverse_event_shape(&self, s: &[i64]) -> Result<Vec<i64>> {
        let mut s = s.to_vec();
        let i = s.len() - 2;
        s[i] -= 1;
        Ok(s)
    }
}

/// `-log(r) * range(num_components)`: logits with a geometric decay (`r = 1` gives zeros).
fn geometric_logits(r: f64) -> Tensor {
    Tensor::arange(NUM_COMPONENTS, F32) * -(r.ln())
}

/// `10 * eye(event_size, batch_shape=[num_components])`.
fn ten_eyes() -> Tensor {
    Tensor::eye(EVENT_SIZE, F32).expand([NUM_COMPONENTS, EVENT_SIZE, EVENT_SIZE], false) * 10.0
}

/// Learnable Multivariate Normal with Scaled Identity for chol(Cov).
pub fn learnable_mvn_scaled_identity(p: &nn::Path) -> Result<Independent> {
    Ok(Independent::new(
        Normal::new(
            Parameter::variable(p, "loc", &Tensor::zeros([EVENT_SIZE], F32))?,
            TransformedVariable::new(p, "scale", &Tensor::ones([1], F32), Exp)?,
        )?,
        1,
    )?
    .with_name("learnable_mvn_scaled_identity"))
}

/// Learnable Multivariate Normal with Diagonal for chol(Cov).
pub fn learnable_mvndiag(p: &nn::Path) -> Result<Independent> {
    Ok(Independent::new(
        Normal::new(
            Parameter::variable(p, "loc", &Tensor::zeros([EVENT_SIZE], F32))?,
            TransformedVariable::new(p, "scale", &Tensor::ones([EVENT_SIZE], F32), Softplus)?, // Use Softplus...cuz why not?
        )?,
        1,
    )?
    .with_name("learnable_mvn_diag"))
}

/// Mixture of Multivariate Normal (spherical). Its `loc` is `randn` from libtorch's generator.
pub fn learnable_mix_mvn_scaled_identity(p: &nn::Path) -> Result<MixtureSameFamily> {
    Ok(MixtureSameFamily::new(
        // Changing the `1.` initializes with a geometric decay.
        Categorical::new(Parameter::variable(p, "logits", &geometric_logits(1.0))?)?,
        Independent::new(
            Normal::new(
                Parameter::variable(p, "loc", &Tensor::randn([NUM_COMPONENTS, EVENT_SIZE], F32))?,
                TransformedVariable::new(p, "scale", &(Tensor::ones([NUM_COMPONENTS, 1], F32) * 10.0), Softplus)?,
            )?,
            1,
        )?,
    )?
    .with_name("learnable_mix_mvn_scaled_identity"))
}

/// Mixture of Multivariate Normal (spherical) with first mix weight unlearnable. Its `loc` is
/// Rademacher (±1) from libtorch's generator.
pub fn learnable_mix_mvndiag_first_fixed(p: &nn::Path) -> Result<MixtureSameFamily> {
    let rademacher = Tensor::randint(2, [NUM_COMPONENTS, EVENT_SIZE], F32) * 2.0 - 1.0;
    Ok(MixtureSameFamily::new(
        // Initialize logits as geometric decay.
        Categorical::new(TransformedVariable::new(p, "logits", &geometric_logits(1.5), Pad::new(1, 0))?)?,
        Independent::new(
            Normal::new(
                Parameter::variable(p, "loc", &rademacher)?, // Use Rademacher...cuz why not?
                TransformedVariable::new(p, "scale", &(Tensor::ones([NUM_COMPONENTS, 1], F32) * 10.0), Softplus)?,
            )?,
            1,
        )?,
    )?
    .with_name("learnable_mix_mvndiag_first_fixed"))
}

/// Mixture of Multivariate Normal (full Cov).
pub fn learnable_mix_mvntril(p: &nn::Path) -> Result<MixtureSameFamily> {
    Ok(MixtureSameFamily::new(
        Categorical::new(Parameter::variable(p, "logits", &geometric_logits(1.0))?)?,
        MultivariateNormalTriL::new(
            Parameter::variable(p, "loc", &Tensor::zeros([NUM_COMPONENTS, EVENT_SIZE], F32))?,
            TransformedVariable::new(p, "scale_tril", &ten_eyes(), FillScaleTriL::default())?,
        )?,
    )?
    .with_name("learnable_mix_mvntril"))
}

/// Mixture of Multivariate Normal (full Cov) with unlearnable first mix & first component.
pub fn learnable_mix_mvntril_fixed_first(p: &nn::Path) -> Result<MixtureSameFamily> {
    let tril_bijector: Arc<dyn Bijector> = Arc::new(FillScaleTriL::new(Arc::new(Softplus), 1e-5));
    let scale_tril_bijector = Chain::new(vec![tril_bijector.clone(), Arc::new(PadEye::new(tril_bijector))]);
    Ok(MixtureSameFamily::new(
        Categorical::new(TransformedVariable::new(p, "logits", &geometric_logits(1.0), Pad::new(1, 0))?)?,
        MultivariateNormalTriL::new(
            TransformedVariable::new(
                p,
                "loc",
                &Tensor::zeros([NUM_COMPONENTS, EVENT_SIZE], F32),
                Pad::new(1, 0).with_axis(-2),
            )?,
            TransformedVariable::new(p, "scale_tril", &ten_eyes(), scale_tril_bijector)?,
        )?,
    )?
    .with_name("learnable_mix_mvntril_fixed_first"))
}

/// One of the six: a single (multivariate) Gaussian or a mixture.
pub enum Model {
    Single(Independent),
    Mixture(MixtureSameFamily),
}

impl Model {
    pub fn dist(&self) -> &dyn Distribution {
        match self {
            Model::Single(d) => d,
            Model::Mixture(d) => d,
        }
    }
}

/// A builder of one of the six.
pub type Builder = fn(&nn::Path) -> Result<Model>;

/// The six, by name, in the seed's order.
pub fn zoo() -> Vec<(&'static str, Builder)> {
    vec![
        ("learnable_mvn_scaled_identity", |p| Ok(Model::Single(learnable_mvn_scaled_identity(p)?))),
        ("learnable_mvn_diag", |p| Ok(Model::Single(learnable_mvndiag(p)?))),
        ("learnable_mix_mvn_scaled_identity", |p| Ok(Model::Mixture(learnable_mix_mvn_scaled_identity(p)?))),
        ("learnable_mix_mvndiag_first_fixed", |p| Ok(Model::Mixture(learnable_mix_mvndiag_first_fixed(p)?))),
        ("learnable_mix_mvntril", |p| Ok(Model::Mixture(learnable_mix_mvntril(p)?))),
        ("learnable_mix_mvntril_fixed_first", |p| Ok(Model::Mixture(learnable_mix_mvntril_fixed_first(p)?))),
    ]
}
