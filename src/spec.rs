//! Building distributions and bijectors from a JSON description (`serde_json`), so that they can
//! be described in files and driven from scripts. The format is documented in `docs/json.md`.
//!
//! ```
//! use tch::{nn, Device};
//! use tch_distributions::spec;
//! # fn main() -> anyhow::Result<()> {
//! let vs = nn::VarStore::new(Device::Cpu);
//! let d = spec::build_distribution(&vs.root(), &serde_json::json!({
//!     "type": "Independent", "name": "learnable_mvn_diag", "reinterpreted_batch_ndims": 1,
//!     "distribution": {"type": "Normal",
//!         "loc": {"variable": [0.0, 0.0, 0.0, 0.0]},
//!         "scale": {"transformed": [1.0, 1.0, 1.0, 1.0], "bijector": "Softplus"}}
//! }), tch::Kind::Float)?;
//! assert_eq!(d.to_string(),
//!     "Independent(\"learnable_mvn_diag\", batch_shape=[], event_shape=[4], dtype=float32)");
//! # Ok(())
//! # }
//! ```

use crate::bijectors::{
    transform_from_json, Abs, Affine, BatchNormalization, Bijector, Cat, Chain, CholeskyOuterProduct, ConcatConstant,
    CorrelationCholesky, Cumsum, CumulativeDistribution, Exp, Expm1, FillScaleTriL, FillTriangular,
    GeneralizedParetoTransform, Identity, IndependentTransform, Invert, Log1p, LowerCholesky, MaskedAutoregressiveFlow,
    NormalCdf, Ordered, Pad, Permute, Position, PositiveDefinite, Power, RationalQuadraticSpline, RealNvp, Reciprocal,
    Reshape, Scale, ScaleMatvecTriL, Shift, Sigmoid, SinhArcsinh, Softmax, SoftmaxCentered, Softplus, Square, Stack,
    StickBreaking, Tanh, TransformDiagonal,
};
use crate::distributions::{
    family, make_trainable_named, BatchBroadcast, Categorical, Distribution, Independent, JointDistribution,
    LkjCholesky, LogisticNormal, Mixture, MixtureSameFamily, Multinomial, MultivariateNormal, OneHotCategorical, Part,
    RelaxedOneHotCategorical, TransformedDistribution, Wishart,
};
use crate::networks::{AutoregressiveNetwork, MadeConfig, Mlp, MlpConfig};
use crate::shape::kind_name;
use crate::{Parameter, TransformedVariable};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};

/// Parses a dtype name: `"float32"` or `"float64"`.
pub fn parse_kind(name: &str) -> Result<Kind> {
    match name {
        "float32" => Ok(Kind::Float),
        "float64" => Ok(Kind::Double),
        other => bail!("spec: expected dtype \"float32\" or \"float64\", got {other:?}"),
    }
}

/// Collects the numbers and the shape of a (possibly nested) JSON array or number.
fn nested(v: &Value, shape: &mut Vec<i64>, data: &mut Vec<f64>, depth: usize) -> Result<()> {
    let number = match v {
        Value::Number(n) => Some(n.as_f64().ok_or_else(|| anyhow!("spec: {n} is not a finite number"))?),
        Value::String(s) => Some(match s.as_str() {
            "nan" | "NaN" => f64::NAN,
            "inf" | "Infinity" => f64::INFINITY,
            "-inf" | "-Infinity" => f64::NEG_INFINITY,
            _ => bail!("spec: expected a number, got the string {s:?}"),
        }),
        _ => None,
    };
    if let Some(x) = number {
        if depth != shape.len() {
            bail!("spec: ragged nested array (a number at depth {depth}, expected depth {})", shape.len());
        }
        data.push(x);
        return Ok(());
    }
    match v {
        Value::Array(items) => {
            if depth == shape.len() && data.is_empty() {
                shape.push(items.len() as i64);
            } else if depth >= shape.len() || shape[depth] != items.len() as i64 {
                bail!("spec: ragged nested array at depth {depth}");
            }
            for item in items {
                nested(item, shape, data, depth + 1)?;
            }
        }
        other => bail!("spec: expected a number or an array of numbers, got {other}"),
    }
    Ok(())
}

