//! Prints which methods each distribution supports and the bijectors with their event ranks,
//! as markdown tables, by calling every method on one instance of each family (a method that
//! returns an error is "—"), and the pairs of families with a closed-form KL divergence (from
//! the registry, `kl::closed_form_pairs`) with how many of torch's pairs they cover. Run with
//! `cargo run --example capabilities`.

#![allow(clippy::arc_with_non_send_sync)] // see the note in src/lib.rs

use anyhow::Result;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::*;
use tch_distributions::distributions::*;
use tch_distributions::distributions::{Cauchy, Chi2, Exponential, Geometric, Gumbel, HalfCauchy, HalfNormal, Pareto, Poisson, Weibull};
use tch_distributions::kl::{closed_form_pairs, kl_divergence};
use tch_distributions::networks::{Activation, AutoregressiveNetwork, MadeConfig, Mlp, MlpConfig};

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

fn t(v: &[f64]) -> Tensor {
    Tensor::from_slice(v)
}

/// One instance of every distribution family, with a batch of 2 where it is cheap.
pub fn catalog() -> Result<Vec<(&'static str, Box<dyn Distribution>)>> {
    let tril = Tensor::from_slice(&[1.0f64, 0.0, 0.5, 2.0]).reshape([2, 2]);
    Ok(vec![
        ("Normal", Box::new(Normal::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))?)),
        ("Independent(Normal)", Box::new(Independent::new(Normal::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))?, 1)?)),
        ("Categorical", Box::new(Categorical::new(t(&[0.1, 0.5, -1.0]))?)),
        ("OneHotCategorical", Box::new(OneHotCategorical::new(t(&[0.1, 0.5, -1.0]))?)),
        ("OneHotCategoricalStraightThrough", Box::new(OneHotCategorical::new(t(&[0.1, 0.5, -1.0]))?.straight_through())),
        ("Multinomial", Box::new(Multinomial::new(t(&[5.0]), t(&[0.1, 0.5, -1.0]).unsqueeze(0))?)),
        ("RelaxedOneHotCategorical", Box::new(RelaxedOneHotCategorical::new(t(&[0.5]), t(&[0.1, 0.5, -1.0]).unsqueeze(0))?)),
        ("Bernoulli", Box::new(Bernoulli::from_logits(t(&[0.3, -2.0]))?)),
        ("Uniform", Box::new(Uniform::new(t(&[0.0, -1.0]), t(&[1.0, 3.0]))?)),
        ("Laplace", Box::new(Laplace::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))?)),
        ("Logistic", Box::new(Logistic::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))?)),
        ("GeneralizedNormal", Box::new(GeneralizedNormal::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]), t(&[0.7, 3.0]))?)),
        (
            "TruncatedNormal",
            Box::new(TruncatedNormal::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]), t(&[-1.0, 20.0]), t(&[2.0, 21.0]))?),
        ),
        ("StudentT", Box::new(StudentT::new(t(&[5.0, 3.0]), t(&[0.0, 1.0]), t(&[1.0, 2.0]))?)),
        ("Gamma", Box::new(Gamma::new(t(&[2.0, 0.5]), t(&[1.0, 3.0]))?)),
        ("Beta", Box::new(Beta::new(t(&[2.0, 0.5]), t(&[3.0, 1.5]))?)),
        ("LogNormal", Box::new(LogNormal::new(t(&[0.0, 1.0]), t(&[0.5, 1.0]))?)),
        ("Exponential", Box::new(Exponential::new(t(&[0.5, 2.0]))?)),
        ("HalfNormal", Box::new(HalfNormal::new(t(&[1.0, 2.0]))?)),
        ("Cauchy", Box::new(Cauchy::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))?)),
        ("HalfCauchy", Box::new(HalfCauchy::new(t(&[1.0, 2.0]))?)),
        ("Gumbel", Box::new(Gumbel::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))?)),
        ("Chi2", Box::new(Chi2::new(t(&[3.0, 0.5]))?)),
        ("Weibull", Box::new(Weibull::new(t(&[1.0, 2.0]), t(&[1.5, 0.5]))?)),
        ("Pareto", Box::new(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 1.5]))?)),
        ("Poisson", Box::new(Poisson::new(t(&[0.5, 4.0]))?)),
        ("Geometric", Box::new(Geometric::from_probs(t(&[0.3, 0.8]))?)),
        ("Binomial", Box::new(Binomial::from_probs(t(&[10.0, 3.0]), t(&[0.3, 0.8]))?)),
        ("NegativeBinomial", Box::new(NegativeBinomial::from_logits(t(&[2.5, 10.0]), t(&[0.3, -1.0]))?)),
        ("InverseGamma", Box::new(InverseGamma::new(t(&[3.0, 0.5]), t(&[1.0, 2.0]))?)),
        ("Kumaraswamy", Box::new(Kumaraswamy::new(t(&[2.0, 0.5]), t(&[3.0, 1.5]))?)),
        ("FisherSnedecor", Box::new(FisherSnedecor::new(t(&[5.0, 1.5]), t(&[12.0, 3.0]))?)),
        (
            "GeneralizedPareto (concentration >= 0)",
            Box::new(GeneralizedPareto::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]), t(&[0.3, 0.0]))?),
        ),
        (
            "GeneralizedPareto (concentration < 0)",
            Box::new(GeneralizedPareto::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]), t(&[-0.5, -2.0]))?),
        ),
        ("VonMises", Box::new(VonMises::new(t(&[0.0, 1.0]), t(&[2.0, 0.5]))?)),
        ("ContinuousBernoulli", Box::new(ContinuousBernoulli::from_probs(t(&[0.3, 0.5]))?)),
        ("RelaxedBernoulli", Box::new(RelaxedBernoulli::from_logits(t(&[0.5, 2.0]), t(&[0.3, -1.0]))?)),
        (
            "TransformedDistribution(Normal, Sigmoid)",
            Box::new(TransformedDistribution::new(
                Box::new(Normal::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))?),
                Arc::new(Sigmoid::new()),
            )?),
        ),
        ("Dirichlet", Box::new(Dirichlet::new(t(&[2.0, 3.0, 0.5]))?)),
        ("MultivariateNormalDiag", Box::new(MultivariateNormalDiag::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))?)),
        ("MultivariateNormalTriL", Box::new(MultivariateNormalTriL::new(t(&[0.0, 1.0]), tril.copy())?)),
        (
            "MultivariateNormal (covariance)",
            Box::new(MultivariateNormal::from_covariance(t(&[0.0, 1.0]), tril.matmul(&tril.tr()))?),
        ),
        (
            "LowRankMultivariateNormal",
            Box::new(LowRankMultivariateNormal::new(t(&[0.0, 1.0]), t(&[1.0, -0.5]).reshape([2, 1]), t(&[0.5, 1.0]))?),
        ),
        ("MultivariateStudentT", Box::new(MultivariateStudentT::new(t(&[4.0]).reshape([]), t(&[0.0, 1.0]), tril.copy())?)),
        ("LogisticNormal", Box::new(LogisticNormal::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))?)),
        ("LKJCholesky", Box::new(LkjCholesky::new(3, t(&[1.5, 0.5]))?)),
        ("Wishart", Box::new(Wishart::from_scale_tril(t(&[3.0]).reshape([]), tril.copy())?)),
        (
            "MixtureSameFamily(Categorical, Normal)",
            Box::new(MixtureSameFamily::new(
                Categorical::new(t(&[0.0, 1.0]))?,
                Normal::new(t(&[-1.0, 2.0]), t(&[1.0, 0.5]))?,
            )?),
        ),
        (
            "Mixture(Normal, Laplace)",
            Box::new(Mixture::new(
                Categorical::new(t(&[0.0, 1.0]))?,
                vec![Box::new(Normal::new(t(&[0.0]), t(&[1.0]))?), Box::new(Laplace::new(t(&[2.0]), t(&[0.5]))?)],
            )?),
        ),
        (
            "BatchBroadcast(Gamma, [3, 2])",
            Box::new(expand(Box::new(Gamma::new(t(&[2.0, 0.5]), t(&[1.0, 3.0]))?), &[3, 2])?),
        ),
    ])
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "—"
    }
}

