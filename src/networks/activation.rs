//! Element-wise activation functions of the conditioner networks, by their Keras names.

use anyhow::{bail, Result};
use tch::Tensor;

/// An element-wise nonlinearity applied between the dense layers of a network.
///
/// The names are the ones TFP's `AutoregressiveNetwork(activation=...)` accepts through
/// `tf_keras.activations.get`, and the functions are Keras's:
///
/// | variant     | name           | `f(x)`                                               |
/// |-------------|----------------|------------------------------------------------------|
/// | `Identity`  | `"linear"`     | `x` (Keras's `None`; also parsed from `"identity"`)   |
/// | `Relu`      | `"relu"`       | `max(x, 0)`                                          |
/// | `Tanh`      | `"tanh"`       | `tanh(x)`                                            |
/// | `Elu`       | `"elu"`        | `x` for `x > 0`, else `exp(x) - 1` (alpha 1)          |
/// | `Sigmoid`   | `"sigmoid"`    | `1 / (1 + exp(-x))`                                  |
/// | `Softplus`  | `"softplus"`   | `log(1 + exp(x))` (libtorch's, linear above 20)      |
/// | `Gelu`      | `"gelu"`       | `x Φ(x)`, exact erf form (Keras's `approximate=False`)|
/// | `Silu`      | `"silu"`       | `x sigmoid(x)` (also parsed from `"swish"`)           |
/// | `LeakyRelu` | `"leaky_relu"` | `x` for `x > 0`, else `0.2 x` (Keras/`tf.nn`'s slope 0.2, not torch's 0.01) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `f(x) = x`: a linear network (TFP's default, `activation=None`).
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `x` for `x > 0`, `exp(x) - 1` otherwise.
    Elu,
    /// The logistic function.
    Sigmoid,
    /// `log(1 + exp(x))`.
    Softplus,
    /// `x Φ(x)` with the standard normal CDF `Φ` (exact, not the tanh approximation).
    Gelu,
    /// `x sigmoid(x)` (swish).
    Silu,
    /// `x` for `x > 0`, `0.2 x` otherwise.
    LeakyRelu,
}

/// The negative slope of [`Activation::LeakyRelu`] (`tf.nn.leaky_relu`'s default alpha).
pub const LEAKY_RELU_SLOPE: f64 = 0.2;

impl Activation {
    /// Parses a Keras activation name: `"linear"` (or `"identity"`), `"relu"`, `"tanh"`, `"elu"`,
    /// `"sigmoid"`, `"softplus"`, `"gelu"`, `"silu"` (or `"swish"`), `"leaky_relu"`. A JSON
    /// `null` (Python's `None`) is Keras's `"linear"`; callers reading JSON map it to
    /// [`Activation::Identity`].
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "linear" | "identity" => Self::Identity,
            "relu" => Self::Relu,
            "tanh" => Self::Tanh,
            "elu" => Self::Elu,
            "sigmoid" => Self::Sigmoid,
            "softplus" => Self::Softplus,
            "gelu" => Self::Gelu,
            "silu" | "swish" => Self::Silu,
            "leaky_relu" => Self::LeakyRelu,
            other => bail!(
                "Activation::parse: unknown activation {other:?}; expected one of \"linear\", \"identity\", \"relu\", \
                 \"tanh\", \"elu\", \"sigmoid\", \"softplus\", \"gelu\", \"silu\", \"swish\", \"leaky_relu\""
            ),
        })
    }

    /// The canonical Keras name (what [`Activation::parse`] reads back).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Identity => "linear",
            Self::Relu => "relu",
            Self::Tanh => "tanh",
            Self::Elu => "elu",
            Self::Sigmoid => "sigmoid",
            Self::Softplus => "softplus",
            Self::Gelu => "gelu",
            Self::Silu => "silu",
            Self::LeakyRelu => "leaky_relu",
        }
    }

    /// Applies the function element-wise (any shape, dtype kept, differentiable).
    pub fn apply(&self, x: &Tensor) -> Tensor {
        match self {
            Self::Identity => x.shallow_clone(),
            Self::Relu => x.relu(),
            Self::Tanh => x.tanh(),
            Self::Elu => x.elu(),
            Self::Sigmoid => x.sigmoid(),
            Self::Softplus => x.softplus(),
            Self::Gelu => x.gelu("none"),
            Self::Silu => x.silu(),
            // Gradient `LEAKY_RELU_SLOPE` at 0, as tf.nn.leaky_relu's.
            Self::LeakyRelu => x.where_self(&x.gt(0.0), &(x * LEAKY_RELU_SLOPE)),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
