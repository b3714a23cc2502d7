//! Conditioner networks of normalizing flows: the networks that compute a flow layer's
//! parameters (shifts, log-scales, spline knots) from the inputs it may depend on.
//!
//! * [`AutoregressiveNetwork`] (MADE, [`made`]): `[..., D] -> [..., D, P]` with output `i`
//!   depending only on inputs of lower degree, TFP's `tfp.bijectors.AutoregressiveNetwork`; the
//!   conditioner of masked autoregressive and inverse autoregressive flows.
//! * [`Mlp`] ([`mlp`]): a plain dense network `[..., n] -> [..., m]`, the conditioner of
//!   coupling layers.
//! * [`Activation`]: the nonlinearities, by their Keras names.
//!
//! Both networks register their weights in a `tch::nn::VarStore` under the given path with
//! tch's `nn::Linear` naming (`layer{k}.weight` `[out, in]`, `layer{k}.bias` `[out]`), in the
//! configured dtype (float32 or float64) on the path's device, and return them from
//! `trainable_variables()`. Masks are plain tensors, not variables. Configurations convert to
//! and from JSON (`to_json` / `from_json`), so that a saved flow rebuilds its networks; random
//! MADE orderings come from a seeded [`SplitMix64`] and are rebuilt bit for bit.
#![warn(missing_docs)]

pub mod activation;
mod dense;
mod json;
pub mod made;
pub mod mlp;
mod rng;

pub use activation::Activation;
pub use dense::Init;
pub use made::{AutoregressiveNetwork, ConditionalLayers, HiddenDegrees, InputOrder, MadeConfig};
pub use mlp::{Mlp, MlpConfig};
pub use rng::SplitMix64;