/// A tensor from JSON: a number, a nested array, or `{"shape": [..], "data": [flat, row-major]}`;
/// the strings `"nan"`, `"inf"` and `"-inf"` stand for non-finite values.
pub fn tensor_from_json(v: &Value, kind: Kind, device: Device) -> Result<Tensor> {
    let (shape, data) = if let Some(obj) = v.as_object().filter(|o| o.contains_key("data")) {
        let shape: Vec<i64> = serde_json::from_value(obj.get("shape").cloned().unwrap_or(json!(null)))
            .context("spec: a {\"shape\", \"data\"} tensor needs \"shape\" as a list of sizes")?;
        let mut data = vec![];
        let mut flat_shape = vec![];
        nested(&obj["data"], &mut flat_shape, &mut data, 0)?;
        if flat_shape.len() != 1 {
            bail!("spec: \"data\" must be a flat list, got nesting {flat_shape:?}");
        }
        let n: i64 = shape.iter().product();
        if shape.iter().any(|&d| d < 0) || n != data.len() as i64 {
            bail!("spec: shape {shape:?} holds {n} numbers, \"data\" has {}", data.len());
        }
        (shape, data)
    } else {
        let (mut shape, mut data) = (vec![], vec![]);
        nested(v, &mut shape, &mut data, 0)?;
        if data.is_empty() && shape.is_empty() {
            bail!("spec: empty tensor description");
        }
        (shape, data)
    };
    Ok(Tensor::from_slice(&data).reshape(shape.as_slice()).to_kind(kind).to_device(device))
}

/// A tensor as `{"shape": [..], "data": [flat]}` (float64 numbers; NaN and infinities as the
/// strings `"nan"`, `"inf"`, `"-inf"`).
pub fn tensor_to_json(t: &Tensor) -> Value {
    let t = t.detach().to_device(Device::Cpu).to_kind(Kind::Double).contiguous();
    let flat = t.reshape([-1]);
    let data: Vec<f64> = Vec::<f64>::try_from(&flat).unwrap_or_default();
    let data: Vec<Value> = data
        .into_iter()
        .map(|x| {
            if x.is_nan() {
                json!("nan")
            } else if x.is_infinite() {
                json!(if x > 0.0 { "inf" } else { "-inf" })
            } else {
                json!(x)
            }
        })
        .collect();
    json!({"shape": t.size(), "data": data})
}

/// A bijector from JSON (see `docs/json.md`) whose parameters are constants: a name (`"Exp"`,
/// `"Softplus"`, `"Identity"`, `"FillTriangular"`, `"FillScaleTriL"`) or an object with `"type"`
/// and its options. Tensors in it (Shift, Scale, ConcatConstant, ...) are made with `kind` on
/// `device`. A trainable parameter (`{"variable": ..}`) needs a `VarStore`: use
/// [`build_bijector_in`].
pub fn build_bijector(v: &Value, kind: Kind, device: Device) -> Result<Arc<dyn Bijector>> {
    bijector(None, v, kind, device)
}

/// A bijector from JSON whose parameters may be trainable (`{"variable": T}`,
/// `{"transformed": T, "bijector": B}`, as for distributions), created under `path`, on its
/// device. A `Chain`'s members are built under `path / i` (`i` their index), or under
/// `path / name` for a member with a `"name"`.
pub fn build_bijector_in(path: &nn::Path, v: &Value, kind: Kind) -> Result<Arc<dyn Bijector>> {
    bijector(Some(path), v, kind, path.device())
}

/// A sub-path for a named part of a model (names with '.' or empty names are refused: tch
/// would panic on them).
pub(crate) fn sub_path<'a>(path: &nn::Path<'a>, name: &str, what: &str) -> Result<nn::Path<'a>> {
    if name.is_empty() || name.contains('.') {
        bail!("spec: {what}: a name must be non-empty and without '.', got {name:?}");
    }
    Ok(path / name)
}

