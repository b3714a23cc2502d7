//! A JSON driver for the library, used by `scripts/parity.py` and usable from any script.
//!
//! Reads a request `{"cases": [...]}` from standard input (or from the file given as the first
//! argument) and writes `{"results": [...]}` to standard output, one result per case, in order.
//! A case that fails gives `{"id": .., "error": "..."}` instead of stopping the run.
//!
//! Case kinds (format in `docs/json.md`):
//! * `"distribution"`: builds `distribution` in a fresh `VarStore` with `dtype`; returns the
//!   printed description, batch and event shapes, `log_prob(x)`, the raw trainable variables and
//!   the gradients of `sum(log_prob(x))` with respect to each, the mean and, when
//!   `sample_shape` is given, the mean and variance over the sample dimensions of
//!   `sample(sample_shape)` drawn after `tch::manual_seed(seed)`.
//! * `"bijector"`: `forward(x)`, `inverse(y)`, `forward_log_det_jacobian(x)` and
//!   `inverse_log_det_jacobian(y)`, the trainable variables (initialised after
//!   `tch::manual_seed(seed)`, then overwritten by the case's `"set_variables"`) and the gradients
//!   of the sum of each quantity with respect to them; a method that errors (a map that is not a
//!   bijection) gives `"<key>_error"` in place of its value.
//! * `"kl"`: `kl_divergence(p, q)` of two distributions `p` and `q` (variables under `p.` and
//!   `q.`), with the gradients of the sum of its finite elements with respect to every raw
//!   variable (zeros for a variable the KL does not depend on; an `inf` has no gradient).
//!
//! ```text
//! echo '{"cases": [{"id": 0, "kind": "bijector", "dtype": "float32", "bijector": "Softplus",
//!                   "x": [0.0], "y": [1.0]}]}' | cargo run --example json_driver
//! ```

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};
use std::io::Read;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::kl::kl_divergence;
use tch_distributions::spec::{build_bijector_in, build_distribution, parse_kind, tensor_from_json, tensor_to_json};

fn distribution_case(case: &Map<String, Value>, kind: Kind) -> Result<Value> {
    let mut vs = nn::VarStore::new(Device::Cpu);
    vs.set_kind(kind);
    let spec = case.get("distribution").ok_or_else(|| anyhow!("case needs \"distribution\""))?;
    let d = build_distribution(&vs.root(), spec, kind)?;
    let mut out = json!({
        "description": d.to_string(),
        "batch_shape": d.batch_shape(),
        "event_shape": d.event_shape(),
    });
    // The closed-form methods: a value, or the error a family gives for a method it lacks.
    let methods: [(&str, anyhow::Result<Tensor>); 5] = [
        ("mean", d.mean()),
        ("variance", d.variance()),
        ("stddev", d.stddev()),
        ("mode", d.mode()),
        ("entropy", d.entropy()),
    ];
    for (key, value) in methods {
        match value {
            Ok(m) => out[key] = tensor_to_json(&m),
            Err(e) => out[format!("{key}_error")] = json!(format!("{e:#}")),
        }
    }
    let vars = d.trainable_variables();
    let mut raw = Map::new();
    for (name, t) in &vars {
        raw.insert(name.clone(), tensor_to_json(t));
    }
    out["variables"] = Value::Object(raw);
    if let Some(x) = case.get("x") {
        // Categorical values are integer indices.
        let value_kind = if d.dtype() == Kind::Int64 { Kind::Int64 } else { kind };
        let x = tensor_from_json(x, value_kind, Device::Cpu)?;
        let lp = d.log_prob(&x)?;
        out["log_prob"] = tensor_to_json(&lp);
        for (key, value) in [("cdf", d.cdf(&x)), ("log_cdf", d.log_cdf(&x))] {
            match value {
                Ok(c) => out[key] = tensor_to_json(&c),
                Err(e) => out[format!("{key}_error")] = json!(format!("{e:#}")),
            }
        }
        if !vars.is_empty() {
            let inputs: Vec<&Tensor> = vars.iter().map(|(_, t)| t).collect();
            let grads = Tensor::run_backward(&[lp.sum(kind)], &inputs, false, false);
            let mut g = Map::new();
            for ((name, _), grad) in vars.iter().zip(grads) {
                g.insert(name.clone(), tensor_to_json(&grad));
            }
            out["grads"] = Value::Object(g);
        }
    }
    if let Some(u) = case.get("u") {
        // Probabilities for the quantile function.
        match d.icdf(&tensor_from_json(u, kind, Device::Cpu)?) {
            Ok(q) => out["icdf"] = tensor_to_json(&q),
            Err(e) => out["icdf_error"] = json!(format!("{e:#}")),
        }
    }
    if let Some(shape) = case.get("sample_shape") {
        let shape: Vec<i64> = serde_json::from_value(shape.clone()).context("\"sample_shape\"")?;
        tch::manual_seed(case.get("seed").and_then(Value::as_i64).unwrap_or(0));
        let s = d.sample(&shape)?.to_kind(Kind::Double);
        let dims: Vec<i64> = (0..shape.len() as i64).collect();
        out["sample_shape_out"] = json!(s.size());
        out["sample_count"] = json!(shape.iter().product::<i64>());
        out["sample_mean"] = tensor_to_json(&s.mean_dim(dims.as_slice(), false, Kind::Double));
        out["sample_var"] = tensor_to_json(&s.var_dim(dims.as_slice(), true, false));
        let centred = &s - s.mean_dim(dims.as_slice(), true, Kind::Double);
        out["sample_m4"] = tensor_to_json(&centred.pow_tensor_scalar(4).mean_dim(dims.as_slice(), false, Kind::Double));
    }
    Ok(out)
}

