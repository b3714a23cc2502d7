//! A table of bad inputs walked through the public API: each must give an `Err` naming the
//! operation (never a panic, never an `Ok`). Prints the count tried / clean errors / panics.

#![allow(clippy::arc_with_non_send_sync)]

use serde_json::json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::bijectors::{Bijector, FillScaleTriL, FillTriangular, Softplus};
use tch_distributions::distributions::*;
use tch_distributions::training::{fit, FitOptions};
use tch_distributions::{checkpoint, saved, seed_models, spec, Parameter, TransformedVariable};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

fn f(v: &[f32]) -> Tensor {
    Tensor::from_slice(v)
}

fn mvn() -> Independent {
    Independent::new(Normal::new(Tensor::zeros([4], F32), Tensor::ones([4], F32)).unwrap(), 1).unwrap()
}

type Case = (&'static str, &'static str, Box<dyn Fn() -> anyhow::Result<()>>);

fn cases(dir: &std::path::Path) -> Vec<Case> {
    let ckpt = dir.join("model.safetensors");
    let truncated = dir.join("truncated.safetensors");
    {
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = Parameter::variable(&vs.root(), "loc", &Tensor::zeros([4], F32)).unwrap();
        checkpoint::save(&vs, &ckpt).unwrap();
        let bytes = std::fs::read(&ckpt).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    }
    let c2 = ckpt.clone();
    vec![
        (
            "wrong event size",
            "Independent.log_prob",
            Box::new(|| mvn().log_prob(&Tensor::zeros([10, 3], F32)).map(drop)),
        ),
        ("rank too low", "Independent.log_prob", Box::new(|| mvn().log_prob(&Tensor::zeros([], F32)).map(drop))),
        (
            "batch does not broadcast",
            "Normal.log_prob",
            Box::new(|| {
                Normal::new(Tensor::zeros([3], F32), Tensor::ones([3], F32))?
                    .log_prob(&Tensor::zeros([4], F32))
                    .map(drop)
            }),
        ),
        (
            "integer values",
            "Normal.log_prob",
            Box::new(|| Normal::new(f(&[0.0]), f(&[1.0]))?.log_prob(&Tensor::from_slice(&[1i64])).map(drop)),
        ),
        (
            "float64 values for a float32 model",
            "Independent.log_prob",
            Box::new(|| mvn().log_prob(&Tensor::zeros([2, 4], (Kind::Double, Device::Cpu))).map(drop)),
        ),
        (
            "integer parameters",
            "Normal::new",
            Box::new(|| Normal::new(Tensor::from_slice(&[1i64]), f(&[1.0])).map(drop)),
        ),
        (
            "mixed parameter dtypes",
            "Normal::new",
            Box::new(|| Normal::new(f(&[0.0]), Tensor::from_slice(&[1.0f64])).map(drop)),
        ),
        (
            "parameter shapes do not broadcast",
            "Normal::new",
            Box::new(|| Normal::new(f(&[0.0, 1.0, 2.0]), f(&[1.0, 2.0])).map(drop)),
        ),
        (
            "NaN data, validation on",
            "Normal.log_prob",
            Box::new(|| {
                Normal::new(f(&[0.0]), f(&[1.0]))?.with_validate_args(true).log_prob(&f(&[f32::NAN])).map(drop)
            }),
        ),
        (
            "zero scale, validation on",
            "Normal.log_prob",
            Box::new(|| Normal::new(f(&[0.0]), f(&[0.0]))?.with_validate_args(true).log_prob(&f(&[1.0])).map(drop)),
        ),
        (
            "negative scale, validation on",
            "Normal.sample",
            Box::new(|| Normal::new(f(&[0.0]), f(&[-1.0]))?.with_validate_args(true).sample(&[2]).map(drop)),
        ),
        (
            "negative sample shape",
            "MixtureSameFamily",
            Box::new(|| {
                MixtureSameFamily::new(Categorical::new(f(&[0.0, 0.0]))?, Normal::new(f(&[0.0, 1.0]), f(&[1.0, 1.0]))?)?
                    .sample(&[-1])
                    .map(drop)
            }),
        ),
        (
            "non-triangular vector length",
            "FillTriangular.forward",
            Box::new(|| FillTriangular::lower().forward(&Tensor::zeros([5], F32)).map(drop)),
        ),
        (
            "non-triangular length in FillScaleTriL",
            "fill_scale_tril.forward",
            Box::new(|| FillScaleTriL::default().forward(&Tensor::zeros([2, 7], F32)).map(drop)),
        ),
        (
            "non-square matrix to FillTriangular.inverse",
            "FillTriangular.inverse",
            Box::new(|| FillTriangular::lower().inverse(&Tensor::zeros([3, 4], F32)).map(drop)),
        ),
        (
            "integer input to a bijector",
            "softplus.forward",
            Box::new(|| Softplus.forward(&Tensor::from_slice(&[1i64])).map(drop)),
        ),
        (
            "non-positive-definite covariance",
            "MultivariateNormal::from_covariance",
            Box::new(|| {
                MultivariateNormal::from_covariance(Tensor::zeros([2], F32), f(&[1.0, 2.0, 2.0, 1.0]).reshape([2, 2]))
                    .map(drop)
            }),
        ),
        (
            "scale_tril of the wrong size",
            "MultivariateNormalTriL::new",
            Box::new(|| MultivariateNormalTriL::new(Tensor::zeros([3], F32), Tensor::eye(4, F32)).map(drop)),
        ),
        (
            "mixture of the wrong number of components",
            "MixtureSameFamily::new",
            Box::new(|| {
                MixtureSameFamily::new(
                    Categorical::new(f(&[0.0, 0.0, 0.0]))?,
                    Normal::new(f(&[0.0, 1.0]), f(&[1.0, 1.0]))?,
                )
                .map(drop)
            }),
        ),
        (
            "categorical index of float dtype",
            "Categorical.log_prob",
            Box::new(|| Categorical::new(f(&[0.0, 0.0]))?.log_prob(&f(&[1.0])).map(drop)),
        ),
        (
            "Independent over too many dimensions",
            "Independent::new",
            Box::new(|| Independent::new(Normal::new(f(&[0.0]), f(&[1.0]))?, 2).map(drop)),
        ),
        (
            "duplicate variable name",
            "Parameter::variable",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                let _a = Parameter::variable(&vs.root(), "loc", &f(&[0.0]))?;
                Parameter::variable(&vs.root(), "loc", &f(&[0.0])).map(drop)
            }),
        ),
        (
            "initial value outside the bijector's range",
            "TransformedVariable::new",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                TransformedVariable::new(&vs.root(), "scale", &f(&[-1.0]), Softplus).map(drop)
            }),
        ),
        (
            "malformed JSON",
            "spec",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                spec::build_distribution(
                    &vs.root(),
                    &json!({"type": "Normal", "loc": [[1, 2], [3]], "scale": 1.0}),
                    Kind::Float,
                )
                .map(drop)
            }),
        ),
        (
            "unknown distribution in JSON",
            "spec",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                spec::build_distribution(&vs.root(), &json!({"type": "Gompertz"}), Kind::Float).map(drop)
            }),
        ),
        (
            "checkpoint of another structure",
            "checkpoint::load",
            Box::new(move || {
                let mut vs = nn::VarStore::new(Device::Cpu);
                let _ = Parameter::variable(&vs.root(), "loc", &Tensor::zeros([3], F32))?;
                checkpoint::load(&mut vs, &c2)
            }),
        ),
        (
            "truncated checkpoint",
            "checkpoint::load",
            Box::new(move || {
                let mut vs = nn::VarStore::new(Device::Cpu);
                let _ = Parameter::variable(&vs.root(), "loc", &Tensor::zeros([4], F32))?;
                checkpoint::load(&mut vs, &truncated)
            }),
        ),
        (
            "KL of families without a closed form",
            "kl_divergence",
            Box::new(|| {
                let m = MixtureSameFamily::new(
                    Categorical::new(f(&[0.0, 0.0]))?,
                    Normal::new(f(&[0.0, 1.0]), f(&[1.0, 1.0]))?,
                )?;
                tch_distributions::kl::kl_divergence(&m, &m).map(drop)
            }),
        ),
        (
            "method without a closed form",
            "StudentT.cdf: not implemented for StudentT",
            Box::new(|| StudentT::new(f(&[3.0]), f(&[0.0]), f(&[1.0]))?.cdf(&f(&[1.0])).map(drop)),
        ),
        (
            "a vector to a Chain whose member needs matrices",
            "transform_diagonal",
            Box::new(|| {
                let td = tch_distributions::bijectors::TransformDiagonal::new(Arc::new(Softplus));
                let c = tch_distributions::bijectors::Chain::new(vec![Arc::new(td)]);
                c.forward(&Tensor::zeros([4], F32)).map(drop)
            }),
        ),
    ]
}