fn bijector(path: Option<&nn::Path>, v: &Value, kind: Kind, device: Device) -> Result<Arc<dyn Bijector>> {
    let empty = Map::new();
    let (name, obj) = match v {
        Value::String(s) => (s.as_str(), &empty),
        Value::Object(o) => (
            o.get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("spec: a bijector object needs a \"type\" string, got {v}"))?,
            o,
        ),
        _ => bail!("spec: expected a bijector (a name or an object with \"type\"), got {v}"),
    };
    let tensor = |key: &str| -> Result<Tensor> { tensor_from_json(field(obj, key, name)?, kind, device) };
    // A parameter: constant, or (with a path) trainable, named by its field.
    let param = |key: &str| -> Result<Parameter> {
        let v = field(obj, key, name)?;
        match path {
            Some(p) => build_parameter(p, key, v, kind),
            None => match v.as_object().filter(|o| !o.contains_key("data")) {
                None => Parameter::constant(&tensor_from_json(v, kind, device)?),
                Some(o) if o.len() == 1 && o.contains_key("constant") => {
                    Parameter::constant(&tensor_from_json(&o["constant"], kind, device)?)
                }
                Some(_) => bail!(
                    "spec: {name}: the parameter {key:?} is trainable and needs a VarStore path \
                     (spec::build_bijector_in), got {v}"
                ),
            },
        }
    };
    let inner = |key: &str| -> Result<Arc<dyn Bijector>> { bijector(path, field(obj, key, name)?, kind, device) };
    let int = |key: &str, default: i64| -> Result<i64> {
        match obj.get(key) {
            None => Ok(default),
            Some(x) => x.as_i64().ok_or_else(|| anyhow!("spec: {name}: \"{key}\" must be an integer, got {x}")),
        }
    };
    let float = |key: &str, default: f64| -> Result<f64> {
        match obj.get(key) {
            None => Ok(default),
            Some(x) => x.as_f64().ok_or_else(|| anyhow!("spec: {name}: \"{key}\" must be a number, got {x}")),
        }
    };
    Ok(match name {
        "Exp" => Arc::new(Exp),
        "Softplus" => Arc::new(Softplus),
        "Identity" => Arc::new(Identity),
        "Shift" => Arc::new(Shift::new(param("shift")?)),
        "Scale" => Arc::new(Scale::new(param("scale")?)),
        "Affine" => Arc::new(Affine::new(param("loc")?, param("scale")?)),
        "FillTriangular" => {
            Arc::new(FillTriangular { upper: obj.get("upper").and_then(Value::as_bool).unwrap_or(false) })
        }
        "TransformDiagonal" => Arc::new(TransformDiagonal::new(inner("bijector")?)),
        "FillScaleTriL" => {
            let diag = if obj.contains_key("diag_bijector") { inner("diag_bijector")? } else { Arc::new(Softplus) };
            Arc::new(FillScaleTriL::new(diag, float("diag_shift", 1e-5)?))
        }
        "Pad" => {
            let p = match obj.get("paddings") {
                None => (0, 1),
                Some(p) => serde_json::from_value::<(i64, i64)>(p.clone())
                    .map_err(|_| anyhow!("spec: Pad: \"paddings\" must be [before, after], got {p}"))?,
            };
            Arc::new(Pad::new(p.0, p.1).with_axis(int("axis", -1)?).with_constant(float("constant", 0.0)?))
        }
        "ConcatConstant" => {
            let position = match obj.get("position").and_then(Value::as_str).unwrap_or("before") {
                "before" => Position::Before,
                "after" => Position::After,
                other => bail!("spec: ConcatConstant: \"position\" must be \"before\" or \"after\", got {other:?}"),
            };
            Arc::new(ConcatConstant::new(tensor("constant")?, int("axis", -1)?, position)?)
        }
        "Sigmoid" => match (obj.get("low"), obj.get("high")) {
            (None, None) => Arc::new(Sigmoid::new()),
            (Some(_), Some(_)) => Arc::new(Sigmoid::with_bounds(param("low")?, param("high")?)?),
            _ => bail!("spec: Sigmoid needs both \"low\" and \"high\", or neither"),
        },
        "Tanh" => Arc::new(Tanh),
        "Expm1" => Arc::new(Expm1),
        "Log1p" => Arc::new(Log1p),
        "Reciprocal" => Arc::new(Reciprocal),
        "NormalCDF" => Arc::new(NormalCdf),
        "StickBreaking" => Arc::new(StickBreaking),
        "Cumsum" => Arc::new(Cumsum),
        "Ordered" => Arc::new(Ordered),
        "LowerCholesky" => Arc::new(LowerCholesky),
        "PositiveDefinite" => Arc::new(PositiveDefinite),
        "Abs" => Arc::new(Abs),
        "CorrelationCholesky" | "CorrCholesky" => Arc::new(CorrelationCholesky),
        "SinhArcsinh" => Arc::new(SinhArcsinh::new(param("skewness")?, param("tailweight")?)),
        "Independent" => {
            let n = int("reinterpreted_batch_ndims", 1)?;
            if n < 0 {
                bail!("spec: Independent: \"reinterpreted_batch_ndims\" must be >= 0, got {n}");
            }
            Arc::new(IndependentTransform::new(inner("bijector")?, n as usize))
        }
        "Softmax" => Arc::new(Softmax),
        "CumulativeDistribution" => {
            let spec = field(obj, "distribution", name)?;
            let dist = match path {
                Some(p) => build_distribution(&sub_path(p, "distribution", "CumulativeDistribution")?, spec, kind)?,
                None => {
                    let store = nn::VarStore::new(device);
                    let dist = build_distribution(&store.root(), spec, kind)?;
                    if !dist.trainable_variables().is_empty() {
                        bail!(
                            "spec: CumulativeDistribution: the distribution has trainable parameters and needs a \
                             VarStore path (spec::build_bijector_in), got {spec}"
                        );
                    }
                    dist
                }
            };
            Arc::new(CumulativeDistribution::from_box(dist)?)
        }
        "SoftmaxCentered" => Arc::new(SoftmaxCentered),
        "CholeskyOuterProduct" => Arc::new(CholeskyOuterProduct),
        "Square" => Arc::new(Square),
        "Power" => match obj.get("power") {
            Some(Value::Number(p)) => Arc::new(Power::new(p.as_f64().unwrap_or(f64::NAN))?),
            Some(_) => Arc::new(Power::learnable(param("power")?)),
            None => bail!("spec: Power needs the field \"power\""),
        },
        "ScaleMatvecTriL" => Arc::new(ScaleMatvecTriL::new(param("scale_tril")?)?),
        "Invert" => Arc::new(Invert::new(inner("bijector")?)),
        "Permute" => {
            let perm: Vec<i64> = serde_json::from_value(field(obj, "permutation", name)?.clone())
                .map_err(|_| anyhow!("spec: Permute: \"permutation\" must be a list of indices"))?;
            Arc::new(Permute::new(perm)?)
        }
        "MaskedAutoregressiveFlow" | "RealNVP" => flow(path, name, obj, kind)?,
        "BatchNormalization" => {
            let p = path.ok_or_else(|| {
                anyhow!("spec: BatchNormalization has variables and needs a VarStore path (spec::build_bijector_in)")
            })?;
            let n = int("event_size", 0)?;
            let bn = BatchNormalization::new(p, n, kind)?;
            Arc::new(bn.with_momentum_and_epsilon(float("momentum", 0.99)?, float("epsilon", 1e-3)?)?)
        }
        "Reshape" => {
            let shape = |key: &str| -> Result<Vec<i64>> {
                serde_json::from_value(field(obj, key, name)?.clone())
                    .map_err(|_| anyhow!("spec: Reshape: \"{key}\" must be a list of sizes"))
            };
            Arc::new(Reshape::new(shape("event_shape_in")?, shape("event_shape_out")?)?)
        }
        "RationalQuadraticSpline" => {
            let spline = match obj.get("unconstrained") {
                None => {
                    let range_min = if obj.contains_key("range_min") {
                        param("range_min")?
                    } else {
                        Parameter::constant(&tensor_from_json(&Value::from(-1.0), kind, device)?)?
                    };
                    RationalQuadraticSpline::new(param("bin_widths")?, param("bin_heights")?, param("knot_slopes")?, range_min)?
                }
                Some(Value::Object(raw)) => {
                    let raw_tensor = |key: &str| tensor_from_json(field(raw, key, "RationalQuadraticSpline.unconstrained")?, kind, device);
                    RationalQuadraticSpline::from_unconstrained_with_minimums(
                        &raw_tensor("widths")?,
                        &raw_tensor("heights")?,
                        &raw_tensor("slopes")?,
                        float("bound", 1.0)?,
                        float("min_bin_width", crate::bijectors::DEFAULT_MIN_BIN_WIDTH)?,
                        float("min_bin_height", crate::bijectors::DEFAULT_MIN_BIN_HEIGHT)?,
                        float("min_slope", crate::bijectors::DEFAULT_MIN_SLOPE)?,
                    )?
                }
                Some(other) => bail!("spec: RationalQuadraticSpline: \"unconstrained\" must be an object with \"widths\", \"heights\" and \"slopes\", got {other}"),
            };
            Arc::new(spline.with_validate_args(obj.get("validate_args").and_then(Value::as_bool).unwrap_or(false))?)
        }
        "Chain" => Arc::new(Chain::new(members(path, obj, name, kind, device)?)),
        "GeneralizedPareto" => {
            Arc::new(GeneralizedParetoTransform::new(param("loc")?, param("scale")?, param("concentration")?))
        }
        "Stack" => Arc::new(Stack::new(members(path, obj, name, kind, device)?, int("axis", -1)?)?),
        "Cat" => {
            let lengths = field(obj, "lengths", name)?
                .as_array()
                .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>())
                .ok_or_else(|| anyhow!("spec: Cat: \"lengths\" must be a list of integers"))?;
            let parts = members(path, obj, name, kind, device)?;
            if parts.len() != lengths.len() {
                bail!("spec: Cat: {} bijectors but {} lengths", parts.len(), lengths.len());
            }
            Arc::new(Cat::new(parts.into_iter().zip(lengths).collect(), int("axis", -1)?)?)
        }
        other => bail!(
            "spec: unknown bijector {other:?} (known: Exp, Softplus, Identity, Shift, Scale, Affine, FillTriangular, \
             TransformDiagonal, FillScaleTriL, Pad, ConcatConstant, Chain, Sigmoid, Tanh, Expm1, Log1p, Reciprocal, \
             NormalCDF, StickBreaking, Cumsum, Ordered, CumulativeDistribution, LowerCholesky, PositiveDefinite, \
             Abs, Softmax, Independent, SinhArcsinh, CorrelationCholesky, Cat, Stack, GeneralizedPareto, \
             SoftmaxCentered, \
             CholeskyOuterProduct, Square, Power, ScaleMatvecTriL, Invert, Reshape, Permute, BatchNormalization, \
             MaskedAutoregressiveFlow, RealNVP, RationalQuadraticSpline)"
        ),
    })
}