fn kl_case(case: &Map<String, Value>, kind: Kind) -> Result<Value> {
    let mut vs = nn::VarStore::new(Device::Cpu);
    vs.set_kind(kind);
    let spec = |key: &str| case.get(key).ok_or_else(|| anyhow!("case needs \"{key}\""));
    let p = build_distribution(&(vs.root() / "p"), spec("p")?, kind)?;
    let q = build_distribution(&(vs.root() / "q"), spec("q")?, kind)?;
    let kl = kl_divergence(p.as_ref(), q.as_ref())?;
    let mut out = json!({"kl": tensor_to_json(&kl)});
    // Full VarStore names: "p.loc", "q.loc", ...
    let vars: Vec<(String, Tensor)> = p.trainable_variables().into_iter().chain(q.trainable_variables()).collect();
    let (mut raw, mut grads) = (Map::new(), Map::new());
    for (name, t) in &vars {
        raw.insert(name.clone(), tensor_to_json(t));
    }
    if !vars.is_empty() {
        let inputs: Vec<&Tensor> = vars.iter().map(|(_, t)| t).collect();
        let total = kl.where_scalarother(&kl.isfinite(), 0.0).sum(kind);
        let g = if total.requires_grad() {
            Tensor::f_run_backward(&[total], &inputs, false, false).map_err(|e| anyhow!("kl gradients: {e}"))?
        } else {
            vec![]
        };
        for (i, (name, t)) in vars.iter().enumerate() {
            let grad = g.get(i).filter(|g| g.defined()).map(|g| g.shallow_clone()).unwrap_or_else(|| t.zeros_like());
            grads.insert(name.clone(), tensor_to_json(&grad));
        }
    }
    out["variables"] = Value::Object(raw);
    out["grads"] = Value::Object(grads);
    Ok(out)
}

/// The gradients of `sum(value)` with respect to every variable (zeros for one it does not use).
fn grads_of(value: &Tensor, vars: &[(String, Tensor)]) -> Map<String, Value> {
    let mut out = Map::new();
    if vars.is_empty() {
        return out;
    }
    let inputs: Vec<&Tensor> = vars.iter().map(|(_, t)| t).collect();
    // `0 * sum(v)` for every variable, so that one the value does not use gets a zero gradient
    // instead of an autograd error.
    let total = inputs.iter().fold(value.sum(value.kind()), |acc, t| acc + t.sum(t.kind()).to_kind(value.kind()) * 0.0);
    for ((name, _), g) in vars.iter().zip(Tensor::run_backward(&[total], &inputs, true, false)) {
        out.insert(name.clone(), tensor_to_json(&g));
    }
    out
}

/// Overwrites the variables named in the case's `"set_variables": {name: T}` (in place, so the
/// bijector sees the new values); errors for an unknown name or a wrong shape.
fn set_variables(case: &Map<String, Value>, vars: &[(String, Tensor)], kind: Kind) -> Result<()> {
    let Some(set) = case.get("set_variables") else { return Ok(()) };
    let set = set.as_object().ok_or_else(|| anyhow!("\"set_variables\" must be an object {{name: tensor}}"))?;
    for (name, value) in set {
        let (_, var) = vars.iter().find(|(n, _)| n == name).ok_or_else(|| {
            let known: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
            anyhow!("set_variables: no trainable variable {name:?} (the bijector has {known:?})")
        })?;
        let t = tensor_from_json(value, kind, Device::Cpu)?;
        if t.size() != var.size() {
            bail!("set_variables: {name:?} has shape {:?}, got a value of shape {:?}", var.size(), t.size());
        }
        tch::no_grad(|| var.shallow_clone().copy_(&t));
    }
    Ok(())
}