/// A saved learnable_mvn_diag (K = 3, d = `d`) in `dir`; gives the parameters file's path.
fn save_seed_model(dir: &std::path::Path, d: i64) -> std::path::PathBuf {
    let s = seed_models::spec("learnable_mvn_diag", 3, d).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = spec::build_distribution(&vs.root(), &s, Kind::Float).unwrap();
    saved::save(dir, &s, Kind::Float, &vs).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("model.json")).unwrap()).unwrap();
    dir.join(json["parameters_file"].as_str().unwrap())
}

/// Fits a standard 4-D Gaussian model to `x` for a few steps.
fn fit_mvn(x: Tensor, opts: FitOptions) -> anyhow::Result<()> {
    let vs = nn::VarStore::new(Device::Cpu);
    let s = seed_models::spec("learnable_mvn_diag", 3, 4)?;
    let d = spec::build_distribution(&vs.root(), &s, Kind::Float)?;
    fit(&vs, d.as_ref(), &x, None, &opts, |_| {}).map(drop)
}

/// Bad saved directories, bad training data and options, and (where CUDA is available) tensors
/// on different devices.
fn more_cases(dir: &std::path::Path) -> Vec<Case> {
    let (other, truncated, malformed) = (dir.join("other"), dir.join("truncated"), dir.join("malformed"));
    let other_params = save_seed_model(&other, 4);
    let wrong = save_seed_model(&dir.join("d3"), 3);
    std::fs::copy(&wrong, &other_params).unwrap();
    let truncated_params = save_seed_model(&truncated, 4);
    let bytes = std::fs::read(&truncated_params).unwrap();
    std::fs::write(&truncated_params, &bytes[..bytes.len() / 2]).unwrap();
    save_seed_model(&malformed, 4);
    std::fs::write(malformed.join("model.json"), b"{\"format\": \"tch-distributions/saved-model\", ").unwrap();
    let nan_data = Tensor::randn([20, 4], F32);
    let _ = nan_data.get(3).get(1).fill_(f64::INFINITY);
    let nan_data = std::sync::Mutex::new(nan_data);
    let mut v: Vec<Case> = vec![
        (
            "saved parameters of another structure",
            "saved::load",
            Box::new(move || saved::load(&other, Device::Cpu).map(drop)),
        ),
        ("truncated saved parameters", "saved::load", Box::new(move || saved::load(&truncated, Device::Cpu).map(drop))),
        ("malformed model.json", "saved::load", Box::new(move || saved::load(&malformed, Device::Cpu).map(drop))),
        (
            "missing saved directory",
            "saved::load",
            Box::new(|| saved::load(std::env::temp_dir().join("tchd-no-such-dir"), Device::Cpu).map(drop)),
        ),
        (
            "unknown seed model",
            "seed_models::spec",
            Box::new(|| seed_models::spec("learnable_gompertz", 3, 4).map(drop)),
        ),
        (
            "empty training data",
            "training::fit",
            Box::new(|| fit_mvn(Tensor::zeros([0, 4], F32), FitOptions::default())),
        ),
        (
            "infinite training data",
            "training::fit",
            Box::new(move || fit_mvn(nan_data.lock().unwrap().shallow_clone(), FitOptions::default())),
        ),
        (
            "training data of the wrong event size",
            "training::fit",
            Box::new(|| fit_mvn(Tensor::zeros([10, 3], F32), FitOptions::default())),
        ),
        (
            "learning rate zero",
            "training::fit",
            Box::new(|| fit_mvn(Tensor::zeros([10, 4], F32), FitOptions { lr: 0.0, ..FitOptions::default() })),
        ),
    ];
    if tch::Cuda::is_available() {
        let gpu = Device::Cuda(0);
        v.push((
            "parameters on different devices",
            "Normal::new",
            Box::new(move || Normal::new(Tensor::zeros([4], F32), Tensor::ones([4], (Kind::Float, gpu))).map(drop)),
        ));
        v.push((
            "values on another device than the model",
            "Independent.log_prob",
            Box::new(move || mvn().log_prob(&Tensor::zeros([10, 4], (Kind::Float, gpu))).map(drop)),
        ));
        v.push((
            "training data on another device",
            "training::fit",
            Box::new(move || fit_mvn(Tensor::zeros([10, 4], (Kind::Float, gpu)), FitOptions::default())),
        ));
    } else {
        println!("CUDA not available: the three mismatched-device cases are skipped");
    }
    v
}