/// A flow layer from JSON: its network config (`"network"`, the sizes the transform needs filled
/// in) and its elementwise `"transform"` (default `"affine"`); the network's variables under
/// `path`.
fn flow(path: Option<&nn::Path>, ty: &str, obj: &Map<String, Value>, kind: Kind) -> Result<Arc<dyn Bijector>> {
    let path = path.ok_or_else(|| {
        anyhow!("spec: {ty} has a network of variables and needs a VarStore path (spec::build_bijector_in)")
    })?;
    let transform = transform_from_json(obj.get("transform").unwrap_or(&json!("affine")))?;
    let mut net = field(obj, "network", ty)?
        .as_object()
        .cloned()
        .ok_or_else(|| anyhow!("spec: {ty}: \"network\" must be an object (the network's configuration)"))?;
    let p = transform.params_per_element();
    Ok(if ty == "RealNVP" {
        let d = field(obj, "event_size", ty)?
            .as_i64()
            .ok_or_else(|| anyhow!("spec: RealNVP: \"event_size\" must be an integer"))?;
        let m = field(obj, "num_masked", ty)?
            .as_i64()
            .ok_or_else(|| anyhow!("spec: RealNVP: \"num_masked\" must be an integer"))?;
        RealNvp::check_split(d, m)?;
        net.entry("input_size").or_insert(json!(m.abs()));
        net.entry("output_size").or_insert(json!((d - m.abs()) * p));
        let mlp = Mlp::new(path, &MlpConfig::from_json(&Value::Object(net), kind)?)?;
        Arc::new(RealNvp::with_transform(d, m, mlp, transform)?)
    } else {
        net.entry("params").or_insert(json!(p));
        let made = AutoregressiveNetwork::new(path, &MadeConfig::from_json(&Value::Object(net), kind)?)?;
        Arc::new(MaskedAutoregressiveFlow::with_transform(made, transform)?)
    })
}

