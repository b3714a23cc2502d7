//! Learnable probability distributions and bijectors on libtorch, through `tch`.
//!
//! The library follows TensorFlow Probability's semantics (shapes are
//! `sample_shape + batch_shape + event_shape`, `Chain` applies its last member first) and is
//! checked number for number against `torch.distributions` (see `scripts/parity.py`).
//!
//! * [`bijectors`]: invertible maps with log-det-Jacobians ([`bijectors::Bijector`]).
//! * [`variable`]: parameters: constants, trainable variables and [`TransformedVariable`]s, all
//!   registered in a `tch::nn::VarStore`.
//! * [`distributions`]: [`distributions::Distribution`] and its implementations.
//! * [`spec`]: building distributions and bijectors from a JSON description.
//! * [`flow_models`]: MAF, IAF, RealNVP and a neural spline flow as JSON descriptions.
//! * [`toy_densities`]: 2-D and 8-D toy densities for flows, generated in code.
//! * [`seed_models`]: the seed's six learnable distributions as JSON for any size, and their
//!   k-means start.
//! * [`saved`]: saving a distribution (JSON structure + safetensors parameters) and rebuilding it.
//! * [`mixture_nll`]: the loss and gradient of a Gaussian (mixture) in closed form, and
//!   [`adam`]: Adam over one flat buffer; together, a training step without an autograd graph.
//! * [`networks`]: conditioner networks of flows: MADE ([`networks::AutoregressiveNetwork`]) and an MLP.
//! * [`allocator`]: an opt-in malloc setting that spares CPU training loops their page faults.
//! * [`training`]: fitting by maximum likelihood with Adam ([`training::fit`]): mini-batches,
//!   early stopping, and an error naming the step where the loss turns NaN.
//!
//! ```no_run
//! use tch::{nn, Device, Kind, Tensor};
//! use tch_distributions::bijectors::Softplus;
//! use tch_distributions::distributions::{Distribution, Independent, Normal};
//! use tch_distributions::{Parameter, TransformedVariable};
//!
//! # fn main() -> anyhow::Result<()> {
//! let vs = nn::VarStore::new(Device::Cpu);
//! let root = vs.root();
//! let loc = Parameter::variable(&root, "loc", &Tensor::zeros([4], (Kind::Float, Device::Cpu)))?;
//! let scale = TransformedVariable::new(&root, "scale", &Tensor::ones([4], (Kind::Float, Device::Cpu)), Softplus)?;
//! let mvn_diag = Independent::new(Normal::new(loc, scale)?, 1)?.with_name("learnable_mvn_diag");
//! println!("{mvn_diag}");
//! let lp = mvn_diag.log_prob(&Tensor::zeros([10, 4], (Kind::Float, Device::Cpu)))?;
//! assert_eq!(lp.size(), vec![10]);
//! # Ok(())
//! # }
//! ```

// Bijectors are shared as `Arc<dyn Bijector>`; some hold tensors, which are `Send` but not
// `Sync`, so those `Arc`s are not `Send`, and distributions are neither `Send` nor `Sync`: each
// thread builds its own from the JSON description (docs/concurrency.md).
#![allow(clippy::arc_with_non_send_sync)]
#![warn(missing_docs)]

pub mod adam;
pub mod allocator;
pub mod bijectors;
pub mod checkpoint;
pub mod distributions;
pub mod flow_models;
mod host;
mod host_function;
pub mod kl;
mod linalg;
pub mod mixture_nll;
pub mod networks;
pub mod saved;
pub mod seed_models;
pub mod shape;
pub mod spec;
pub mod special;
pub mod toy_densities;
pub mod training;
pub mod variable;

pub use variable::{Parameter, TransformedVariable};