/// The methods a distribution supports, probed by calling each on a draw.
pub fn capabilities(d: &dyn Distribution) -> Vec<(&'static str, bool)> {
    let x = d.sample(&[3]).expect("every family samples");
    vec![
        ("log_prob", d.log_prob(&x).is_ok()),
        ("sample", true),
        ("rsample", d.has_rsample() && d.rsample(&[3]).is_ok()),
        ("mean", d.mean().is_ok()),
        ("variance", d.variance().is_ok()),
        ("stddev", d.stddev().is_ok()),
        ("mode", d.mode().is_ok()),
        ("entropy", d.entropy().is_ok()),
        ("cdf", d.cdf(&x).is_ok()),
        ("log_cdf", d.log_cdf(&x).is_ok()),
        ("icdf", d.icdf(&x.ones_like().g_mul_scalar(0.3)).is_ok()),
        ("covariance", d.covariance().is_ok()),
        ("event-space bijector", d.default_event_space_bijector().is_ok()),
        ("exact KL (with itself)", kl_divergence(d, d).is_ok()),
    ]
}

/// The ordered pairs `(p, q)` registered in torch.distributions.kl (torch 2.11,
/// `sorted((p.__name__, q.__name__) for p, q in torch.distributions.kl._KL_REGISTRY)`).
#[rustfmt::skip]
const TORCH_KL_PAIRS: [(&str, &str); 87] = [
    ("Bernoulli", "Bernoulli"), ("Bernoulli", "Poisson"), ("Beta", "Beta"), ("Beta", "ContinuousBernoulli"),
    ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"), ("Beta", "Pareto"), ("Beta", "Uniform"),
    ("Binomial", "Binomial"), ("Categorical", "Categorical"), ("Cauchy", "Cauchy"),
    ("ContinuousBernoulli", "ContinuousBernoulli"), ("ContinuousBernoulli", "Exponential"),
    ("ContinuousBernoulli", "Normal"), ("ContinuousBernoulli", "Pareto"), ("ContinuousBernoulli", "Uniform"),
    ("Dirichlet", "Dirichlet"), ("Exponential", "Beta"), ("Exponential", "ContinuousBernoulli"),
    ("Exponential", "Exponential"), ("Exponential", "Gamma"), ("Exponential", "Gumbel"), ("Exponential", "Normal"),
    ("Exponential", "Pareto"), ("Exponential", "Uniform"), ("ExponentialFamily", "ExponentialFamily"),
    ("Gamma", "Beta"), ("Gamma", "ContinuousBernoulli"), ("Gamma", "Exponential"), ("Gamma", "Gamma"),
    ("Gamma", "Gumbel"), ("Gamma", "Normal"), ("Gamma", "Pareto"), ("Gamma", "Uniform"), ("Geometric", "Geometric"),
    ("Gumbel", "Beta"), ("Gumbel", "ContinuousBernoulli"), ("Gumbel", "Exponential"), ("Gumbel", "Gamma"),
    ("Gumbel", "Gumbel"), ("Gumbel", "Normal"), ("Gumbel", "Pareto"), ("Gumbel", "Uniform"),
    ("HalfNormal", "HalfNormal"), ("Independent", "Independent"), ("Laplace", "Beta"),
    ("Laplace", "ContinuousBernoulli"), ("Laplace", "Exponential"), ("Laplace", "Gamma"), ("Laplace", "Laplace"),
    ("Laplace", "Normal"), ("Laplace", "Pareto"), ("Laplace", "Uniform"),
    ("LowRankMultivariateNormal", "LowRankMultivariateNormal"), ("LowRankMultivariateNormal", "MultivariateNormal"),
    ("MultivariateNormal", "LowRankMultivariateNormal"), ("MultivariateNormal", "MultivariateNormal"),
    ("Normal", "Beta"), ("Normal", "ContinuousBernoulli"), ("Normal", "Exponential"), ("Normal", "Gamma"),
    ("Normal", "Gumbel"), ("Normal", "Laplace"), ("Normal", "Normal"), ("Normal", "Pareto"), ("Normal", "Uniform"),
    ("OneHotCategorical", "OneHotCategorical"), ("Pareto", "Beta"), ("Pareto", "ContinuousBernoulli"),
    ("Pareto", "Exponential"), ("Pareto", "Gamma"), ("Pareto", "Normal"), ("Pareto", "Pareto"), ("Pareto", "Uniform"),
    ("Poisson", "Bernoulli"), ("Poisson", "Binomial"), ("Poisson", "Poisson"),
    ("TransformedDistribution", "TransformedDistribution"), ("Uniform", "Beta"), ("Uniform", "ContinuousBernoulli"),
    ("Uniform", "Exponential"), ("Uniform", "Gamma"), ("Uniform", "Gumbel"), ("Uniform", "Normal"),
    ("Uniform", "Pareto"), ("Uniform", "Uniform"),
];