/// Learnable bijectors and flows: mismatched networks, event sizes, splits, permutations, knots
/// and checkpoints.
fn flow_cases(dir: &std::path::Path) -> Vec<Case> {
    use tch_distributions::bijectors::{MaskedAutoregressiveFlow, Permute, RationalQuadraticSpline, RealNvp, Shift};
    use tch_distributions::flow_models;
    use tch_distributions::networks::{AutoregressiveNetwork, MadeConfig, Mlp, MlpConfig};
    let made = |params: i64, d: i64| {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = AutoregressiveNetwork::new(&vs.root(), &MadeConfig::new(params, d, vec![8]));
        (vs, net)
    };
    let mlp = |input: i64, output: i64| {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = Mlp::new(&vs.root(), &MlpConfig::new(input, output, vec![8]));
        (vs, net)
    };
    // a saved MAF whose model.json then claims a wider network than its parameters file holds
    let mismatched = dir.join("flow-mismatched");
    {
        let opts = flow_models::FlowOptions { layers: 1, hidden: vec![8], ..Default::default() };
        let json = flow_models::spec("maf", 2, &opts).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        spec::build_distribution(&vs.root(), &json, Kind::Float).unwrap();
        saved::save(&mismatched, &json, Kind::Float, &vs).unwrap();
        let file = mismatched.join("model.json");
        let mut model: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let layer = &mut model["distribution"]["bijector"]["bijectors"][0];
        assert_eq!(layer["name"], "layer0");
        layer["network"]["hidden_units"] = json!([16]);
        std::fs::write(&file, model.to_string()).unwrap();
    }
    vec![
        (
            "MADE output does not fit the affine transform",
            "MaskedAutoregressiveFlow::new",
            Box::new(move || MaskedAutoregressiveFlow::new(made(3, 2).1?).map(drop)),
        ),
        (
            "wrong event size for a MAF",
            "masked_autoregressive_flow.inverse",
            Box::new(move || {
                MaskedAutoregressiveFlow::new(made(2, 3).1?)?.inverse(&Tensor::zeros([5, 2], F32)).map(drop)
            }),
        ),
        (
            "float64 values for a float32 MAF",
            "masked_autoregressive_flow.forward",
            Box::new(move || {
                MaskedAutoregressiveFlow::new(made(2, 2).1?)?
                    .forward(&Tensor::zeros([2], (Kind::Double, Device::Cpu)))
                    .map(drop)
            }),
        ),
        (
            "coupling with nothing to transform",
            "RealNVP::new",
            Box::new(move || RealNvp::new(3, 3, mlp(3, 2).1?).map(drop)),
        ),
        ("coupling with nothing masked", "RealNVP::new", Box::new(move || RealNvp::new(3, 0, mlp(1, 4).1?).map(drop))),
        ("conditioner of the wrong size", "RealNVP::new", Box::new(move || RealNvp::new(4, 2, mlp(2, 5).1?).map(drop))),
        (
            "input of the wrong size for an MLP",
            "Mlp.forward",
            Box::new(move || mlp(3, 2).1?.forward(&Tensor::zeros([4, 2], F32), None).map(drop)),
        ),
        (
            "input of the wrong size for a MADE",
            "AutoregressiveNetwork.forward",
            Box::new(move || made(2, 3).1?.forward(&Tensor::zeros([3, 4], F32), None).map(drop)),
        ),
        ("not a permutation", "Permute::new", Box::new(|| Permute::new(vec![0, 2, 2]).map(drop))),
        (
            "permutation of the wrong size",
            "permute.forward",
            Box::new(|| Permute::reverse(3)?.forward(&Tensor::zeros([2], F32)).map(drop)),
        ),
        (
            "knot slopes of the wrong length",
            "RationalQuadraticSpline::new",
            Box::new(|| {
                RationalQuadraticSpline::new(
                    Tensor::ones([3], F32),
                    Tensor::ones([3], F32),
                    Tensor::ones([4], F32),
                    Tensor::zeros([], F32),
                )
                .map(drop)
            }),
        ),
        (
            "a learnable shift of another dtype than the input",
            "shift.forward",
            Box::new(|| {
                let vs = nn::VarStore::new(Device::Cpu);
                let shift = Shift::new(Parameter::variable(&vs.root(), "shift", &Tensor::zeros([2], F32))?);
                shift.forward(&Tensor::zeros([2], (Kind::Double, Device::Cpu))).map(drop)
            }),
        ),
        (
            "a flow described without a VarStore",
            "MaskedAutoregressiveFlow",
            Box::new(|| {
                let j = json!({"type": "MaskedAutoregressiveFlow", "network": {"event_size": 2, "hidden_units": [4]}});
                spec::build_bijector(&j, Kind::Float, Device::Cpu).map(drop)
            }),
        ),
        (
            "RealNVP on one coordinate",
            "flow_models::spec",
            Box::new(|| flow_models::spec("realnvp", 1, &Default::default()).map(drop)),
        ),
        ("unknown flow", "flow_models::spec", Box::new(|| flow_models::spec("glow", 2, &Default::default()).map(drop))),
        (
            "saved flow whose network size does not match its parameters",
            "saved::load",
            Box::new(move || saved::load(&mismatched, Device::Cpu).map(drop)),
        ),
    ]
}