fn field<'a>(obj: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a Value> {
    obj.get(key).ok_or_else(|| anyhow!("spec: {what} needs the field {key:?}"))
}

/// A parameter from JSON (values in the constrained space):
/// a tensor (constant), `{"constant": T}`, `{"variable": T, "name"?}`, or
/// `{"transformed": T, "bijector": B, "name"?}`. Variables are named `name`, by default the
/// parameter's field name, under `path`.
pub fn build_parameter(path: &nn::Path, field_name: &str, v: &Value, kind: Kind) -> Result<Parameter> {
    let device = path.device();
    let obj = match v.as_object().filter(|o| !o.contains_key("data")) {
        None => return Parameter::constant(&tensor_from_json(v, kind, device)?),
        Some(o) => o,
    };
    let name = match obj.get("name") {
        None => field_name,
        Some(Value::String(s)) => s.as_str(),
        Some(other) => bail!("spec: parameter {field_name:?}: \"name\" must be a string, got {other}"),
    };
    let ctx = |e: anyhow::Error| e.context(format!("spec: parameter {field_name:?}"));
    if let Some(t) = obj.get("constant") {
        Parameter::constant(&tensor_from_json(t, kind, device).map_err(ctx)?)
    } else if let Some(t) = obj.get("variable") {
        Parameter::variable(path, name, &tensor_from_json(t, kind, device).map_err(ctx)?)
    } else if let Some(t) = obj.get("transformed") {
        let b = build_bijector(field(obj, "bijector", "a transformed parameter")?, kind, device).map_err(ctx)?;
        let init = tensor_from_json(t, kind, device).map_err(ctx)?;
        Ok(TransformedVariable::from_arc(path, name, &init, b)?.into())
    } else {
        bail!("spec: parameter {field_name:?} needs one of \"constant\", \"variable\", \"transformed\", got {v}")
    }
}