/// The closed-form KL pairs of the registry as a markdown list grouped by `p`, and how many of
/// torch's pairs they cover.
fn print_kl_table() {
    let pairs = closed_form_pairs();
    let mut ps: Vec<&str> = pairs.iter().map(|(p, _)| *p).collect();
    ps.sort();
    ps.dedup();
    println!("\n| p | q with a closed-form `kl_divergence(p, q)` |");
    println!("|---|---|");
    for p in ps {
        let mut qs: Vec<&str> = pairs.iter().filter(|(a, _)| *a == p).map(|(_, q)| *q).collect();
        qs.sort();
        println!("| {p} | {} |", qs.join(", "));
    }
    let covered: Vec<_> = TORCH_KL_PAIRS.iter().filter(|pair| pairs.contains(pair)).collect();
    let missing: Vec<String> =
        TORCH_KL_PAIRS.iter().filter(|pair| !pairs.contains(pair)).map(|(p, q)| format!("{p}–{q}")).collect();
    println!(
        "\n{} ordered pairs in all; {} of torch's {} pairs (torch 2.11). Not here: {}.",
        pairs.len(),
        covered.len(),
        TORCH_KL_PAIRS.len(),
        missing.join(", ")
    );
}

fn main() -> Result<()> {
    tch::manual_seed(0);
    let catalog = catalog()?;
    let header: Vec<&str> = capabilities(catalog[0].1.as_ref()).iter().map(|(m, _)| *m).collect();
    println!("| distribution | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(header.len()));
    for (name, d) in &catalog {
        let row: Vec<&str> = capabilities(d.as_ref()).iter().map(|(_, ok)| mark(*ok)).collect();
        println!("| {name} | {} |", row.join(" | "));
    }

    let x4 = Tensor::randn([4], F64);
    // the flows' networks, in float64 with TFP's Glorot start (a zero last layer would make
    // every flow the identity and its log-det check trivial)
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let made = |name: &str, params: i64| -> anyhow::Result<AutoregressiveNetwork> {
        let config = MadeConfig::new(params, 4, vec![8])
            .with_activation(Activation::Tanh)
            .with_zero_init_last(false)
            .with_kind(Kind::Double);
        AutoregressiveNetwork::new(&(vs.root() / name), &config)
    };
    let mlp = |name: &str, output: i64| -> anyhow::Result<Mlp> {
        let config = MlpConfig::new(2, output, vec![8]).with_zero_init_last(false).with_kind(Kind::Double);
        Mlp::new(&(vs.root() / name), &config)
    };
    let spline = Arc::new(SplineTransform { bins: 4, bound: 3.0 });
    let batch_norm = BatchNormalization::new(&(vs.root() / "bn"), 4, Kind::Double)?;
    batch_norm.set_training(false);
    let bijectors: Vec<(&str, Arc<dyn Bijector>)> = vec![
        ("Identity", Arc::new(Identity)),
        ("Exp", Arc::new(Exp)),
        ("Softplus", Arc::new(Softplus)),
        ("Sigmoid (low, high)", Arc::new(Sigmoid::with_scalar_bounds(-1.0, 2.0)?)),
        ("Tanh", Arc::new(Tanh)),
        ("SinhArcsinh", Arc::new(SinhArcsinh::scalar(0.5, 1.5))),
        (
            "GeneralizedParetoTransform",
            Arc::new(GeneralizedParetoTransform::new(
                Tensor::zeros([4], F64),
                Tensor::ones([4], F64),
                Tensor::from_slice(&[0.5, -0.5, 0.0, -1.0]),
            )),
        ),
        ("Expm1", Arc::new(Expm1)),
        ("Log1p", Arc::new(Log1p)),
        ("Reciprocal", Arc::new(Reciprocal)),
        ("NormalCDF", Arc::new(NormalCdf)),
        ("Shift", Arc::new(Shift::scalar(1.0))),
        ("Scale", Arc::new(Scale::scalar(2.0))),
        ("Affine", Arc::new(Affine::scalar(1.0, 2.0))),
        ("Power / Square", Arc::new(Square)),
        ("Invert", Arc::new(Invert::new(Arc::new(Exp)))),
        ("IndependentTransform", Arc::new(IndependentTransform::new(Arc::new(Exp), 1))),
        ("Chain", Arc::new(Chain::new(vec![Arc::new(Exp), Arc::new(Shift::scalar(1.0))]))),
        ("Cat", Arc::new(Cat::new(vec![(Arc::new(Exp) as Arc<dyn Bijector>, 1), (Arc::new(Tanh), 3)], -1)?)),
        ("Stack", Arc::new(Stack::new(vec![Arc::new(Exp), Arc::new(Tanh), Arc::new(Exp), Arc::new(Softplus)], -1)?)),
        ("FillTriangular (lower, upper)", Arc::new(FillTriangular::lower())),
        ("FillScaleTriL", Arc::new(FillScaleTriL::default())),
        ("TransformDiagonal", Arc::new(TransformDiagonal::new(Arc::new(Softplus)))),
        ("CholeskyOuterProduct", Arc::new(CholeskyOuterProduct)),
        ("LowerCholesky", Arc::new(LowerCholesky)),
        ("CorrelationCholesky", Arc::new(CorrelationCholesky)),
        ("PositiveDefinite", Arc::new(PositiveDefinite)),
        ("ScaleMatvecTriL", Arc::new(ScaleMatvecTriL::new(Tensor::eye(4, F64))?)),
        ("SoftmaxCentered", Arc::new(SoftmaxCentered)),
        ("StickBreaking", Arc::new(StickBreaking)),
        ("Cumsum", Arc::new(Cumsum)),
        ("Ordered", Arc::new(Ordered)),
        (
            "CumulativeDistribution (Normal)",
            Arc::new(CumulativeDistribution::new(Normal::new(
                tch_distributions::Parameter::constant(&Tensor::zeros([4], F64))?,
                tch_distributions::Parameter::constant(&Tensor::ones([4], F64))?,
            )?)?),
        ),
        ("Reshape", Arc::new(Reshape::new(vec![4], vec![2, 2])?)),
        ("Pad", Arc::new(Pad::new(1, 0))),
        ("ConcatConstant", Arc::new(ConcatConstant::new(Tensor::zeros([1], F64), -1, Position::Before)?)),
        ("Permute", Arc::new(Permute::reverse(4)?)),
        ("BatchNormalization (evaluation mode)", Arc::new(batch_norm)),
        (
            "RationalQuadraticSpline",
            Arc::new(RationalQuadraticSpline::from_unconstrained(
                &Tensor::randn([4], F64),
                &Tensor::randn([4], F64),
                &Tensor::randn([3], F64),
                3.0,
            )?),
        ),
        ("MaskedAutoregressiveFlow (affine)", Arc::new(MaskedAutoregressiveFlow::new(made("maf", 2)?)?)),
        (
            "Invert(MaskedAutoregressiveFlow) (IAF)",
            Arc::new(Invert::new(Arc::new(MaskedAutoregressiveFlow::new(made("iaf", 2)?)?))),
        ),
        (
            "MaskedAutoregressiveFlow (spline: NSF)",
            Arc::new(MaskedAutoregressiveFlow::with_transform(made("nsf", 11)?, spline.clone())?),
        ),
        ("RealNVP (affine)", Arc::new(RealNvp::new(4, 2, mlp("nvp", 4)?)?)),
        ("RealNVP (spline)", Arc::new(RealNvp::with_transform(4, -2, mlp("nvp_spline", 22)?, spline)?)),
    ];
    println!("\n| bijector | name | forward / inverse min event ndims | log-det checked by `testing::check_bijector` at x = randn(4) or its image |");
    println!("|---|---|---|---|");
    for (label, b) in bijectors {
        let x = match label {
            "FillTriangular (lower, upper)" | "FillScaleTriL" | "CorrelationCholesky" => Tensor::randn([6], F64),
            "TransformDiagonal" | "CholeskyOuterProduct" | "LowerCholesky" | "PositiveDefinite" => {
                Tensor::eye(3, F64) + Tensor::randn([3, 3], F64).tril(-1)
            }
            "Power / Square" | "Invert" | "Log1p" | "Reciprocal" => x4.abs() + 0.1,
            "Ordered" => (x4.abs() + 0.1).cumsum(-1, None::<Kind>),
            _ => x4.shallow_clone(),
        };
        let check = tch_distributions::bijectors::testing::check_bijector(b.as_ref(), &x, 1e-9, 1e-9);
        println!(
            "| {label} | {} | {} / {} | {} |",
            b.name(),
            b.forward_min_event_ndims(),
            b.inverse_min_event_ndims(),
            match check {
                Ok(()) => "✓".to_string(),
                Err(e) => format!("{e:#}"),
            }
        );
    }
    print_kl_table();
    Ok(())
}