fn bijector_case(case: &Map<String, Value>, kind: Kind) -> Result<Value> {
    let mut vs = nn::VarStore::new(Device::Cpu);
    vs.set_kind(kind);
    let spec = case.get("bijector").ok_or_else(|| anyhow!("case needs \"bijector\""))?;
    tch::manual_seed(case.get("seed").and_then(Value::as_i64).unwrap_or(0));
    let b = build_bijector_in(&vs.root(), spec, kind)?;
    let vars = b.trainable_variables();
    set_variables(case, &vars, kind)?;
    let mut out = json!({
        "name": b.name(),
        "forward_min_event_ndims": b.forward_min_event_ndims(),
        "inverse_min_event_ndims": b.inverse_min_event_ndims(),
        "variables": Value::Object(vars.iter().map(|(n, t)| (n.clone(), tensor_to_json(t))).collect()),
    });
    let mut grads = Map::new();
    if let Some(x) = case.get("x") {
        let x = tensor_from_json(x, kind, Device::Cpu)?;
        let y = b.forward(&x)?;
        let (xs, ys) = (x.size(), y.size());
        let event = &xs[xs.len().saturating_sub(b.forward_min_event_ndims())..];
        out["forward_event_shape"] = json!(b.forward_event_shape(event)?);
        out["forward_event_shape_actual"] = json!(ys[ys.len().saturating_sub(b.inverse_min_event_ndims())..].to_vec());
        out["forward"] = tensor_to_json(&y);
        grads.insert("forward".into(), Value::Object(grads_of(&y, &vars)));
        record(&mut out, &mut grads, "fldj", b.forward_log_det_jacobian(&x), &vars);
    }
    if let Some(y) = case.get("y") {
        let y = tensor_from_json(y, kind, Device::Cpu)?;
        record(&mut out, &mut grads, "inverse", b.inverse(&y), &vars);
        record(&mut out, &mut grads, "ildj", b.inverse_log_det_jacobian(&y), &vars);
    }
    out["grads"] = Value::Object(grads);
    Ok(out)
}

/// `out[key]` and its gradients, or `out["{key}_error"]` when the method errors (a map that is
/// not a bijection, as Abs, has no inverse or log-det; the parity script checks either).
fn record(
    out: &mut Value,
    grads: &mut Map<String, Value>,
    key: &str,
    value: Result<Tensor>,
    vars: &[(String, Tensor)],
) {
    match value {
        Ok(t) => {
            out[key] = tensor_to_json(&t);
            grads.insert(key.into(), Value::Object(grads_of(&t, vars)));
        }
        Err(e) => out[format!("{key}_error")] = json!(format!("{e:#}")),
    }
}

fn run_case(case: &Value) -> Result<Value> {
    let case = case.as_object().ok_or_else(|| anyhow!("a case must be an object"))?;
    let kind = parse_kind(case.get("dtype").and_then(Value::as_str).unwrap_or("float32"))?;
    match case.get("kind").and_then(Value::as_str) {
        Some("distribution") => distribution_case(case, kind),
        Some("bijector") => bijector_case(case, kind),
        Some("kl") => kl_case(case, kind),
        other => bail!("unknown case kind {other:?} (expected \"distribution\", \"bijector\" or \"kl\")"),
    }
}

fn main() -> Result<()> {
    let mut text = String::new();
    match std::env::args().nth(1) {
        Some(path) => text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
        None => {
            std::io::stdin().read_to_string(&mut text)?;
        }
    }
    let request: Value = serde_json::from_str(&text).context("request is not valid JSON")?;
    let cases = request["cases"].as_array().ok_or_else(|| anyhow!("request needs a \"cases\" list"))?;
    let results: Vec<Value> = cases
        .iter()
        .map(|case| {
            let id = case.get("id").cloned().unwrap_or(Value::Null);
            let mut r = run_case(case).unwrap_or_else(|e| json!({"error": format!("{e:#}")}));
            r["id"] = id;
            r
        })
        .collect();
    println!("{}", json!({"results": results}));
    Ok(())
}