/// The families declared with a `FamilySpec`: an integer parameter, a parameter outside its
/// constraint and a value outside the support (validation on), each an error naming the family,
/// the parameter (or the value) and what came.
fn family_cases() -> Vec<Case> {
    let i = || Tensor::from_slice(&[1i64]);
    let neg = || f(&[-1.0]);
    let one = || f(&[1.0]);
    vec![
        ("Exponential int rate", "Exponential::new: expected rate of dtype float32 or float64, got int64",
         Box::new(move || Exponential::new(i()).map(drop))),
        ("Exponential negative rate", "Exponential.log_prob: expected rate > 0, got rate with minimum -1",
         Box::new(move || Exponential::new(neg())?.with_validate_args(true).log_prob(&one()).map(drop))),
        ("Exponential negative value", "Exponential.log_prob: expected a value >= 0, got value with minimum -1",
         Box::new(move || Exponential::new(one())?.with_validate_args(true).log_prob(&neg()).map(drop))),
        ("HalfNormal int scale", "HalfNormal::new: expected scale of dtype float32 or float64, got int64",
         Box::new(move || HalfNormal::new(i()).map(drop))),
        ("HalfNormal negative scale", "HalfNormal.sample: expected scale > 0, got scale with minimum -1",
         Box::new(move || HalfNormal::new(neg())?.with_validate_args(true).sample(&[2]).map(drop))),
        ("Cauchy mixed dtypes", "Cauchy::new: loc is float32 but scale is float64",
         Box::new(move || Cauchy::new(one(), Tensor::from_slice(&[1.0f64])).map(drop))),
        ("Cauchy negative scale", "Cauchy.icdf: expected scale > 0, got scale with minimum -1",
         Box::new(move || Cauchy::new(one(), neg())?.with_validate_args(true).icdf(&f(&[0.5])).map(drop))),
        ("HalfCauchy negative value", "HalfCauchy.cdf: expected a value >= 0, got value with minimum -1",
         Box::new(move || HalfCauchy::new(one())?.with_validate_args(true).cdf(&neg()).map(drop))),
        ("Gumbel shapes", "Gumbel::new",
         Box::new(move || Gumbel::new(f(&[0.0, 1.0, 2.0]), f(&[1.0, 2.0])).map(drop))),
        ("Gumbel NaN value", "Gumbel.log_prob: expected a value without NaN, got value containing NaN",
         Box::new(move || Gumbel::new(one(), one())?.with_validate_args(true).log_prob(&f(&[f32::NAN])).map(drop))),
        ("GeneralizedNormal negative power", "GeneralizedNormal.log_prob: expected power > 0, got power with minimum -1",
         Box::new(move || GeneralizedNormal::new(one(), one(), neg())?.with_validate_args(true).log_prob(&one()).map(drop))),
        ("GeneralizedNormal has no icdf", "GeneralizedNormal.icdf: not implemented for GeneralizedNormal",
         Box::new(move || GeneralizedNormal::new(one(), one(), one())?.icdf(&f(&[0.5])).map(drop))),
        ("TruncatedNormal low above high", "TruncatedNormal.log_prob: expected low < high",
         Box::new(move || TruncatedNormal::new(one(), one(), f(&[2.0]), f(&[1.0]))?.with_validate_args(true).log_prob(&f(&[1.5])).map(drop))),
        ("TruncatedNormal negative scale", "TruncatedNormal.sample: expected scale > 0, got scale with minimum -1",
         Box::new(move || TruncatedNormal::new(one(), neg(), f(&[0.0]), f(&[2.0]))?.with_validate_args(true).sample(&[2]).map(drop))),
        ("Logistic shapes", "Logistic::new",
         Box::new(move || Logistic::new(f(&[0.0, 1.0, 2.0]), f(&[1.0, 2.0])).map(drop))),
        ("Logistic negative scale", "Logistic.cdf: expected scale > 0, got scale with minimum -1",
         Box::new(move || Logistic::new(one(), neg())?.with_validate_args(true).cdf(&f(&[0.5])).map(drop))),
        ("Logistic icdf outside [0, 1]", "Logistic.icdf: expected a probability in [0, 1], got probability with minimum 1.5",
         Box::new(move || Logistic::new(one(), one())?.with_validate_args(true).icdf(&f(&[1.5])).map(drop))),
        ("LowRankMultivariateNormal factor rows", "LowRankMultivariateNormal::new: expected cov_factor of shape [..., 2, r] to match loc [2], got [3, 1]",
         Box::new(move || LowRankMultivariateNormal::new(f(&[0.0, 0.0]), f(&[1.0, 1.0, 1.0]).reshape([3, 1]), f(&[1.0, 1.0])).map(drop))),
        ("LowRankMultivariateNormal factor rank", "LowRankMultivariateNormal::new: expected cov_factor of rank >= 2, got shape [2]",
         Box::new(move || LowRankMultivariateNormal::new(f(&[0.0, 0.0]), f(&[1.0, 1.0]), f(&[1.0, 1.0])).map(drop))),
        ("LowRankMultivariateNormal negative diagonal", "LowRankMultivariateNormal.log_prob: expected cov_diag > 0, got cov_diag with minimum -1",
         Box::new(move || LowRankMultivariateNormal::new(f(&[0.0, 0.0]), f(&[1.0, 1.0]).reshape([2, 1]), f(&[1.0, -1.0]))?
             .with_validate_args(true).log_prob(&f(&[0.0, 0.0])).map(drop))),
        ("LowRankMultivariateNormal value size", "LowRankMultivariateNormal.log_prob",
         Box::new(move || LowRankMultivariateNormal::new(f(&[0.0, 0.0]), f(&[1.0, 1.0]).reshape([2, 1]), f(&[1.0, 1.0]))?
             .log_prob(&f(&[0.0, 0.0, 0.0])).map(drop))),
        ("Multinomial count not an integer", "Multinomial.mean: expected total_count that is a non-negative integer, got total_count with minimum 1.5",
         Box::new(move || Multinomial::new(f(&[1.5]), f(&[0.0, 0.0]).reshape([1, 2]))?.with_validate_args(true).mean().map(drop))),
        ("Multinomial counts not summing to total_count", "Multinomial.log_prob: expected a value of non-negative integers summing to total_count",
         Box::new(move || Multinomial::new(f(&[3.0]), f(&[0.0, 0.0]).reshape([1, 2]))?.with_validate_args(true).log_prob(&f(&[1.0, 1.0]).reshape([1, 2])).map(drop))),
        ("Multinomial total_count of another dtype", "Multinomial::new: expected total_count of the probabilities' dtype and device",
         Box::new(move || Multinomial::new(Tensor::from_slice(&[3.0f64]), f(&[0.0, 0.0])).map(drop))),
        ("Multinomial batch shapes", "Multinomial::new",
         Box::new(move || Multinomial::new(f(&[3.0, 2.0, 1.0]), f(&[0.0, 0.0, 0.0, 0.0]).reshape([2, 2])).map(drop))),
        ("RelaxedOneHotCategorical negative temperature", "RelaxedOneHotCategorical.rsample: expected temperature > 0, got temperature with minimum -1",
         Box::new(move || RelaxedOneHotCategorical::new(neg(), f(&[0.0, 0.0]))?.with_validate_args(true).rsample(&[2]).map(drop))),
        ("RelaxedOneHotCategorical value off the simplex", "RelaxedOneHotCategorical.log_prob: expected a value on the simplex",
         Box::new(move || RelaxedOneHotCategorical::new(one(), f(&[0.0, 0.0]))?.with_validate_args(true).log_prob(&f(&[0.5, 0.6])).map(drop))),
        ("RelaxedOneHotCategorical empty logits", "RelaxedOneHotCategorical::new: expected parameters of shape batch_shape + [K] with K >= 1",
         Box::new(move || RelaxedOneHotCategorical::new(one(), f(&[1.0]).reshape([1, 1]).narrow(1, 0, 0)).map(drop))),
        ("LKJCholesky dim 1", "LKJCholesky::new: expected dim >= 2, got 1",
         Box::new(move || LkjCholesky::new(1, one()).map(drop))),
        ("LKJCholesky negative concentration", "LKJCholesky.sample: expected concentration > 0, got concentration with minimum -1",
         Box::new(move || LkjCholesky::new(3, neg())?.with_validate_args(true).sample(&[2]).map(drop))),
        ("LKJCholesky value not a correlation factor", "LKJCholesky.log_prob: expected a value with a positive diagonal and rows of unit norm",
         Box::new(move || LkjCholesky::new(2, one())?.with_validate_args(true).log_prob(&(Tensor::eye(2, F32) * 2.0)).map(drop))),
        ("LKJCholesky value size", "LKJCholesky.log_prob",
         Box::new(move || LkjCholesky::new(2, one())?.log_prob(&Tensor::eye(3, F32)).map(drop))),
        ("Wishart df too small", "Wishart.mean: expected df > 2 (d - 1), got df with minimum 1",
         Box::new(move || Wishart::from_scale_tril(one(), Tensor::eye(3, F32))?.with_validate_args(true).mean().map(drop))),
        ("Wishart covariance not positive definite", "Wishart::from_covariance: the covariance is not positive definite",
         Box::new(move || Wishart::from_covariance(f(&[5.0]), -Tensor::eye(2, F32)).map(drop))),
        ("Wishart scale_tril with a zero diagonal", "Wishart::from_scale_tril: expected scale_tril with a positive diagonal",
         Box::new(move || Wishart::from_scale_tril(f(&[5.0]), Tensor::zeros([2, 2], F32)).map(drop))),
        ("Wishart non-square matrix", "Wishart::from_precision: expected precision_matrix of shape [..., d, d] with d >= 1, got [2, 3]",
         Box::new(move || Wishart::from_precision(f(&[5.0]), Tensor::zeros([2, 3], F32)).map(drop))),
        ("LogisticNormal shapes", "LogisticNormal::new",
         Box::new(move || LogisticNormal::new(f(&[0.0, 1.0, 2.0]), f(&[1.0, 2.0])).map(drop))),
        ("MultivariateStudentT negative df", "MultivariateStudentT.sample: expected df > 0, got df with minimum -1",
         Box::new(move || MultivariateStudentT::new(neg(), f(&[0.0, 0.0]), f(&[1.0, 0.0, 0.0, 1.0]).reshape([2, 2]))?
             .with_validate_args(true).sample(&[2]).map(drop))),
        ("MultivariateStudentT scale size", "MultivariateStudentT::new: expected scale_tril of shape [..., 2, 2] to match loc [2], got [3, 3]",
         Box::new(move || MultivariateStudentT::new(one(), f(&[0.0, 0.0]), Tensor::eye(3, F32)).map(drop))),
        ("Chi2 negative df", "Chi2.mean: expected df > 0, got df with minimum -1",
         Box::new(move || Chi2::new(neg())?.with_validate_args(true).mean().map(drop))),
        ("Weibull negative concentration", "Weibull.rsample: expected concentration > 0, got concentration with minimum -1",
         Box::new(move || Weibull::new(one(), neg())?.with_validate_args(true).rsample(&[2]).map(drop))),
        ("Pareto value below scale", "Pareto.log_prob: expected a value >= scale, got value with minimum 0.5",
         Box::new(move || Pareto::new(one(), one())?.with_validate_args(true).log_prob(&f(&[0.5])).map(drop))),
        ("Pareto int alpha", "Pareto::new: expected alpha of dtype float32 or float64, got int64",
         Box::new(move || Pareto::new(one(), i()).map(drop))),
        ("Poisson negative rate", "Poisson.sample: expected rate >= 0, got rate with minimum -1",
         Box::new(move || Poisson::new(neg())?.with_validate_args(true).sample(&[2]).map(drop))),
        ("Poisson fractional value", "Poisson.log_prob: expected a value that is a non-negative integer, got value with minimum 0.5",
         Box::new(move || Poisson::new(one())?.with_validate_args(true).log_prob(&f(&[0.5])).map(drop))),
        ("Geometric probs above 1", "Geometric.mean: expected 0 <= probs <= 1, got probs with minimum 1.5",
         Box::new(move || Geometric::from_probs(f(&[1.5]))?.with_validate_args(true).mean().map(drop))),
        ("Geometric int logits", "Geometric::from_logits: expected logits of dtype float32 or float64, got int64",
         Box::new(move || Geometric::from_logits(i()).map(drop))),
        ("Binomial int total_count", "Binomial::from_probs: expected total_count of dtype float32 or float64, got int64",
         Box::new(move || Binomial::from_probs(i(), f(&[0.5])).map(drop))),
        ("Binomial fractional total_count", "Binomial.sample: expected total_count that is a non-negative integer, got total_count with minimum 2.5",
         Box::new(move || Binomial::from_logits(f(&[2.5]), f(&[0.0]))?.with_validate_args(true).sample(&[2]).map(drop))),
        ("Binomial value above total_count", "Binomial.log_prob: expected a value that is an integer in [0, total_count], got value with minimum 4",
         Box::new(move || Binomial::from_probs(f(&[3.0]), f(&[0.5]))?.with_validate_args(true).log_prob(&f(&[4.0])).map(drop))),
        ("Binomial probs NaN", "Binomial.sample: expected 0 <= probs <= 1, got probs containing NaN",
         Box::new(move || Binomial::from_probs(f(&[3.0]), f(&[f32::NAN]))?.with_validate_args(true).sample(&[2]).map(drop))),
        ("NegativeBinomial negative total_count", "NegativeBinomial.mean: expected total_count >= 0, got total_count with minimum -1",
         Box::new(move || NegativeBinomial::from_probs(neg(), f(&[0.5]))?.with_validate_args(true).mean().map(drop))),
        ("NegativeBinomial probs above 1", "NegativeBinomial.log_prob: expected 0 <= probs <= 1, got probs with minimum 1.5",
         Box::new(move || NegativeBinomial::from_probs(one(), f(&[1.5]))?.with_validate_args(true).log_prob(&one()).map(drop))),
        ("NegativeBinomial shapes", "NegativeBinomial::from_logits",
         Box::new(move || NegativeBinomial::from_logits(f(&[1.0, 2.0, 3.0]), f(&[0.0, 1.0])).map(drop))),
        ("icdf without a closed form", "Gamma.icdf: not implemented for Gamma",
         Box::new(move || Gamma::new(one(), one())?.icdf(&f(&[0.5])).map(drop))),
        ("icdf probability above 1", "Normal.icdf: expected a probability in [0, 1], got probability with minimum 2",
         Box::new(move || Normal::new(one(), one())?.with_validate_args(true).icdf(&f(&[2.0])).map(drop))),
        ("make_trainable unknown family", "make_trainable: unknown family \"Foo\"",
         Box::new(move || make_trainable("Foo", &nn::VarStore::new(Device::Cpu).root(), &[], &[], Kind::Float).map(drop))),
        ("Poisson rate NaN, sampling", "Poisson.sample",
         Box::new(move || Poisson::new(f(&[f32::NAN]))?.with_validate_args(true).sample(&[2]).map(drop))),
        ("InverseGamma int rate", "InverseGamma::new: expected rate of dtype float32 or float64, got int64",
         Box::new(move || InverseGamma::new(one(), i()).map(drop))),
        ("InverseGamma negative concentration", "InverseGamma.cdf: expected concentration > 0, got concentration with minimum -1",
         Box::new(move || InverseGamma::new(neg(), one())?.with_validate_args(true).cdf(&one()).map(drop))),
        ("InverseGamma zero value", "InverseGamma.log_prob: expected a value > 0, got value with minimum 0",
         Box::new(move || InverseGamma::new(one(), one())?.with_validate_args(true).log_prob(&f(&[0.0])).map(drop))),
        ("Kumaraswamy int concentration1", "Kumaraswamy::new: expected concentration1 of dtype float32 or float64, got int64",
         Box::new(move || Kumaraswamy::new(i(), one()).map(drop))),
        ("Kumaraswamy negative concentration0", "Kumaraswamy.rsample: expected concentration0 > 0, got concentration0 with minimum -1",
         Box::new(move || Kumaraswamy::new(one(), neg())?.with_validate_args(true).rsample(&[2]).map(drop))),
        ("Kumaraswamy value above 1", "Kumaraswamy.log_prob: expected a value in [0, 1], got value with minimum 1.5",
         Box::new(move || Kumaraswamy::new(one(), one())?.with_validate_args(true).log_prob(&f(&[1.5])).map(drop))),
        ("FisherSnedecor int df2", "FisherSnedecor::new: expected df2 of dtype float32 or float64, got int64",
         Box::new(move || FisherSnedecor::new(one(), i()).map(drop))),
        ("FisherSnedecor negative df2", "FisherSnedecor.mean: expected df2 > 0, got df2 with minimum -1",
         Box::new(move || FisherSnedecor::new(one(), neg())?.with_validate_args(true).mean().map(drop))),
        ("FisherSnedecor negative value", "FisherSnedecor.log_prob: expected a value > 0, got value with minimum -1",
         Box::new(move || FisherSnedecor::new(one(), one())?.with_validate_args(true).log_prob(&neg()).map(drop))),
        ("GeneralizedPareto int concentration", "GeneralizedPareto::new: expected concentration of dtype float32 or float64, got int64",
         Box::new(move || GeneralizedPareto::new(one(), one(), i()).map(drop))),
        ("GeneralizedPareto negative scale", "GeneralizedPareto.icdf: expected scale > 0, got scale with minimum -1",
         Box::new(move || GeneralizedPareto::new(one(), neg(), one())?.with_validate_args(true).icdf(&f(&[0.5])).map(drop))),
        ("GeneralizedPareto value below loc",
         "GeneralizedPareto.log_prob: expected a value >= loc and, where concentration < 0, <= loc - scale/concentration, got value with minimum -1",
         Box::new(move || GeneralizedPareto::new(one(), one(), one())?.with_validate_args(true).log_prob(&neg()).map(drop))),
        ("GeneralizedPareto value above the upper end",
         "GeneralizedPareto.cdf: expected a value >= loc and, where concentration < 0, <= loc - scale/concentration, got value with minimum 3.5",
         Box::new(move || GeneralizedPareto::new(one(), one(), f(&[-0.5]))?.with_validate_args(true).cdf(&f(&[3.5])).map(drop))),
        ("GeneralizedPareto event space, mixed signs",
         "GeneralizedPareto.default_event_space_bijector: not implemented for a GeneralizedPareto batch mixing concentration >= 0",
         Box::new(move || GeneralizedPareto::new(one(), one(), f(&[0.5, -0.5]))?.default_event_space_bijector().map(drop))),
        ("VonMises int concentration", "VonMises::new: expected concentration of dtype float32 or float64, got int64",
         Box::new(move || VonMises::new(one(), i()).map(drop))),
        ("VonMises negative concentration", "VonMises.rsample: expected concentration > 0, got concentration with minimum -1",
         Box::new(move || VonMises::new(one(), neg())?.with_validate_args(true).rsample(&[2]).map(drop))),
        ("VonMises NaN value", "VonMises.cdf: expected a value without NaN, got value containing NaN",
         Box::new(move || VonMises::new(one(), one())?.with_validate_args(true).cdf(&f(&[f32::NAN])).map(drop))),
        ("VonMises NaN concentration, sampling", "VonMises.sample: the rejection sampler accepted no draw",
         Box::new(move || VonMises::new(one(), f(&[f32::NAN]))?.sample(&[2]).map(drop))),
        ("ContinuousBernoulli int logits", "ContinuousBernoulli::from_logits: expected logits of dtype float32 or float64, got int64",
         Box::new(move || ContinuousBernoulli::from_logits(i()).map(drop))),
        ("ContinuousBernoulli probs above 1", "ContinuousBernoulli.entropy: expected 0 <= probs <= 1, got probs with minimum 1.5",
         Box::new(move || ContinuousBernoulli::from_probs(f(&[1.5]))?.with_validate_args(true).entropy().map(drop))),
        ("ContinuousBernoulli value above 1", "ContinuousBernoulli.log_prob: expected a value in [0, 1], got value with minimum 1.5",
         Box::new(move || ContinuousBernoulli::from_logits(one())?.with_validate_args(true).log_prob(&f(&[1.5])).map(drop))),
        ("ContinuousBernoulli probability above 1", "ContinuousBernoulli.icdf: expected a probability in [0, 1], got probability with minimum 2",
         Box::new(move || ContinuousBernoulli::from_probs(f(&[0.3]))?.with_validate_args(true).icdf(&f(&[2.0])).map(drop))),
        ("RelaxedBernoulli int temperature", "RelaxedBernoulli::from_logits: expected temperature of dtype float32 or float64, got int64",
         Box::new(move || RelaxedBernoulli::from_logits(i(), one()).map(drop))),
        ("RelaxedBernoulli mixed dtypes", "RelaxedBernoulli::from_probs: temperature is float32 but probs is float64",
         Box::new(move || RelaxedBernoulli::from_probs(one(), Tensor::from_slice(&[0.5f64])).map(drop))),
        ("RelaxedBernoulli negative temperature", "RelaxedBernoulli.rsample: expected temperature > 0, got temperature with minimum -1",
         Box::new(move || RelaxedBernoulli::from_logits(neg(), one())?.with_validate_args(true).rsample(&[2]).map(drop))),
        ("RelaxedBernoulli negative value", "RelaxedBernoulli.log_prob: expected a value in [0, 1], got value with minimum -1",
         Box::new(move || RelaxedBernoulli::from_probs(one(), f(&[0.5]))?.with_validate_args(true).log_prob(&neg()).map(drop))),
        ("RelaxedBernoulli mean", "RelaxedBernoulli.mean: not implemented for RelaxedBernoulli",
         Box::new(move || RelaxedBernoulli::from_logits(one(), one())?.mean().map(drop))),
    ]
}

#[test]
fn every_bad_input_is_a_clean_error() {
    let dir = std::env::temp_dir().join(format!("tchd-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut table = cases(&dir);
    table.extend(more_cases(&dir));
    table.extend(flow_cases(&dir));
    table.extend(family_cases());
    let (mut errors, mut panics, mut accepted) = (0, vec![], vec![]);
    for (what, op, case) in &table {
        match catch_unwind(AssertUnwindSafe(case)) {
            Ok(Err(e)) => {
                let msg = format!("{e:#}");
                assert!(msg.to_lowercase().contains(&op.to_lowercase()), "{what}: the error does not name {op}: {msg}");
                errors += 1;
            }
            Ok(Ok(())) => accepted.push(*what),
            Err(_) => panics.push(*what),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "bad inputs: {} tried, {errors} clean errors, {} panics, {} accepted",
        table.len(),
        panics.len(),
        accepted.len()
    );
    assert!(panics.is_empty(), "panicked: {panics:?}");
    assert!(accepted.is_empty(), "accepted without an error: {accepted:?}");
}