/// The bijectors of a composite's `"bijectors"` list (Chain, Cat, Stack), each under its own
/// `VarStore` path: its `"name"`, or its position.
fn members(
    path: Option<&nn::Path>,
    obj: &Map<String, Value>,
    name: &str,
    kind: Kind,
    device: Device,
) -> Result<Vec<Arc<dyn Bijector>>> {
    let list = field(obj, "bijectors", name)?
        .as_array()
        .ok_or_else(|| anyhow!("spec: {name}: \"bijectors\" must be a list"))?;
    let member = |(i, m): (usize, &Value)| -> Result<Arc<dyn Bijector>> {
        let Some(p) = path else { return bijector(None, m, kind, device) };
        let sub = match m.get("name") {
            None => i.to_string(),
            Some(Value::String(n)) => n.clone(),
            Some(other) => bail!("spec: {name} member {i}: \"name\" must be a string, got {other}"),
        };
        bijector(Some(&sub_path(p, &sub, &format!("{name} member"))?), m, kind, device)
    };
    list.iter().enumerate().map(member).collect()
}

/// A distribution from JSON (see `docs/json.md`), its variables created under `path` in dtype
/// `kind` (`"dtype"` in the object, if present, takes precedence).
pub fn build_distribution(path: &nn::Path, v: &Value, kind: Kind) -> Result<Box<dyn Distribution>> {
    let obj = v.as_object().ok_or_else(|| anyhow!("spec: expected a distribution object, got {v}"))?;
    let kind = match obj.get("dtype") {
        Some(Value::String(s)) => parse_kind(s)?,
        Some(other) => bail!("spec: \"dtype\" must be a string, got {other}"),
        None => kind,
    };
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("spec: a distribution needs a \"type\" string, got {v}"))?;
    let name = obj.get("name").and_then(Value::as_str);
    let validate = obj.get("validate_args").and_then(Value::as_bool).unwrap_or(false);
    let param = |key: &str| build_parameter(path, key, field(obj, key, ty)?, kind);
    // A parameter given under one of two names (logits or probs, covariance or precision).
    let either = |a: &str, b: &str| -> Result<(bool, Parameter)> {
        match (obj.get(a), obj.get(b)) {
            (Some(v), None) => Ok((true, build_parameter(path, a, v, kind)?)),
            (None, Some(v)) => Ok((false, build_parameter(path, b, v, kind)?)),
            _ => bail!("spec: a {ty} needs exactly one of {a:?} and {b:?}"),
        }
    };
    if obj.get("trainable").and_then(Value::as_bool).unwrap_or(false) {
        let shape = |key: &str| -> Result<Vec<i64>> {
            obj.get(key).map_or(Ok(vec![]), |v| {
                serde_json::from_value(v.clone())
                    .map_err(|_| anyhow!("spec: trainable {ty}: \"{key}\" must be a list of sizes, got {v}"))
            })
        };
        let (batch, event) = (shape("batch_shape")?, shape("event_shape")?);
        return make_trainable_named(ty, path, &batch, &event, kind, name, validate).map_err(|e| anyhow!("spec: {e}"));
    }
    let d: Box<dyn Distribution> = match ty {
        // The families declared with a FamilySpec: their parameters by the declared names.
        ty if family(ty).is_some() => {
            let entry = family(ty).expect("checked");
            let mut params = Vec::with_capacity(entry.spec.params.len());
            for p in entry.spec.params {
                params.push(match p.alternative {
                    None => (p, param(p.name)?),
                    Some(alt) => match either(p.name, alt.name)? {
                        (true, v) => (p, v),
                        (false, v) => (alt, v),
                    },
                });
            }
            (entry.build)(params, name, validate)?
        }
        "TransformedDistribution" => {
            let base = build_distribution(path, field(obj, "distribution", ty)?, kind)?;
            // The bijector's variables (a learnable Scale, a flow's networks) live under "bijector".
            let b = build_bijector_in(&(path / "bijector"), field(obj, "bijector", ty)?, kind)?;
            Box::new(named(TransformedDistribution::new(base, b)?, name, TransformedDistribution::with_name))
        }
        "MultivariateNormal" => {
            let loc = param("loc")?;
            let d = match either("covariance_matrix", "precision_matrix")? {
                (true, m) => MultivariateNormal::from_covariance(loc, m)?,
                (false, m) => MultivariateNormal::from_precision(loc, m)?,
            };
            Box::new(named(d.with_validate_args(validate), name, MultivariateNormal::with_name))
        }
        "OneHotCategorical" | "OneHotCategoricalStraightThrough" => {
            let d = match either("logits", "probs")? {
                (true, p) => OneHotCategorical::new(p)?,
                (false, p) => OneHotCategorical::from_probs(p)?,
            };
            let d = if ty == "OneHotCategorical" { d } else { d.straight_through() };
            Box::new(named(d.with_validate_args(validate), name, OneHotCategorical::with_name))
        }
        "LogisticNormal" => Box::new(named(
            LogisticNormal::new(param("loc")?, param("scale")?)?,
            name,
            TransformedDistribution::with_name,
        )),
        "LKJCholesky" => {
            let dim = field(obj, "dim", ty)?
                .as_i64()
                .ok_or_else(|| anyhow!("spec: LKJCholesky: \"dim\" must be an integer"))?;
            let d = LkjCholesky::new(dim, param("concentration")?)?;
            Box::new(named(d.with_validate_args(validate), name, LkjCholesky::with_name))
        }
        "Wishart" => {
            let df = param("df")?;
            let given: Vec<&str> = ["scale_tril", "covariance_matrix", "precision_matrix"]
                .into_iter()
                .filter(|k| obj.contains_key(*k))
                .collect();
            let d = match given.as_slice() {
                ["scale_tril"] => Wishart::from_scale_tril(df, param("scale_tril")?)?,
                ["covariance_matrix"] => Wishart::from_covariance(df, param("covariance_matrix")?)?,
                ["precision_matrix"] => Wishart::from_precision(df, param("precision_matrix")?)?,
                _ => bail!("spec: a Wishart needs exactly one of \"scale_tril\", \"covariance_matrix\" and \"precision_matrix\""),
            };
            Box::new(named(d.with_validate_args(validate), name, Wishart::with_name))
        }
        "Multinomial" => {
            let n = param("total_count")?;
            let d = match either("logits", "probs")? {
                (true, p) => Multinomial::new(n, p)?,
                (false, p) => Multinomial::from_probs(n, p)?,
            };
            Box::new(named(d.with_validate_args(validate), name, Multinomial::with_name))
        }
        "RelaxedOneHotCategorical" => {
            let t = param("temperature")?;
            let d = match either("logits", "probs")? {
                (true, p) => RelaxedOneHotCategorical::new(t, p)?,
                (false, p) => RelaxedOneHotCategorical::from_probs(t, p)?,
            };
            Box::new(named(d.with_validate_args(validate), name, RelaxedOneHotCategorical::with_name))
        }
        "Mixture" => {
            let cat = build_categorical(path, field(obj, "mixture", ty)?, kind)?;
            let list = field(obj, "components", ty)?
                .as_array()
                .ok_or_else(|| anyhow!("spec: Mixture: \"components\" must be a list of distributions"))?;
            // Each component's variables live under its own sub-path: component0, component1, ...
            let components = list
                .iter()
                .enumerate()
                .map(|(i, c)| build_distribution(&(path / format!("component{i}")), c, kind))
                .collect::<Result<Vec<_>>>()?;
            Box::new(named(Mixture::new(cat, components)?, name, Mixture::with_name))
        }
        "BatchBroadcast" => {
            let base = build_distribution(path, field(obj, "distribution", ty)?, kind)?;
            let shape: Vec<i64> = serde_json::from_value(field(obj, "batch_shape", ty)?.clone())
                .map_err(|_| anyhow!("spec: BatchBroadcast: \"batch_shape\" must be a list of sizes"))?;
            Box::new(named(BatchBroadcast::from_box(base, &shape)?, name, BatchBroadcast::with_name))
        }
        "Independent" => {
            let base = build_distribution(path, field(obj, "distribution", "Independent")?, kind)?;
            let n = field(obj, "reinterpreted_batch_ndims", "Independent")?
                .as_u64()
                .ok_or_else(|| anyhow!("spec: \"reinterpreted_batch_ndims\" must be a non-negative integer"))?;
            Box::new(named(Independent::from_box(base, n as usize)?, name, Independent::with_name))
        }
        "Categorical" => Box::new(build_categorical(path, v, kind)?),
        "MixtureSameFamily" => {
            let mixture = build_categorical(path, field(obj, "mixture", ty)?, kind)?;
            let components = build_distribution(path, field(obj, "components", ty)?, kind)?;
            Box::new(named(MixtureSameFamily::from_box(mixture, components)?, name, MixtureSameFamily::with_name))
        }
        other => {
            let declared: Vec<&str> = crate::distributions::FAMILIES.iter().map(|e| e.spec.type_name).collect();
            bail!(
                "spec: unknown distribution {other:?} (known: {}, and Independent, Categorical, OneHotCategorical, \
                 OneHotCategoricalStraightThrough, Multinomial, RelaxedOneHotCategorical, LogisticNormal, LKJCholesky, \
                 Wishart, MultivariateNormal, MixtureSameFamily, Mixture, TransformedDistribution, BatchBroadcast)",
                declared.join(", ")
            )
        }
    };
    let value_kind = if d.dtype() == Kind::Int64 { Kind::Int64 } else { kind };
    if d.dtype() != value_kind {
        bail!("spec: {ty} built with dtype {}, expected {}", kind_name(d.dtype()), kind_name(value_kind));
    }
    Ok(d)
}

fn named<D>(d: D, name: Option<&str>, with_name: fn(D, &str) -> D) -> D {
    match name {
        Some(n) => with_name(d, n),
        None => d,
    }
}

/// A `Categorical` from JSON: `{"type": "Categorical", "logits": P}` or `{.., "probs": P}`.
pub fn build_categorical(path: &nn::Path, v: &Value, kind: Kind) -> Result<Categorical> {
    let obj = v.as_object().ok_or_else(|| anyhow!("spec: expected a Categorical object, got {v}"))?;
    match obj.get("type").and_then(Value::as_str) {
        Some("Categorical") => {}
        other => bail!("spec: expected a distribution of type \"Categorical\" here, got {other:?}"),
    }
    let c = match (obj.get("logits"), obj.get("probs")) {
        (Some(l), None) => Categorical::new(build_parameter(path, "logits", l, kind)?)?,
        (None, Some(p)) => Categorical::from_probs(build_parameter(path, "probs", p, kind)?)?,
        _ => bail!("spec: a Categorical needs exactly one of \"logits\" and \"probs\""),
    };
    Ok(named(c, obj.get("name").and_then(Value::as_str), Categorical::with_name))
}

/// A joint distribution of fixed parts from JSON (`docs/json.md`): `{"type":
/// "JointDistributionNamed", "parts": {"name": distribution, ...}}` (the parts in the order of
/// their names, each part's variables under `path / name`; fixed parts do not depend on each
/// other) or `{"type":
/// "JointDistributionSequential", "parts": [distribution, ...]}` (under `path / "0"`, ...). Parts
/// built from earlier values are closures, which JSON cannot hold: build those in Rust
/// ([`JointDistribution::with_fn`]).
pub fn build_joint(path: &nn::Path, v: &Value, kind: Kind) -> Result<JointDistribution> {
    let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
    let parts = v.get("parts").ok_or_else(|| anyhow!("spec: a {ty} needs \"parts\""))?;
    match (ty, parts) {
        ("JointDistributionNamed", Value::Object(map)) => {
            let mut joint = JointDistribution::named();
            for (name, spec) in map {
                let d = build_distribution(&sub_path(path, name, "JointDistributionNamed part")?, spec, kind)?;
                joint = joint.with_boxed(name, d)?;
            }
            Ok(joint)
        }
        ("JointDistributionSequential", Value::Array(list)) => {
            let parts = list
                .iter()
                .enumerate()
                .map(|(i, spec)| Ok(Part::Fixed(build_distribution(&(path / i.to_string()), spec, kind)?)))
                .collect::<Result<Vec<_>>>()?;
            Ok(JointDistribution::sequential(parts))
        }
        ("JointDistributionNamed", _) => {
            bail!("spec: JointDistributionNamed: \"parts\" must be an object of distributions")
        }
        ("JointDistributionSequential", _) => {
            bail!("spec: JointDistributionSequential: \"parts\" must be a list of distributions")
        }
        (other, _) => {
            bail!("spec: expected \"type\" JointDistributionNamed or JointDistributionSequential, got {other:?}")
        }
    }
}
