//! MultivariateNormalDiag, MultivariateNormal (covariance / precision), Dirichlet,
//! OneHotCategorical, Mixture and BatchBroadcast against independent references: explicit
//! covariance inverses and log-determinants in float64, the Dirichlet density in Rust `f64`
//! scalars with integer concentrations (factorials), Categorical, per-component loops, and
//! sample moments.
//!
//! Statistical checks are z-tests at 6 standard errors: for a Gaussian statistic the false-failure
//! rate is about 2e-9 per comparison, so under 1e-6 for the few hundred comparisons here; draws
//! are seeded (and hold the `seeded` lock), so the outcome is reproducible anyway.

mod common;

use common::{seeded, to_vec};
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{
    expand, BatchBroadcast, Categorical, Dirichlet, Distribution, Mixture, MultivariateNormal, MultivariateNormalDiag,
    MultivariateNormalTriL, Normal, OneHotCategorical, Support,
};
use tch_distributions::Parameter;

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);
const F32: (Kind, Device) = (Kind::Float, Device::Cpu);
const HALF_LOG_TWO_PI: f64 = 0.918_938_533_204_672_8;

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_kind(Kind::Double) - b.to_kind(Kind::Double)).abs().max().double_value(&[])
}

/// A random symmetric positive-definite matrix batch `batch + [d, d]` (float64).
fn random_spd(batch: &[i64], d: i64) -> Tensor {
    let mut shape = batch.to_vec();
    shape.extend([d, d]);
    let a = Tensor::randn(shape.as_slice(), F64);
    a.matmul(&a.transpose(-1, -2)) + Tensor::eye(d, F64) * 0.5
}

/// Reference MVN log density with an explicit inverse and log-determinant (float64):
/// `x` `[..., d]` broadcasting against `loc` `[..., d]`, `cov` `[..., d, d]`.
fn mvn_reference(x: &Tensor, loc: &Tensor, cov: &Tensor) -> Tensor {
    let d = loc.size().last().copied().unwrap();
    let diff = (x.to_kind(Kind::Double) - loc).unsqueeze(-1);
    let prec = cov.inverse();
    let maha = diff.transpose(-1, -2).matmul(&prec).matmul(&diff).squeeze_dim(-1).squeeze_dim(-1);
    maha * -0.5 - cov.logdet() * 0.5 - HALF_LOG_TWO_PI * d as f64
}

/// Checks the sample mean and covariance of `s` (`[n, ..., d]`) against `mean` and `cov` within 6
/// standard errors (entries of the sample covariance: `sqrt((S_ii S_jj + S_ij²) / n)`).
fn check_moments(s: &Tensor, mean: &Tensor, cov: &Tensor) {
    let n = s.size()[0];
    let s = s.to_kind(Kind::Double);
    let m = s.mean_dim(0, false, Kind::Double);
    let var = cov.diagonal(0, -2, -1);
    let z = ((&m - mean).abs() / (&var / n as f64).sqrt()).max().double_value(&[]);
    assert!(z < 6.0, "sample mean off by {z} standard errors");
    let c = &s - &m;
    let emp = c.unsqueeze(-1).matmul(&c.unsqueeze(-2)).mean_dim(0, false, Kind::Double) * (n as f64 / (n - 1) as f64);
    let se = ((var.unsqueeze(-1) * var.unsqueeze(-2) + cov.square()) / n as f64).sqrt();
    let z = ((emp - cov).abs() / se).max().double_value(&[]);
    assert!(z < 6.0, "sample covariance off by {z} standard errors");
}

// ---------------------------------------------------------------------------------------------
// MultivariateNormalDiag

#[test]
fn mvn_diag_log_prob_moments_entropy() {
    let _g = seeded(21);
    let (k, d) = (3, 4);
    let loc = Tensor::randn([k, d], F64);
    let scale = Tensor::rand([k, d], F64) + 0.3;
    for (kind, tol) in [(Kind::Double, 1e-10), (Kind::Float, 2e-4)] {
        let mvn = MultivariateNormalDiag::new(loc.to_kind(kind), scale.to_kind(kind)).unwrap().with_name("diag");
        assert_eq!((mvn.batch_shape(), mvn.event_shape()), (vec![k], vec![d]));
        let x = Tensor::randn([5, 1, d], F64) * 2.0;
        let lp = mvn.log_prob(&x.to_kind(kind)).unwrap();
        assert_eq!(lp.size(), vec![5, k]);
        let cov = scale.square().diag_embed(0, -2, -1);
        let want = mvn_reference(&x, &loc, &cov);
        // float32: the terms are O(10), so 2e-4 is a few float32 rounding steps.
        let err = max_abs_diff(&lp, &want);
        assert!(err < tol, "{kind:?}: max error {err}");
        assert!(max_abs_diff(&mvn.covariance().unwrap(), &cov) < tol);
        let h = (scale.log().sum_dim_intlist(-1, false, Kind::Double)) + d as f64 * (0.5 + HALF_LOG_TWO_PI);
        assert!(max_abs_diff(&mvn.entropy().unwrap(), &h) < tol);
        assert!(max_abs_diff(&mvn.stddev().unwrap(), &scale) < tol);
        assert!(max_abs_diff(&mvn.mode().unwrap(), &loc) < tol);
        assert_eq!(mvn.support(), Support::Real);
        assert_eq!(
            mvn.to_string(),
            format!(
                "MultivariateNormalDiag(\"diag\", batch_shape=[3], event_shape=[4], dtype={})",
                if kind == Kind::Float { "float32" } else { "float64" }
            )
        );
    }
    let mvn = MultivariateNormalDiag::new(loc.copy(), scale.copy()).unwrap();
    let s = mvn.sample(&[40000]).unwrap();
    assert_eq!(s.size(), vec![40000, k, d]);
    assert!(!s.requires_grad());
    check_moments(&s, &loc, &mvn.covariance().unwrap());
    // Entropy against Monte Carlo -E[log p]: the per-draw log density has variance d/2.
    let mc = -mvn.log_prob(&s).unwrap().mean_dim(0, false, Kind::Double);
    let se = (d as f64 / 2.0 / 40000.0).sqrt();
    assert!(max_abs_diff(&mc, &mvn.entropy().unwrap()) < 6.0 * se);
    assert!(mvn.default_event_space_bijector().is_ok());
}

#[test]
fn mvn_diag_rsample_gradients_match_the_analytic_ones() {
    // f = mean_n Σ_i x_i², x = μ + s z: E[∂f/∂μ] = 2μ (var 4 s²/n), E[∂f/∂s] = 2s (var 4(μ² + 2s²)/n).
    let _g = seeded(22);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let (mu0, s0) = (Tensor::from_slice(&[0.5f64, -1.0, 2.0]), Tensor::from_slice(&[1.0f64, 0.5, 2.0]));
    let mvn = MultivariateNormalDiag::new(
        Parameter::variable(&p, "loc", &mu0).unwrap(),
        Parameter::variable(&p, "scale", &s0).unwrap(),
    )
    .unwrap();
    let names: Vec<String> = mvn.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["loc", "scale"]);
    assert!(mvn.has_rsample());
    let n = 20000;
    let x = mvn.rsample(&[n]).unwrap();
    assert!(x.requires_grad());
    (x.square().sum_dim_intlist(-1, false, Kind::Double).mean(Kind::Double)).backward();
    let vars = mvn.trainable_variables();
    let (gl, gs) = (vars[0].1.grad(), vars[1].1.grad());
    let zl = ((gl - &mu0 * 2.0).abs() / (s0.square() * 4.0 / n as f64).sqrt()).max().double_value(&[]);
    let zs =
        ((gs - &s0 * 2.0).abs() / ((mu0.square() + s0.square() * 2.0) * 4.0 / n as f64).sqrt()).max().double_value(&[]);
    assert!(zl < 6.0 && zs < 6.0, "z-scores {zl} {zs}");
}

#[test]
fn mvn_diag_rejects_bad_input() {
    let loc = Tensor::zeros([3], F64);
    let err = MultivariateNormalDiag::new(loc.copy(), Tensor::ones([4], F64)).unwrap_err().to_string();
    assert!(err.contains("expected scale_diag of shape [..., 3]"), "{err}");
    let err = MultivariateNormalDiag::new(loc.copy(), Tensor::ones([3], F32)).unwrap_err().to_string();
    assert!(err.contains("loc is float64 but scale_diag is float32"), "{err}");
    let err = MultivariateNormalDiag::new(Tensor::zeros([3], (Kind::Int64, Device::Cpu)), Tensor::ones([3], F64))
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected loc of dtype float32 or float64, got int64"), "{err}");
    let err =
        MultivariateNormalDiag::new(Tensor::zeros([2, 3], F64), Tensor::ones([4, 3], F64)).unwrap_err().to_string();
    assert!(err.contains("do not broadcast"), "{err}");
    let mvn = MultivariateNormalDiag::new(loc.copy(), Tensor::ones([3], F64)).unwrap();
    let err = mvn.log_prob(&Tensor::zeros([2], F64)).unwrap_err().to_string();
    assert!(err.contains("expected event shape [3]"), "{err}");
    let err = mvn.log_prob(&Tensor::zeros([3], F32)).unwrap_err().to_string();
    assert!(err.contains("expected value of dtype float64, got float32"), "{err}");
    let checked = MultivariateNormalDiag::new(loc.copy(), Tensor::from_slice(&[1.0f64, 0.0, 1.0]))
        .unwrap()
        .with_validate_args(true);
    assert!(checked.log_prob(&Tensor::zeros([3], F64)).unwrap_err().to_string().contains("scale_diag without zero"));
    assert!(mvn.sample(&[-1]).is_err());
}

// ---------------------------------------------------------------------------------------------
// MultivariateNormal

#[test]
fn mvn_from_covariance_and_precision_match_explicit_inverse() {
    let _g = seeded(23);
    let (k, d) = (3, 4);
    let loc = Tensor::randn([k, d], F64);
    let cov = random_spd(&[k], d);
    let x = Tensor::randn([6, 1, d], F64) * 2.0;
    let want = mvn_reference(&x, &loc, &cov);
    let want_h = cov.logdet() * 0.5 + d as f64 * (0.5 + HALF_LOG_TWO_PI);
    for (kind, tol) in [(Kind::Double, 1e-9), (Kind::Float, 1e-3)] {
        let a = MultivariateNormal::from_covariance(loc.to_kind(kind), cov.to_kind(kind)).unwrap();
        let b = MultivariateNormal::from_precision(loc.to_kind(kind), cov.inverse().to_kind(kind)).unwrap();
        for (what, mvn) in [("covariance", &a), ("precision", &b)] {
            assert_eq!((mvn.batch_shape(), mvn.event_shape()), (vec![k], vec![d]));
            let lp = mvn.log_prob(&x.to_kind(kind)).unwrap();
            assert_eq!(lp.size(), vec![6, k]);
            // float32: a few rounding steps of terms of size ~10-100 through a Cholesky.
            let err = max_abs_diff(&lp, &want);
            assert!(err < tol * 10.0, "{what} {kind:?}: max log_prob error {err}");
            let err = max_abs_diff(&mvn.covariance().unwrap(), &cov);
            assert!(err < tol, "{what} {kind:?}: covariance error {err}");
            assert!(max_abs_diff(&mvn.variance().unwrap(), &cov.diagonal(0, -2, -1)) < tol);
            assert!(max_abs_diff(&mvn.entropy().unwrap(), &want_h) < tol);
            let l = mvn.scale_tril().unwrap();
            assert!(max_abs_diff(&l.triu(1), &l.triu(1).zeros_like()) == 0.0, "{what}: scale_tril is lower triangular");
        }
    }
    // Against MultivariateNormalTriL with the Cholesky factor.
    let tril = MultivariateNormalTriL::new(loc.copy(), cov.linalg_cholesky(false)).unwrap();
    let mvn = MultivariateNormal::from_covariance(loc.copy(), cov.copy()).unwrap();
    assert!(max_abs_diff(&mvn.log_prob(&x).unwrap(), &tril.log_prob(&x).unwrap()) < 1e-10);
    let s = mvn.sample(&[50000]).unwrap();
    assert_eq!(s.size(), vec![50000, k, d]);
    check_moments(&s, &loc, &cov);
    let s = MultivariateNormal::from_precision(loc.copy(), cov.inverse()).unwrap().sample(&[50000]).unwrap();
    check_moments(&s, &loc, &cov);
}

#[test]
fn mvn_rsample_gradient_reaches_loc_and_covariance() {
    // f = mean_n Σ_i x_i²: E[∂f/∂μ] = 2μ with variance 4 Σ_ii / n; the covariance gets a finite
    // gradient (E f = tr Σ + |μ|², so its expected gradient is the identity on the diagonal).
    let _g = seeded(24);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let d = 3;
    let mu0 = Tensor::from_slice(&[1.0f64, -0.5, 0.25]);
    let cov0 = random_spd(&[], d);
    let mvn = MultivariateNormal::from_covariance(
        Parameter::variable(&p, "loc", &mu0).unwrap(),
        Parameter::variable(&p, "cov", &cov0).unwrap(),
    )
    .unwrap();
    let n = 40000;
    let x = mvn.rsample(&[n]).unwrap();
    x.square().sum_dim_intlist(-1, false, Kind::Double).mean(Kind::Double).backward();
    let vars = mvn.trainable_variables();
    assert_eq!(vars.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["loc", "cov"]);
    let gl = vars[0].1.grad();
    let z = ((gl - &mu0 * 2.0).abs() / (cov0.diagonal(0, -2, -1) * 4.0 / n as f64).sqrt()).max().double_value(&[]);
    assert!(z < 6.0, "loc gradient off by {z} standard errors");
    let gc = vars[1].1.grad();
    assert!(gc.isfinite().all().int64_value(&[]) == 1);
    // The diagonal of the covariance gradient estimates 1 (the off-diagonal part is split between
    // the triangles); allow a loose 0.1.
    let diag_err = (gc.diagonal(0, -2, -1) - 1.0).abs().max().double_value(&[]);
    assert!(diag_err < 0.1, "covariance gradient diagonal off by {diag_err}");
}

#[test]
fn mvn_rejects_non_positive_definite_and_bad_shapes() {
    let d = 3;
    let loc = Tensor::zeros([2, d], F64);
    let cov = Tensor::eye(d, F64).repeat([2, 1, 1]);
    let _ = cov.get(1).get(2).fill_(-1.0); // batch element 1: the third leading minor fails
    let err = MultivariateNormal::from_covariance(loc.copy(), cov.copy()).unwrap_err().to_string();
    assert_eq!(err, "MultivariateNormal::from_covariance: the covariance is not positive definite (leading minor 3 of batch element [1])");
    let err = MultivariateNormal::from_precision(loc.get(0), cov.get(1)).unwrap_err().to_string();
    assert_eq!(err, "MultivariateNormal::from_precision: the precision is not positive definite (leading minor 3)");
    let nan = Tensor::eye(d, F64) * f64::NAN;
    assert!(MultivariateNormal::from_covariance(loc.get(0), nan).unwrap_err().to_string().contains("non-finite"));
    let err = MultivariateNormal::from_covariance(loc.copy(), Tensor::eye(2, F64)).unwrap_err().to_string();
    assert!(err.contains("expected the covariance of shape [..., 3, 3]"), "{err}");
    let err = MultivariateNormal::from_covariance(loc.copy(), Tensor::eye(d, F32)).unwrap_err().to_string();
    assert!(err.contains("loc is float64 but the covariance is float32"), "{err}");
    let err = MultivariateNormal::from_covariance(Tensor::zeros([d], (Kind::Int, Device::Cpu)), Tensor::eye(d, F64))
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected loc of dtype float32 or float64, got int32"), "{err}");
    let err = MultivariateNormal::from_covariance(Tensor::zeros([2, d], F64), Tensor::eye(d, F64).repeat([3, 1, 1]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("do not broadcast"), "{err}");

    // A variable that leaves the cone after construction: NaN without validation, an error with.
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let good = Tensor::eye(d, F64).repeat([2, 1, 1]);
    let make = |name: &str| {
        MultivariateNormal::from_covariance(loc.copy(), Parameter::variable(&p, name, &good).unwrap()).unwrap()
    };
    let (plain, checked) = (make("c1"), make("c2").with_validate_args(true));
    for m in [&plain, &checked] {
        let mut t = m.trainable_variables()[0].1.shallow_clone();
        tch::no_grad(|| t.copy_(&cov));
    }
    let lp = plain.log_prob(&Tensor::zeros([d], F64)).unwrap();
    let v = to_vec(&lp);
    assert!(v[0].is_finite() && v[1].is_nan(), "{v:?}");
    assert!(plain.sample(&[2]).unwrap().get(0).get(1).isnan().all().int64_value(&[]) == 1);
    let err = checked.log_prob(&Tensor::zeros([d], F64)).unwrap_err().to_string();
    assert_eq!(
        err,
        "MultivariateNormal.log_prob: the covariance is not positive definite (leading minor 3 of batch element [1])"
    );
    assert!(checked.sample(&[1]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Dirichlet

fn ln_factorial(n: u32) -> f64 {
    (1..=n).map(|i| (i as f64).ln()).sum()
}

#[test]
fn dirichlet_log_prob_matches_factorials() {
    let _g = seeded(25);
    // Integer concentrations: lgamma(n) = ln((n - 1)!).
    let alphas: [[u32; 3]; 2] = [[2, 3, 4], [1, 1, 5]];
    let conc = Tensor::from_slice(&[2.0f64, 3.0, 4.0, 1.0, 1.0, 5.0]).reshape([2, 3]);
    let x = Tensor::rand([4, 1, 3], F64) + 0.05;
    let x = &x / x.sum_dim_intlist(-1, true, Kind::Double);
    let xs = to_vec(&x);
    for (kind, tol) in [(Kind::Double, 1e-11), (Kind::Float, 1e-4)] {
        let dist = Dirichlet::new(conc.to_kind(kind)).unwrap();
        assert_eq!((dist.batch_shape(), dist.event_shape()), (vec![2], vec![3]));
        let lp = to_vec(&dist.log_prob(&x.to_kind(kind)).unwrap());
        assert_eq!(lp.len(), 8);
        for i in 0..4 {
            for (b, a) in alphas.iter().enumerate() {
                let a0: u32 = a.iter().sum();
                let mut want = ln_factorial(a0 - 1) - a.iter().map(|&ak| ln_factorial(ak - 1)).sum::<f64>();
                for j in 0..3 {
                    want += (a[j] as f64 - 1.0) * xs[i * 3 + j].ln();
                }
                let got = lp[i * 2 + b];
                // float32: terms of size ~10, so 1e-4 is a few rounding steps.
                assert!((got - want).abs() < tol * (1.0 + want.abs()), "{kind:?} point {i} batch {b}: {got} vs {want}");
            }
        }
    }
    // A zero entry where the concentration is 1 counts 0 (xlogy), not NaN.
    let dist = Dirichlet::new(Tensor::from_slice(&[1.0f64, 2.0])).unwrap();
    let lp = dist.log_prob(&Tensor::from_slice(&[0.0f64, 1.0])).unwrap().double_value(&[]);
    assert!((lp - 2f64.ln()).abs() < 1e-12, "{lp}");
}

#[test]
fn dirichlet_moments_entropy_mode() {
    let _g = seeded(26);
    let a = Tensor::from_slice(&[2.0f64, 3.0, 4.0, 0.5, 1.5, 2.5]).reshape([2, 3]);
    let dist = Dirichlet::new(a.copy()).unwrap().with_name("dir");
    assert_eq!(dist.to_string(), "Dirichlet(\"dir\", batch_shape=[2], event_shape=[3], dtype=float64)");
    let a0 = a.sum_dim_intlist(-1, true, Kind::Double);
    let mean = &a / &a0;
    assert!(max_abs_diff(&dist.mean().unwrap(), &mean) < 1e-14);
    let var = &a * (&a0 - &a) / (a0.square() * (&a0 + 1.0));
    assert!(max_abs_diff(&dist.variance().unwrap(), &var) < 1e-14);
    assert!(max_abs_diff(&dist.covariance().unwrap().diagonal(0, -2, -1), &var) < 1e-14);
    let n = 50000;
    let s = dist.sample(&[n]).unwrap();
    assert_eq!(s.size(), vec![n, 2, 3]);
    assert!(max_abs_diff(&s.sum_dim_intlist(-1, false, Kind::Double), &Tensor::ones([n, 2], F64)) < 1e-12);
    assert!(s.gt(0.0).all().int64_value(&[]) == 1);
    // Dirichlet draws are bounded, so the Gaussian-limit standard errors of check_moments apply
    // to the mean; the covariance check's standard error is approximate (fourth moments are
    // smaller than the Gaussian ones here), still a conservative 6 standard errors.
    check_moments(&s, &mean, &dist.covariance().unwrap());
    // Entropy against -E[log p] by Monte Carlo, within 6 empirical standard errors.
    let lp = dist.log_prob(&s).unwrap();
    let mc = -lp.mean_dim(0, false, Kind::Double);
    let se = lp.std_dim(0, true, false) / (n as f64).sqrt();
    let z = ((mc - dist.entropy().unwrap()).abs() / se).max().double_value(&[]);
    assert!(z < 6.0, "entropy off by {z} standard errors");
    // Closed-form entropy for Dirichlet(1, 1, 1): log B = -log 2, so H = -log 2.
    let flat = Dirichlet::new(Tensor::ones([3], F64)).unwrap();
    assert!((flat.entropy().unwrap().double_value(&[]) + 2f64.ln()).abs() < 1e-12);
    // Mode: (α - 1) / (α₀ - K) where all α > 1, NaN otherwise.
    let mode = to_vec(&dist.mode().unwrap());
    let want = [1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0];
    for j in 0..3 {
        assert!((mode[j] - want[j]).abs() < 1e-14);
        assert!(mode[3 + j].is_nan());
    }
    assert_eq!(dist.support(), Support::Simplex);
    // The default event-space bijector maps R^{K-1} onto the simplex.
    let y = dist.default_event_space_bijector().unwrap().forward(&(Tensor::randn([5, 2], F64) * 3.0)).unwrap();
    assert_eq!(y.size(), vec![5, 3]);
    assert!(max_abs_diff(&y.sum_dim_intlist(-1, false, Kind::Double), &Tensor::ones([5], F64)) < 1e-12);
    assert!(y.gt(0.0).all().int64_value(&[]) == 1);
    assert!(dist.log_prob(&y.unsqueeze(1)).unwrap().isfinite().all().int64_value(&[]) == 1);
}

#[test]
fn dirichlet_rsample_gradient_matches_the_analytic_one() {
    // ∂E[x_0]/∂α_j = (δ_0j α₀ - α_0) / α₀². R = 40 identical rows give R independent estimates;
    // their mean is compared with the analytic value within 6 standard errors of the mean.
    let _g = seeded(27);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let (r, n) = (40, 2000);
    let a = [1.5f64, 2.0, 3.5];
    let init = Tensor::from_slice(&a).repeat([r, 1]);
    let dist = Dirichlet::new(Parameter::variable(&p, "conc", &init).unwrap()).unwrap();
    assert!(dist.has_rsample());
    let x = dist.rsample(&[n]).unwrap();
    assert!(x.requires_grad());
    x.select(-1, 0).mean_dim(0, false, Kind::Double).sum(Kind::Double).backward();
    let g = dist.trainable_variables()[0].1.grad(); // [r, 3]
    let a0: f64 = a.iter().sum();
    let want = Tensor::from_slice(&[(a0 - a[0]) / (a0 * a0), -a[0] / (a0 * a0), -a[0] / (a0 * a0)]);
    let m = g.mean_dim(0, false, Kind::Double);
    let se = g.std_dim(0, true, false) / (r as f64).sqrt();
    let z = ((m - want).abs() / se).max().double_value(&[]);
    assert!(z < 6.0, "gradient off by {z} standard errors");
}

#[test]
fn dirichlet_rejects_bad_input() {
    let err = Dirichlet::new(Tensor::ones([3], (Kind::Int64, Device::Cpu))).unwrap_err().to_string();
    assert!(err.contains("expected concentration of dtype float32 or float64, got int64"), "{err}");
    let err = Dirichlet::new(Tensor::ones([0], F64)).unwrap_err().to_string();
    assert!(err.contains("expected concentration of shape [..., d] with d >= 1, got [0]"), "{err}");
    let dist = Dirichlet::new(Tensor::ones([3], F64)).unwrap();
    assert!(dist.log_prob(&Tensor::ones([2], F64)).unwrap_err().to_string().contains("expected event shape [3]"));
    assert!(dist.log_prob(&Tensor::ones([3], F32)).is_err());
    let checked = Dirichlet::new(Tensor::ones([3], F64)).unwrap().with_validate_args(true);
    let err = checked.log_prob(&Tensor::from_slice(&[0.5f64, 0.5, 0.5])).unwrap_err().to_string();
    assert!(err.contains("expected a value on the simplex"), "{err}");
    let neg = Dirichlet::new(Tensor::from_slice(&[1.0f64, -1.0])).unwrap().with_validate_args(true);
    assert!(neg.sample(&[1]).unwrap_err().to_string().contains("expected concentration > 0"));
}

// ---------------------------------------------------------------------------------------------
// OneHotCategorical

#[test]
fn one_hot_categorical_matches_categorical() {
    let _g = seeded(28);
    let logits = Tensor::randn([2, 4], F64);
    for kind in [Kind::Double, Kind::Float] {
        let oh = OneHotCategorical::new(logits.to_kind(kind)).unwrap();
        let cat = Categorical::new(logits.to_kind(kind)).unwrap();
        assert_eq!((oh.batch_shape(), oh.event_shape(), oh.dtype()), (vec![2], vec![4], kind));
        let idx = Tensor::from_slice(&[0i64, 3, 2, 1, 1, 1]).reshape([3, 2]);
        let x = idx.one_hot(4).to_kind(kind);
        let err = max_abs_diff(&oh.log_prob(&x).unwrap(), &cat.log_prob(&idx).unwrap());
        assert!(err < 1e-12, "{kind:?}: {err}");
        assert!(max_abs_diff(&oh.entropy().unwrap(), &cat.entropy().unwrap()) < 1e-12);
        assert!(max_abs_diff(&oh.mean().unwrap(), &cat.probs().unwrap()) < 1e-12);
        assert!(max_abs_diff(&oh.mode().unwrap(), &cat.mode().unwrap().one_hot(4)) == 0.0);
    }
    let oh = OneHotCategorical::new(logits.copy()).unwrap();
    let p = logits.softmax(-1, Kind::Double);
    assert!(max_abs_diff(&oh.variance().unwrap(), &(&p * (p.ones_like() - &p))) < 1e-14);
    let n = 40000;
    let s = oh.sample(&[n]).unwrap();
    assert_eq!((s.size(), s.kind()), (vec![n, 2, 4], Kind::Double));
    assert!(max_abs_diff(&s.sum_dim_intlist(-1, false, Kind::Double), &Tensor::ones([n, 2], F64)) == 0.0);
    assert!(s.eq(0.0).logical_or(&s.eq(1.0)).all().int64_value(&[]) == 1);
    check_moments(&s, &p, &oh.covariance().unwrap());
    assert_eq!(oh.support(), Support::OneHot);

    // From probabilities with a zero: log_prob is -inf only where the zero is picked.
    let probs = Tensor::from_slice(&[0.0f64, 0.25, 0.75]);
    let oh = OneHotCategorical::from_probs(probs.copy()).unwrap();
    let lp = to_vec(&oh.log_prob(&Tensor::eye(3, F64)).unwrap());
    assert_eq!(lp[0], f64::NEG_INFINITY);
    assert!((lp[1] - 0.25f64.ln()).abs() < 1e-14 && (lp[2] - 0.75f64.ln()).abs() < 1e-14);
    assert!(oh.entropy().unwrap().double_value(&[]).is_finite());

    let err = oh.log_prob(&Tensor::ones([3], (Kind::Int64, Device::Cpu))).unwrap_err().to_string();
    assert!(err.contains("expected value of dtype float32 or float64, got int64"), "{err}");
    assert!(oh.log_prob(&Tensor::ones([4], F64)).unwrap_err().to_string().contains("expected event shape [3]"));
    let checked = OneHotCategorical::from_probs(probs).unwrap().with_validate_args(true);
    assert!(checked.log_prob(&Tensor::ones([3], F64)).unwrap_err().to_string().contains("one-hot"));
    let err = OneHotCategorical::new(Tensor::zeros([0], F64)).unwrap_err().to_string();
    assert!(err.starts_with("OneHotCategorical::new:"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Mixture

fn three_components(loc: &Tensor, scale: &Tensor, cov: &Tensor) -> Vec<Box<dyn Distribution>> {
    vec![
        Box::new(MultivariateNormalDiag::new(loc.get(0), scale.copy()).unwrap()),
        Box::new(MultivariateNormal::from_covariance(loc.get(1), cov.copy()).unwrap()),
        Box::new(MultivariateNormalTriL::new(loc.get(2), cov.linalg_cholesky(false) * 0.5).unwrap()),
    ]
}

#[test]
fn mixture_of_different_families_matches_a_loop() {
    let _g = seeded(29);
    let (b, d) = (2, 3);
    let logits = Tensor::randn([3], F64);
    let loc = Tensor::randn([3, b, d], F64) * 2.0;
    let scale = Tensor::rand([b, d], F64) + 0.5;
    let cov = random_spd(&[b], d);
    let mix = Mixture::new(Categorical::new(logits.copy()).unwrap(), three_components(&loc, &scale, &cov))
        .unwrap()
        .with_name("mix");
    assert_eq!(mix.to_string(), "Mixture(\"mix\", batch_shape=[2], event_shape=[3], dtype=float64)");
    let x = Tensor::randn([5, 1, d], F64) * 2.0;
    let lp = mix.log_prob(&x).unwrap();
    assert_eq!(lp.size(), vec![5, b]);
    let covs = [scale.square().diag_embed(0, -2, -1), cov.copy(), &cov * 0.25];
    let w = to_vec(&logits.softmax(-1, Kind::Double));
    let mut total = Tensor::zeros([5, b], F64);
    for k in 0..3 {
        total += mvn_reference(&x, &loc.get(k as i64), &covs[k]).exp() * w[k];
    }
    let err = max_abs_diff(&lp, &total.log());
    assert!(err < 1e-10, "max error {err}");
    // Mean and the law of total variance, then sample moments.
    let mut mean = Tensor::zeros([b, d], F64);
    let mut second = Tensor::zeros([b, d], F64);
    for k in 0..3 {
        let mk = loc.get(k as i64);
        mean += &mk * w[k];
        second += (covs[k].diagonal(0, -2, -1) + mk.square()) * w[k];
    }
    let var = second - mean.square();
    assert!(max_abs_diff(&mix.mean().unwrap(), &mean) < 1e-12);
    assert!(max_abs_diff(&mix.variance().unwrap(), &var) < 1e-12);
    let n = 60000;
    let s = mix.sample(&[n]).unwrap();
    assert_eq!(s.size(), vec![n, b, d]);
    let z = ((s.mean_dim(0, false, Kind::Double) - &mean).abs() / (&var / n as f64).sqrt()).max().double_value(&[]);
    assert!(z < 6.0, "sample mean off by {z} standard errors");
    // The sample variance: standard error from the empirical fourth central moment.
    let c = &s - s.mean_dim(0, true, Kind::Double);
    let emp = c.square().mean_dim(0, false, Kind::Double);
    let se = ((c.pow_tensor_scalar(4).mean_dim(0, false, Kind::Double) - emp.square()) / n as f64).sqrt();
    let z = ((emp - &var).abs() / se).max().double_value(&[]);
    assert!(z < 6.0, "sample variance off by {z} standard errors");
    assert_eq!(mix.support(), Support::Real);
}

#[test]
fn mixture_of_scalar_families_and_errors() {
    let _g = seeded(30);
    // A batched categorical broadcast to the components, with Normal and BatchBroadcast(Normal).
    let logits = Tensor::randn([2, 2], F64);
    let comps: Vec<Box<dyn Distribution>> = vec![
        Box::new(Normal::new(Tensor::from_slice(&[0.0f64, 1.0]), Tensor::from_slice(&[1.0f64, 2.0])).unwrap()),
        Box::new(
            BatchBroadcast::new(
                Normal::new(Tensor::from_slice(&[3.0f64]), Tensor::from_slice(&[0.5f64])).unwrap(),
                &[2],
            )
            .unwrap(),
        ),
    ];
    let mix = Mixture::new(Categorical::new(logits.copy()).unwrap(), comps).unwrap();
    let x = Tensor::from_slice(&[0.3f64, -1.0, 2.5]).reshape([3, 1]);
    let lp = to_vec(&mix.log_prob(&x).unwrap());
    let w = to_vec(&logits.softmax(-1, Kind::Double));
    let npdf =
        |x: f64, m: f64, s: f64| (-(x - m).powi(2) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
    for (i, xi) in [0.3f64, -1.0, 2.5].iter().enumerate() {
        for (bi, (m, s)) in [(0.0, 1.0), (1.0, 2.0)].iter().enumerate() {
            let want = (w[bi * 2] * npdf(*xi, *m, *s) + w[bi * 2 + 1] * npdf(*xi, 3.0, 0.5)).ln();
            assert!((lp[i * 2 + bi] - want).abs() < 1e-12, "{} vs {want}", lp[i * 2 + bi]);
        }
    }
    assert_eq!(mix.sample(&[4, 5]).unwrap().size(), vec![4, 5, 2]);

    let two = || -> Vec<Box<dyn Distribution>> {
        vec![
            Box::new(Normal::new(Tensor::zeros([2], F64), Tensor::ones([2], F64)).unwrap()),
            Box::new(Normal::new(Tensor::zeros([2], F64), Tensor::ones([2], F64)).unwrap()),
        ]
    };
    let err = Mixture::new(Categorical::new(Tensor::zeros([3], F64)).unwrap(), two()).unwrap_err().to_string();
    assert!(err.contains("the categorical has 3 categories but 2 components were given"), "{err}");
    let err = Mixture::new(Categorical::new(Tensor::zeros([1], F64)).unwrap(), vec![]).unwrap_err().to_string();
    assert!(err.contains("expected at least one component"), "{err}");
    let mut mixed = two();
    mixed[1] = Box::new(Normal::new(Tensor::zeros([3], F64), Tensor::ones([3], F64)).unwrap());
    let err = Mixture::new(Categorical::new(Tensor::zeros([2], F64)).unwrap(), mixed).unwrap_err().to_string();
    assert!(err.contains("component 0 has batch shape [2] but component 1 has [3]"), "{err}");
    let mut mixed = two();
    mixed[1] = Box::new(MultivariateNormalDiag::new(Tensor::zeros([2, 1], F64), Tensor::ones([2, 1], F64)).unwrap());
    let err = Mixture::new(Categorical::new(Tensor::zeros([2], F64)).unwrap(), mixed).unwrap_err().to_string();
    assert!(err.contains("event shape"), "{err}");
    let mut mixed = two();
    mixed[1] = Box::new(Normal::new(Tensor::zeros([2], F32), Tensor::ones([2], F32)).unwrap());
    let err = Mixture::new(Categorical::new(Tensor::zeros([2], F64)).unwrap(), mixed).unwrap_err().to_string();
    assert!(err.contains("component 0 is float64 but component 1 is float32"), "{err}");
    let err = Mixture::new(Categorical::new(Tensor::zeros([2], F32)).unwrap(), two()).unwrap_err().to_string();
    assert!(err.contains("the categorical's logits are float32"), "{err}");
    let err = Mixture::new(Categorical::new(Tensor::zeros([3, 2], F64)).unwrap(), two()).unwrap_err().to_string();
    assert!(err.contains("does not broadcast to the components' batch shape [2]"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// BatchBroadcast / expand

#[test]
fn batch_broadcast_log_prob_and_moments_follow_the_base() {
    let _g = seeded(31);
    let d = 2;
    // Base batch [2, 1] (distinct locs per row), broadcast to [4, 2, 3].
    let loc = Tensor::from_slice(&[-5.0f64, 1.0, 5.0, 2.0]).reshape([2, 1, d]);
    let scale = Tensor::from_slice(&[1.0f64, 0.5, 2.0, 1.5]).reshape([2, 1, d]);
    let base = MultivariateNormalDiag::new(loc.copy(), scale.copy()).unwrap();
    let bb = BatchBroadcast::new(MultivariateNormalDiag::new(loc.copy(), scale.copy()).unwrap(), &[4, 1, 3]).unwrap();
    assert_eq!((bb.batch_shape(), bb.event_shape()), (vec![4, 2, 3], vec![d]));
    assert_eq!(bb.to_string(), "BatchBroadcast(\"BatchBroadcastMultivariateNormalDiag\", batch_shape=[4, 2, 3], event_shape=[2], dtype=float64)");
    let x = Tensor::randn([5, 1, 1, 1, d], F64);
    let lp = bb.log_prob(&x).unwrap();
    assert_eq!(lp.size(), vec![5, 4, 2, 3]);
    let want = base.log_prob(&x).unwrap().broadcast_to([5, 4, 2, 3]);
    assert!(max_abs_diff(&lp, &want) == 0.0);
    assert_eq!(bb.mean().unwrap().size(), vec![4, 2, 3, d]);
    assert_eq!(bb.covariance().unwrap().size(), vec![4, 2, 3, d, d]);
    assert_eq!(bb.entropy().unwrap().size(), vec![4, 2, 3]);
    assert!(max_abs_diff(&bb.variance().unwrap(), &scale.square().broadcast_to([4, 2, 3, d])) == 0.0);

    // Draws: each new batch element has its base element's moments, and distinct elements are
    // independent (sample correlations within 6 / sqrt(n) of 0; never identical).
    let n = 20000;
    let s = bb.sample(&[n]).unwrap();
    assert_eq!(s.size(), vec![n, 4, 2, 3, d]);
    let mean = loc.broadcast_to([4, 2, 3, d]);
    let var = scale.square().broadcast_to([4, 2, 3, d]);
    let z = ((s.mean_dim(0, false, Kind::Double) - &mean).abs() / (&var / n as f64).sqrt()).max().double_value(&[]);
    assert!(z < 6.0, "sample mean off by {z} standard errors");
    let c = (&s - &mean) / var.sqrt();
    let v = c.square().mean_dim(0, false, Kind::Double);
    let z = ((v - 1.0).abs() / (2.0 / n as f64).sqrt()).max().double_value(&[]);
    assert!(z < 6.0, "sample variance off by {z} standard errors");
    // Correlations between all 24 batch elements (first event coordinate).
    let flat = c.select(-1, 0).reshape([n, 24]);
    let corr = flat.transpose(0, 1).matmul(&flat) / n as f64;
    let off = &corr - corr.diagonal(0, -2, -1).diag_embed(0, -2, -1);
    let worst = off.abs().max().double_value(&[]);
    assert!(worst < 6.0 / (n as f64).sqrt(), "batch elements correlated: {worst}");
    assert!(s.select(1, 0).ne_tensor(&s.select(1, 1)).all().int64_value(&[]) == 1);
    assert!(s.select(3, 0).ne_tensor(&s.select(3, 2)).all().int64_value(&[]) == 1);

    // rsample carries gradients to the base parameters.
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let base = Normal::new(
        Parameter::variable(&p, "loc", &Tensor::from_slice(&[1.0f64])).unwrap(),
        Tensor::from_slice(&[1.0f64]),
    )
    .unwrap();
    let bb = BatchBroadcast::new(base, &[3, 1]).unwrap();
    assert!(bb.has_rsample());
    let r = bb.rsample(&[7]).unwrap();
    assert_eq!(r.size(), vec![7, 3, 1]);
    r.sum(Kind::Double).backward();
    let g = bb.trainable_variables()[0].1.grad().double_value(&[0]);
    assert!((g - 21.0).abs() < 1e-12, "{g}");
}

#[test]
fn expand_follows_torch_and_rejects_non_broadcastable_shapes() {
    let _g = seeded(32);
    let cat = Categorical::new(Tensor::randn([3, 4], F64)).unwrap();
    let e = expand(Box::new(cat), &[2, 3]).unwrap();
    assert_eq!(e.batch_shape(), vec![2, 3]);
    let s = e.sample(&[5]).unwrap();
    assert_eq!((s.size(), s.kind()), (vec![5, 2, 3], Kind::Int64));
    let lp = e.log_prob(&s).unwrap();
    assert_eq!(lp.size(), vec![5, 2, 3]);
    assert_eq!(e.support(), Support::Categories(4));

    let normal = || Box::new(Normal::new(Tensor::zeros([3], F64), Tensor::ones([3], F64)).unwrap());
    let err = expand(normal(), &[4]).unwrap_err().to_string();
    assert_eq!(err, "expand: cannot expand batch shape [3] to [4]");
    let err = expand(normal(), &[1]).unwrap_err().to_string();
    assert_eq!(err, "expand: cannot expand batch shape [3] to [1]");
    let err = expand(normal(), &[2, 4]).unwrap_err().to_string();
    assert!(err.contains("cannot expand batch shape [3] to [2, 4]"), "{err}");
    let err = BatchBroadcast::from_box(normal(), &[4]).unwrap_err().to_string();
    assert!(err.contains("BatchBroadcast::new: shapes [3] and [4] do not broadcast"), "{err}");
    assert!(BatchBroadcast::from_box(normal(), &[-1]).is_err());
    // TFP's BatchBroadcast takes the broadcast, so [1] is allowed there.
    assert_eq!(BatchBroadcast::from_box(normal(), &[1]).unwrap().batch_shape(), vec![3]);
    let e = expand(normal(), &[2, 3]).unwrap();
    assert!(e.log_prob(&Tensor::zeros([4], F64)).is_err());
    assert!(e.sample(&[-2]).is_err());
    assert_eq!(e.sample(&[0]).unwrap().size(), vec![0, 2, 3]);
    let cdf = e.cdf(&Tensor::zeros([1], F64)).unwrap();
    assert!(max_abs_diff(&cdf, &Tensor::full([2, 3], 0.5, F64)) < 1e-15);
}

/// `K` random Gaussian components in `d` dimensions: locations N(0, 2²) and well-conditioned
/// triangles (diagonal uniform in [0.5, 1.5], strictly lower part N(0, off²)).
fn random_components(k: i64, d: i64, off: f64) -> (Tensor, Tensor) {
    let loc = Tensor::randn([k, d], F64) * 2.0;
    let tril = (Tensor::randn([k, d, d], F64) * off).tril(-1) + (Tensor::rand([k, d], F64) + 0.5).diag_embed(0, -2, -1);
    (loc, tril)
}

/// The GEMM form of the Mahalanobis terms (event size >= 8, 256 points or more: `L⁻¹` once per
/// component, then blocks of points against the stacked inverses) against the batched triangular
/// solve it replaces (taken for fewer than 256 points): a mixture of K = 5 Gaussians in d = 12
/// over 3000 points (three GEMM blocks) in float64, log_prob within 1e-10 relative and the
/// gradients of sum(log_prob) with respect to loc, the triangle and the logits within 1e-8
/// relative (plus 1e-10); and the float32 result within 2e-4 relative of the float64 one.
#[test]
fn mahalanobis_gemm_form_matches_the_triangular_solve() {
    use tch_distributions::distributions::{Categorical, MixtureSameFamily, MultivariateNormalTriL};
    let _g = seeded(91);
    let (k, d, n) = (5i64, 12i64, 3000i64);
    let (loc, tril) = random_components(k, d, 0.2);
    let logits = Tensor::randn([k], F64);
    let x = Tensor::randn([n, d], F64) * 2.5;
    let run = |kind: Kind, chunked: bool| -> (Tensor, Vec<Tensor>) {
        let vars: Vec<Tensor> =
            [&loc, &tril, &logits].iter().map(|t| t.to_kind(kind).detach().set_requires_grad(true)).collect();
        let m = MixtureSameFamily::new(
            Categorical::new(vars[2].shallow_clone()).unwrap(),
            MultivariateNormalTriL::new(vars[0].shallow_clone(), vars[1].shallow_clone()).unwrap(),
        )
        .unwrap();
        let xk = x.to_kind(kind);
        let lp = if chunked {
            // 100 points per call: below the GEMM form's 256, so the triangular solve
            let parts: Vec<Tensor> = (0..n).step_by(100).map(|s| m.log_prob(&xk.narrow(0, s, 100)).unwrap()).collect();
            Tensor::cat(&parts, 0)
        } else {
            m.log_prob(&xk).unwrap()
        };
        let grads = Tensor::run_backward(&[lp.sum(kind)], &vars.iter().collect::<Vec<_>>(), false, false);
        (lp.detach().to_kind(Kind::Double), grads.iter().map(|g| g.to_kind(Kind::Double)).collect())
    };
    let (lp_gemm, g_gemm) = run(Kind::Double, false);
    let (lp_solve, g_solve) = run(Kind::Double, true);
    let rel = |a: &Tensor, b: &Tensor, floor: f64| ((a - b).abs() / (b.abs() + floor)).max().double_value(&[]);
    assert!(rel(&lp_gemm, &lp_solve, 1.0) < 1e-10, "log_prob: {}", rel(&lp_gemm, &lp_solve, 1.0));
    for (what, (a, b)) in ["loc", "scale_tril", "logits"].iter().zip(g_gemm.iter().zip(&g_solve)) {
        let r = rel(a, b, 1e-2 * b.abs().max().double_value(&[]));
        assert!(r < 1e-8, "d sum(log_prob) / d {what}: relative difference {r}");
    }
    let (lp32, _) = run(Kind::Float, false);
    assert!(rel(&lp32, &lp_gemm, 1.0) < 2e-4, "float32: {}", rel(&lp32, &lp_gemm, 1.0));
}

/// Draws of a mixture of `MultivariateNormalTriL` components (the path that draws only the
/// chosen component, by GEMM against the stacked factors) have the mixture's mean (z-test, 5
/// standard errors per coordinate) and its covariance `Σ π_k (L_k L_kᵀ + μ_k μ_kᵀ) - μ μᵀ`
/// (within 0.03 of entries of size ~1-10 with 200000 draws: standard errors below 0.01).
#[test]
fn mixture_of_gaussians_draws_have_the_mixture_moments() {
    use tch_distributions::distributions::{Categorical, MixtureSameFamily, MultivariateNormalTriL};
    let _g = seeded(92);
    let (k, d, n) = (3i64, 5i64, 200_000i64);
    let (loc, tril) = random_components(k, d, 0.3);
    let logits = Tensor::from_slice(&[0.0f64, 0.7, -0.4]);
    let m = MixtureSameFamily::new(
        Categorical::new(logits.shallow_clone()).unwrap(),
        MultivariateNormalTriL::new(loc.shallow_clone(), tril.shallow_clone()).unwrap(),
    )
    .unwrap();
    let x = m.sample(&[n / 1000, 1000]).unwrap();
    assert_eq!(x.size(), vec![n / 1000, 1000, d]);
    let x = x.reshape([n, d]);
    let pi = logits.softmax(0, Kind::Double);
    let mean = (pi.unsqueeze(-1) * &loc).sum_dim_intlist(0, false, Kind::Double);
    let second = (tril.matmul(&tril.transpose(-1, -2)) + loc.unsqueeze(-1) * loc.unsqueeze(-2)) * pi.reshape([k, 1, 1]);
    let cov = second.sum_dim_intlist(0, false, Kind::Double) - mean.unsqueeze(-1) * mean.unsqueeze(0);
    let s_mean = x.mean_dim(0, false, Kind::Double);
    let se = (cov.diagonal(0, 0, 1) / n as f64).sqrt();
    let z = ((&s_mean - &mean) / se).abs().max().double_value(&[]);
    assert!(z < 5.0, "sample mean {s_mean} vs {mean}: |z| {z}");
    let centred = &x - &s_mean;
    let s_cov = centred.transpose(0, 1).matmul(&centred) / (n - 1) as f64;
    assert!(max_abs_diff(&s_cov, &cov) < 0.03, "sample covariance {s_cov} vs {cov}");
}

/// The host loop's mixture draws (CPU, float32 and float64) against the same draws rebuilt from
/// the same random numbers with tensors: the categorical's float64 uniforms (inverse cdf by
/// `searchsorted`), then the standard normals, `loc_k + L_k z`. Sizes on one thread and split
/// over threads.
#[test]
fn host_mixture_draws_equal_their_tensor_form() {
    use tch_distributions::distributions::{Categorical, MixtureSameFamily, MultivariateNormalTriL};
    let _g = seeded(93);
    for (kind, tol) in [(Kind::Double, 1e-12), (Kind::Float, 1e-5)] {
        for (k, d, n) in [(3i64, 4i64, 100i64), (5, 7, 50_000)] {
            let (loc, tril) = random_components(k, d, 0.3);
            let (loc, tril) = (loc.to_kind(kind), tril.to_kind(kind));
            let logits = Tensor::randn([k], (kind, Device::Cpu));
            let m = MixtureSameFamily::new(
                Categorical::new(logits.shallow_clone()).unwrap(),
                MultivariateNormalTriL::new(loc.shallow_clone(), tril.shallow_clone()).unwrap(),
            )
            .unwrap();
            tch::manual_seed(5);
            let x = m.sample(&[n]).unwrap();
            tch::manual_seed(5);
            let cdf = logits.log_softmax(0, kind).to_kind(Kind::Double).exp().cumsum(0, Kind::Double);
            let u = Tensor::rand([n], (Kind::Double, Device::Cpu)) * cdf.get(-1);
            let idx = u.searchsorted(&cdf, false, true, "right", None::<&Tensor>).clamp_max(k - 1);
            let z = Tensor::randn([n, d], (kind, Device::Cpu));
            let want = loc.index_select(0, &idx) + tril.index_select(0, &idx).matmul(&z.unsqueeze(-1)).squeeze_dim(-1);
            assert_eq!((x.size(), x.kind()), (vec![n, d], kind));
            let e = max_abs_diff(&x, &want);
            assert!(e < tol * 10.0, "{kind:?} K={k} d={d} N={n}: max |diff| {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// LowRankMultivariateNormal and MultivariateStudentT

/// `W Wᵀ + diag(D)` for `W` `[..., d, r]` and `D` `[..., d]`.
fn low_rank_covariance(w: &Tensor, diag: &Tensor) -> Tensor {
    w.matmul(&w.transpose(-1, -2)) + diag.diag_embed(0, -2, -1)
}

/// The low-rank normal against the explicit covariance `W Wᵀ + diag(D)`: log_prob against an
/// explicit inverse and log-determinant, entropy, moments, torch's `scale_tril` and
/// `precision_matrix`, with broadcast batch shapes (`W` shared by the batch); sample moments.
#[test]
fn low_rank_mvn_matches_its_explicit_covariance() {
    use tch_distributions::distributions::LowRankMultivariateNormal;
    let _g = seeded(101);
    let (k, d, r) = (3i64, 4i64, 2i64);
    let loc = Tensor::randn([k, d], F64);
    let w = Tensor::randn([d, r], F64);
    let diag = Tensor::rand([k, d], F64) + 0.2;
    let cov = low_rank_covariance(&w, &diag);
    let x = Tensor::randn([6, 1, d], F64) * 3.0;
    let want = mvn_reference(&x, &loc, &cov);
    let want_h = cov.logdet() * 0.5 + d as f64 * (0.5 + HALF_LOG_TWO_PI);
    for (kind, tol) in [(Kind::Double, 1e-10), (Kind::Float, 1e-4)] {
        let m = LowRankMultivariateNormal::new(loc.to_kind(kind), w.to_kind(kind), diag.to_kind(kind)).unwrap();
        assert_eq!((m.batch_shape(), m.event_shape()), (vec![k], vec![d]));
        let lp = m.log_prob(&x.to_kind(kind)).unwrap();
        assert_eq!(lp.size(), vec![6, k]);
        let err = max_abs_diff(&lp, &want);
        assert!(err < tol * 100.0, "{kind:?}: max log_prob error {err}");
        assert!(max_abs_diff(&m.entropy().unwrap(), &want_h) < tol * 10.0);
        assert!(max_abs_diff(&m.covariance().unwrap(), &cov) < tol);
        assert!(max_abs_diff(&m.variance().unwrap(), &cov.diagonal(0, -2, -1)) < tol);
        assert!(max_abs_diff(&m.mean().unwrap(), &loc) < tol);
        let l = m.scale_tril().unwrap();
        assert!(max_abs_diff(&l.matmul(&l.transpose(-1, -2)), &cov) < tol * 10.0, "{kind:?}: scale_tril");
        assert!(max_abs_diff(&l.triu(1), &l.triu(1).zeros_like()) == 0.0);
        assert!(max_abs_diff(&m.precision_matrix().unwrap(), &cov.inverse()) < tol * 100.0, "{kind:?}: precision");
    }
    let m = LowRankMultivariateNormal::new(loc.copy(), w.copy(), diag.copy()).unwrap();
    let s = m.sample(&[100_000]).unwrap();
    assert_eq!(s.size(), vec![100_000, k, d]);
    check_moments(&s, &loc, &cov);
}

/// Pathwise gradients of the low-rank normal's draws: `E[x] = loc`, `E[|x|²] = tr Σ + |loc|²`, so
/// `∂/∂W E|x|² = 2 W` and `∂/∂D E|x|² = 1`, estimated from 100 000 draws.
#[test]
fn low_rank_mvn_rsample_gradients_are_pathwise() {
    use tch_distributions::distributions::LowRankMultivariateNormal;
    let _g = seeded(102);
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let (d, r) = (3i64, 2i64);
    let w0 = Tensor::randn([d, r], F64);
    let m = LowRankMultivariateNormal::new(
        Parameter::variable(&p, "loc", &Tensor::zeros([d], F64)).unwrap(),
        Parameter::variable(&p, "cov_factor", &w0).unwrap(),
        Parameter::variable(&p, "cov_diag", &Tensor::ones([d], F64)).unwrap(),
    )
    .unwrap();
    let x = m.rsample(&[100_000]).unwrap();
    x.square().sum_dim_intlist(-1, false, Kind::Double).mean(Kind::Double).backward();
    let vars = m.trainable_variables();
    assert_eq!(vars.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["loc", "cov_factor", "cov_diag"]);
    let gw = vars[1].1.grad();
    assert!(max_abs_diff(&gw, &(&w0 * 2.0)) < 0.1, "W gradient {gw} vs {}", &w0 * 2.0);
    let gd = vars[2].1.grad();
    assert!(max_abs_diff(&gd, &gd.ones_like()) < 0.05, "D gradient {gd}");
}

/// KL divergences with a low-rank side (the Woodbury form) against the same pairs as
/// MultivariateNormal from the explicit covariances (the triangular form), both ways, and
/// against MultivariateNormalDiag.
#[test]
fn low_rank_kl_matches_the_full_covariance_kl() {
    use tch_distributions::distributions::LowRankMultivariateNormal;
    use tch_distributions::kl::kl_divergence;
    let _g = seeded(103);
    let (k, d, r) = (2i64, 4i64, 2i64);
    let make = || {
        let loc = Tensor::randn([k, d], F64);
        let w = Tensor::randn([k, d, r], F64);
        let diag = Tensor::rand([k, d], F64) + 0.3;
        let full = MultivariateNormal::from_covariance(loc.copy(), low_rank_covariance(&w, &diag)).unwrap();
        (LowRankMultivariateNormal::new(loc, w, diag).unwrap(), full)
    };
    let ((lp, fp), (lq, fq)) = (make(), make());
    let want = kl_divergence(&fp, &fq).unwrap();
    assert!(want.min().double_value(&[]) > 0.0);
    for (a, b) in [(&lp as &dyn Distribution, &lq as &dyn Distribution), (&lp, &fq), (&fp, &lq)] {
        let got = kl_divergence(a, b).unwrap();
        assert!(max_abs_diff(&got, &want) < 1e-10, "{} vs {}: {got} vs {want}", a.type_name(), b.type_name());
    }
    assert!(kl_divergence(&lp, &lp).unwrap().abs().max().double_value(&[]) < 1e-12);
    let (loc, s) = (Tensor::randn([k, d], F64), Tensor::rand([k, d], F64) + 0.5);
    let diag = MultivariateNormalDiag::new(loc.copy(), s.copy()).unwrap();
    let full = MultivariateNormal::from_covariance(loc, s.square().diag_embed(0, -2, -1)).unwrap();
    let (x, y) = (kl_divergence(&diag, &lq).unwrap(), kl_divergence(&full, &fq).unwrap());
    assert!(max_abs_diff(&x, &y) < 1e-10, "Diag-LowRank {x} vs {y}");
    let (x, y) = (kl_divergence(&lq, &diag).unwrap(), kl_divergence(&fq, &full).unwrap());
    assert!(max_abs_diff(&x, &y) < 1e-10, "LowRank-Diag {x} vs {y}");
}

/// A Student's t with `d = 1` is `StudentT(df, loc, L_00)`; in two dimensions the density
/// integrates to 1, its second moments are `ν/(ν-2) L Lᵀ` and `-∫ p log p` is the entropy
/// (midpoint rule on a 1601² grid over ±80 scales: the mass outside is below 1e-5 at ν = 5).
#[test]
fn multivariate_student_t_matches_student_t_and_quadrature() {
    use tch_distributions::distributions::{MultivariateStudentT, StudentT};
    let df = Tensor::from_slice(&[0.7f64, 3.0, 30.0]);
    let m = MultivariateStudentT::new(df.copy(), Tensor::from_slice(&[0.5f64]), Tensor::from_slice(&[1.7f64]).reshape([1, 1])).unwrap();
    let t = StudentT::new(df.copy(), Tensor::from_slice(&[0.5f64]), Tensor::from_slice(&[1.7f64])).unwrap();
    assert_eq!((m.batch_shape(), m.event_shape()), (vec![3], vec![1]));
    let x = Tensor::from_slice(&[-40.0f64, -1.0, 0.5, 2.0, 300.0]).reshape([5, 1, 1]);
    assert!(max_abs_diff(&m.log_prob(&x).unwrap(), &t.log_prob(&x.squeeze_dim(-1)).unwrap()) < 1e-12);
    assert!(max_abs_diff(&m.entropy().unwrap(), &t.entropy().unwrap()) < 1e-12);
    let (mv, tv) = (m.variance().unwrap().squeeze_dim(-1), t.variance().unwrap());
    assert_eq!(to_vec(&mv.isnan()), to_vec(&tv.isnan()));
    assert_eq!(to_vec(&m.mean().unwrap().squeeze_dim(-1).isnan()), vec![1.0, 0.0, 0.0]);
    assert!(to_vec(&mv)[2] == to_vec(&tv)[2]);

    let (nu, loc) = (5.0, Tensor::from_slice(&[0.3f64, -0.2]));
    let l = Tensor::from_slice(&[1.2f64, 0.0, -0.7, 0.6]).reshape([2, 2]);
    let m = MultivariateStudentT::new(Tensor::from_slice(&[nu]).reshape([]), loc.copy(), l.copy()).unwrap();
    let (n, half) = (1601i64, 80.0);
    let h = 2.0 * half / n as f64;
    let g = Tensor::arange(n, F64) * h - half + h / 2.0;
    let pts = Tensor::stack(&[g.unsqueeze(1).expand([n, n], false), g.unsqueeze(0).expand([n, n], false)], -1);
    let pts = pts.reshape([n * n, 2]) + &loc;
    let lp = m.log_prob(&pts).unwrap();
    let p = lp.exp() * (h * h);
    let total = p.sum(Kind::Double).double_value(&[]);
    assert!((total - 1.0).abs() < 1e-4, "∫ p = {total}");
    let c = &pts - &loc;
    let second = (c.unsqueeze(-1) * c.unsqueeze(-2) * p.reshape([-1, 1, 1])).sum_dim_intlist(0, false, Kind::Double);
    let cov = m.covariance().unwrap();
    assert!(max_abs_diff(&cov, &(l.matmul(&l.tr()) * (nu / (nu - 2.0)))) < 1e-12);
    // the second moment converges slowly in the tails (x² p ~ |x|^-5 in 2-D): 2 percent
    assert!(max_abs_diff(&second, &cov) < 0.02 * cov.abs().max().double_value(&[]), "{second} vs {cov}");
    let h_quad = -(p * lp).sum(Kind::Double).double_value(&[]);
    let h = m.entropy().unwrap().double_value(&[]);
    assert!((h_quad - h).abs() < 1e-3, "quadrature entropy {h_quad} vs {h}");
}

/// The multivariate t's draws: mean and covariance from 300 000 draws at ν = 12 (Gaussian
/// standard errors widened by the t's kurtosis: `√(1 + 3/(ν-4))` for the second moments), and
/// pathwise gradients to `df`, `loc` and the scale.
#[test]
fn multivariate_student_t_draws_have_its_moments() {
    use tch_distributions::distributions::MultivariateStudentT;
    let _g = seeded(104);
    let nu = 12.0f64;
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let loc = Tensor::from_slice(&[1.0f64, -2.0, 0.5]);
    let l = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 0.5, 2.0, 0.0, -1.0, 0.3, 0.7]).reshape([3, 3]);
    let m = MultivariateStudentT::new(
        Parameter::variable(&p, "df", &Tensor::from_slice(&[nu]).reshape([])).unwrap(),
        Parameter::variable(&p, "loc", &loc).unwrap(),
        Parameter::variable(&p, "scale_tril", &l).unwrap(),
    )
    .unwrap();
    let n = 300_000;
    let s = m.rsample(&[n]).unwrap();
    assert_eq!(s.size(), vec![n, 3]);
    let cov = m.covariance().unwrap().detach();
    let widen = (1.0 + 3.0 / (nu - 4.0)).sqrt();
    let sm = s.detach().mean_dim(0, false, Kind::Double);
    let z = ((&sm - &loc).abs() / (cov.diagonal(0, -2, -1) / n as f64).sqrt()).max().double_value(&[]);
    assert!(z < 6.0, "sample mean off by {z} standard errors");
    let c = s.detach() - &sm;
    let emp = c.transpose(0, 1).matmul(&c) / (n - 1) as f64;
    let var = cov.diagonal(0, -2, -1);
    let se = ((var.unsqueeze(-1) * var.unsqueeze(-2) + cov.square()) / n as f64).sqrt() * widen;
    let z = ((emp - &cov).abs() / se).max().double_value(&[]);
    assert!(z < 6.0, "sample covariance off by {z} standard errors");
    s.square().sum(Kind::Double).backward();
    for (name, v) in m.trainable_variables() {
        let g = v.grad();
        assert!(g.defined() && g.isfinite().all().int64_value(&[]) == 1 && g.abs().sum(Kind::Double).double_value(&[]) > 0.0, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Multinomial, RelaxedOneHotCategorical and OneHotCategoricalStraightThrough

/// Every count vector of `k` categories summing to `n`.
fn compositions(n: i64, k: usize) -> Vec<Vec<i64>> {
    if k == 1 {
        return vec![vec![n]];
    }
    (0..=n).flat_map(|first| compositions(n - first, k - 1).into_iter().map(move |mut rest| {
        rest.insert(0, first);
        rest
    })).collect()
}

fn ln_factorial_i(n: i64) -> f64 {
    (1..=n).map(|i| (i as f64).ln()).sum()
}

/// The multinomial's mass, moments and entropy against sums over its whole support (every
/// count vector, with factorials), for a batch of total counts `[1, 4, 10]`; its draws' moments,
/// and draws at `n = 1e6` that sum to `n`.
#[test]
fn multinomial_matches_sums_over_its_support() {
    use tch_distributions::distributions::Multinomial;
    let _g = seeded(105);
    let probs = [0.2f64, 0.5, 0.3];
    let counts = [1.0f64, 4.0, 10.0];
    let logits = Tensor::from_slice(&probs).log() + 0.7;
    let m = Multinomial::new(Tensor::from_slice(&counts), logits.unsqueeze(0).expand([3, 3], false)).unwrap();
    assert_eq!((m.batch_shape(), m.event_shape()), (vec![3], vec![3]));
    let (mean, var, cov, h) = (m.mean().unwrap(), m.variance().unwrap(), m.covariance().unwrap(), m.entropy().unwrap());
    for (b, &n) in counts.iter().enumerate() {
        let support = compositions(n as i64, 3);
        let mut total = 0.0;
        let mut entropy = 0.0;
        let mut first = [0.0f64; 3];
        let mut second = [[0.0f64; 3]; 3];
        for x in &support {
            let lp_want = ln_factorial_i(n as i64) + x.iter().zip(probs).map(|(&c, p)| c as f64 * p.ln() - ln_factorial_i(c)).sum::<f64>();
            let xs: Vec<f64> = x.iter().map(|&c| c as f64).collect();
            let mut point = vec![0.0f64; 9];
            point[3 * b..3 * b + 3].copy_from_slice(&xs);
            // the other batch members get their own valid counts: only member b is read here
            let lp = m.log_prob(&Tensor::from_slice(&point).reshape([3, 3])).unwrap();
            let got = to_vec(&lp)[b];
            assert!((got - lp_want).abs() < 1e-12 * (1.0 + lp_want.abs()), "n={n} x={x:?}: {got} vs {lp_want}");
            let p = lp_want.exp();
            total += p;
            entropy -= p * lp_want;
            for i in 0..3 {
                first[i] += p * xs[i];
                for j in 0..3 {
                    second[i][j] += p * xs[i] * xs[j];
                }
            }
        }
        assert!((total - 1.0).abs() < 1e-12, "n={n}: total mass {total}");
        assert!((to_vec(&h)[b] - entropy).abs() < 1e-10, "n={n}: entropy {} vs {entropy}", to_vec(&h)[b]);
        for i in 0..3 {
            assert!((to_vec(&mean)[3 * b + i] - first[i]).abs() < 1e-12);
            assert!((to_vec(&var)[3 * b + i] - (second[i][i] - first[i] * first[i])).abs() < 1e-10);
            for j in 0..3 {
                let c = to_vec(&cov)[9 * b + 3 * i + j];
                assert!((c - (second[i][j] - first[i] * first[j])).abs() < 1e-10, "n={n}: covariance [{i}, {j}]");
            }
        }
    }
    let s = m.sample(&[100_000]).unwrap();
    assert_eq!(s.size(), vec![100_000, 3, 3]);
    assert!(max_abs_diff(&s.sum_dim_intlist(-1, false, Kind::Double), &Tensor::from_slice(&counts).expand([100_000, 3], false)) == 0.0);
    // the last member (n = 10): mean and covariance within 6 standard errors (Gaussian ones)
    check_moments(&s.select(1, 2), &mean.get(2), &(cov.get(2) + Tensor::eye(3, F64) * 1e-12));
    let big = Multinomial::from_probs(Tensor::from_slice(&[1e6f64]), Tensor::from_slice(&probs).unsqueeze(0)).unwrap();
    let s = big.sample(&[1000]).unwrap();
    let sm = s.mean_dim(0, false, Kind::Double).squeeze_dim(0);
    let want = Tensor::from_slice(&probs) * 1e6;
    let pt = Tensor::from_slice(&probs);
    let se = (&pt * (-&pt + 1.0) * 1e6 / 1000.0).sqrt();
    assert!(((sm - &want) / se).abs().max().double_value(&[]) < 6.0);
    assert!(max_abs_diff(&s.sum_dim_intlist(-1, false, Kind::Double), &Tensor::full([1000, 1], 1e6, F64)) == 0.0);
}

/// The relaxed one-hot density against the concrete density of Maddison et al. in host `f64`,
/// `(K-1)! τ^(K-1) Π_k p_k y_k^(-τ-1) / (Σ_k p_k y_k^(-τ))^K`, with a temperature per batch
/// member; its draws lie on the simplex, their argmax is the Gumbel-max categorical (frequencies
/// `p` at any temperature), and gradients reach the temperature and the logits.
#[test]
fn relaxed_one_hot_categorical_matches_the_concrete_density() {
    use tch_distributions::distributions::RelaxedOneHotCategorical;
    let _g = seeded(106);
    let probs = [0.1f64, 0.6, 0.3];
    let temps = [0.3f64, 1.0, 2.5];
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let m = RelaxedOneHotCategorical::new(
        Parameter::variable(&root, "temperature", &Tensor::from_slice(&temps)).unwrap(),
        Parameter::variable(&root, "logits", &(Tensor::from_slice(&probs).log() - 1.3)).unwrap(),
    )
    .unwrap();
    assert_eq!((m.batch_shape(), m.event_shape()), (vec![3], vec![3]));
    let y = m.sample(&[50]).unwrap();
    assert!(max_abs_diff(&y.sum_dim_intlist(-1, false, Kind::Double), &Tensor::ones([50, 3], F64)) < 1e-12);
    let lp = to_vec(&m.log_prob(&y).unwrap());
    let ys = to_vec(&y);
    for n in 0..50 {
        for (b, &tau) in temps.iter().enumerate() {
            let v = &ys[9 * n + 3 * b..9 * n + 3 * b + 3];
            let denom: f64 = v.iter().zip(probs).map(|(&y, p)| p * y.powf(-tau)).sum();
            let want = 2f64.ln() + 2.0 * tau.ln() + v.iter().zip(probs).map(|(&y, p)| p.ln() - (tau + 1.0) * y.ln()).sum::<f64>()
                - 3.0 * denom.ln();
            let got = lp[3 * n + b];
            assert!((got - want).abs() < 1e-9 * (1.0 + want.abs()), "τ={tau} y={v:?}: {got} vs {want}");
        }
    }
    let n = 60_000;
    let y = m.rsample(&[n]).unwrap();
    let freq = y.detach().argmax(-1, false).one_hot(3).to_kind(Kind::Double).mean_dim(0, false, Kind::Double);
    let p = Tensor::from_slice(&probs).unsqueeze(0);
    let z = ((&freq - &p) / (&p * (-&p + 1.0) / n as f64).sqrt()).abs().max().double_value(&[]);
    assert!(z < 6.0, "argmax frequencies {freq} vs {p}: |z| {z}");
    (y * Tensor::from_slice(&[1.0f64, -2.0, 0.5])).sum(Kind::Double).backward();
    for (name, v) in m.trainable_variables() {
        let g = v.grad();
        assert!(g.defined() && g.isfinite().all().int64_value(&[]) == 1 && g.abs().sum(Kind::Double).double_value(&[]) > 0.0, "{name}");
    }
}

/// The straight-through one-hot categorical: `rsample` has the draw's value and the gradient of
/// the probabilities (`∂/∂logits Σ w·x = ∂/∂logits Σ w·p` exactly); the plain one has no rsample.
#[test]
fn one_hot_straight_through_passes_the_gradient_of_the_probabilities() {
    let _g = seeded(107);
    let vs = nn::VarStore::new(Device::Cpu);
    let logits = Parameter::variable(&vs.root(), "logits", &Tensor::from_slice(&[0.3f64, -1.0, 2.0])).unwrap();
    let d = OneHotCategorical::new(logits).unwrap().straight_through();
    assert_eq!(d.type_name(), "OneHotCategoricalStraightThrough");
    assert!(d.has_rsample());
    let w = Tensor::from_slice(&[1.0f64, -2.0, 0.5]);
    let x = d.rsample(&[5]).unwrap();
    let hard = x.detach();
    assert!(max_abs_diff(&hard.sum_dim_intlist(-1, false, Kind::Double), &Tensor::ones([5], F64)) < 1e-15);
    assert!(hard.eq(0.0).logical_or(&hard.eq(1.0)).all().int64_value(&[]) == 1);
    (&x * &w).sum(Kind::Double).backward();
    let g = d.trainable_variables()[0].1.grad().copy();
    let v = d.trainable_variables()[0].1.shallow_clone();
    let _ = v.grad().zero_();
    (d.probs().unwrap() * &w * 5.0).sum(Kind::Double).backward();
    assert!(max_abs_diff(&g, &v.grad()) < 1e-12, "{g} vs {}", v.grad());
    let plain = OneHotCategorical::new(Tensor::from_slice(&[0.3f64, -1.0, 2.0])).unwrap();
    assert!(!plain.has_rsample());
    assert!(plain.rsample(&[1]).unwrap_err().to_string().starts_with("OneHotCategorical.rsample: not implemented"));
}

// ---------------------------------------------------------------------------------------------
// LogisticNormal, LKJCholesky and Wishart

/// Midpoint-rule integral of `f` over `(a, b)` with `n` points (float64 tensors).
fn integrate(f: impl Fn(&Tensor) -> Tensor, a: f64, b: f64, n: i64) -> f64 {
    let h = (b - a) / n as f64;
    let x = Tensor::arange(n, F64) * h + a + h / 2.0;
    (f(&x) * h).sum(Kind::Double).double_value(&[])
}

/// With two categories the logistic normal is `y_0 = sigmoid(x)`, `x ~ N(loc, scale)`: its
/// density in `y_0` is `N(logit y_0) / (y_0 (1 - y_0))` and integrates to 1.
#[test]
fn logistic_normal_with_two_categories_is_a_logit_normal() {
    use tch_distributions::distributions::LogisticNormal;
    let d = LogisticNormal::new(Tensor::from_slice(&[0.4f64]), Tensor::from_slice(&[0.8f64])).unwrap();
    assert_eq!((d.batch_shape(), d.event_shape(), d.name()), (vec![], vec![2], "LogisticNormal"));
    assert_eq!(d.support(), Support::Simplex);
    let y0 = Tensor::from_slice(&[1e-4f64, 0.2, 0.5, 0.9, 0.9999]);
    let y = Tensor::stack(&[y0.shallow_clone(), -&y0 + 1.0], -1);
    let logit = (&y0 / (-&y0 + 1.0)).log();
    let z = (logit - 0.4) / 0.8;
    let want = -z.square() * 0.5 - HALF_LOG_TWO_PI - 0.8f64.ln() - y0.log() - (-&y0 + 1.0).log();
    assert!(max_abs_diff(&d.log_prob(&y).unwrap(), &want) < 1e-12);
    let total = integrate(
        |u| d.log_prob(&Tensor::stack(&[u.shallow_clone(), -u + 1.0], -1)).unwrap().exp(),
        0.0,
        1.0,
        200_000,
    );
    assert!((total - 1.0).abs() < 1e-6, "∫ p = {total}");
    let s = d.rsample(&[4]).unwrap();
    assert!(max_abs_diff(&s.sum_dim_intlist(-1, false, Kind::Double), &Tensor::ones([4], F64)) < 1e-12);
}

/// LKJ in two dimensions: `L = [[1, 0], [r, √(1 - r²)]]` with density `∝ (1 - r²)^(η - 1)` in
/// `r`, normalised (quadrature); in four dimensions every correlation `C_ij` of the draws has
/// mean 0 and variance `1/(2η + d - 1)` (its marginal is `2 Beta(η - 1 + d/2, same) - 1`), and
/// the draws are Cholesky factors of correlation matrices.
#[test]
fn lkj_cholesky_matches_its_marginals() {
    use tch_distributions::distributions::LkjCholesky;
    let _g = seeded(108);
    for eta in [0.5f64, 1.0, 3.0] {
        let d = LkjCholesky::new(2, Tensor::from_slice(&[eta]).reshape([])).unwrap();
        let density = |r: &Tensor| {
            let l = Tensor::stack(&[r.ones_like(), r.zeros_like(), r.shallow_clone(), (-r.square() + 1.0).sqrt()], -1);
            d.log_prob(&l.reshape([-1, 2, 2])).unwrap().exp()
        };
        // the substitution r = sin θ removes the endpoint singularity at η < 1
        let total = integrate(
            |t| density(&t.sin()) * t.cos(),
            -std::f64::consts::FRAC_PI_2,
            std::f64::consts::FRAC_PI_2,
            400_000,
        );
        assert!((total - 1.0).abs() < 1e-4, "η = {eta}: ∫ p = {total}");
    }
    let (eta, dim, n) = (1.5f64, 4i64, 100_000i64);
    let d = LkjCholesky::new(dim, Tensor::from_slice(&[eta]).reshape([])).unwrap();
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![], vec![dim, dim]));
    let l = d.sample(&[n]).unwrap();
    let rows = l.square().sum_dim_intlist(-1, false, Kind::Double);
    assert!(max_abs_diff(&rows, &rows.ones_like()) < 1e-12);
    assert!(max_abs_diff(&l.triu(1), &l.triu(1).zeros_like()) == 0.0);
    assert!(d.log_prob(&l.narrow(0, 0, 100)).unwrap().isfinite().all().int64_value(&[]) == 1);
    let c = l.matmul(&l.transpose(-1, -2));
    let var = 1.0 / (2.0 * eta + dim as f64 - 1.0);
    for (i, j) in [(1, 0), (2, 0), (3, 1), (3, 2)] {
        let r = c.select(-2, i).select(-1, j);
        let m = r.mean(Kind::Double).double_value(&[]);
        assert!(m.abs() / (var / n as f64).sqrt() < 6.0, "C[{i}, {j}] mean {m}");
        let v = r.square().mean(Kind::Double).double_value(&[]);
        // the variance of r²: E r⁴ - var², with E r⁴ = 3 var² (2a + 1)/(2a + 3) for the marginal
        let a = eta - 1.0 + dim as f64 / 2.0;
        let e4 = 3.0 * var * var * (2.0 * a + 1.0) / (2.0 * a + 3.0);
        assert!((v - var).abs() / ((e4 - var * var) / n as f64).sqrt() < 6.0, "C[{i}, {j}] variance {v} vs {var}");
    }
}

/// Wishart in one dimension is `Gamma(ν/2, rate 1/(2σ²))` (log_prob, entropy, mean, variance);
/// in three, log_prob against the density with an explicit inverse and determinant, the
/// covariance, precision and scale_tril forms agree, and the draws have the mean `ν Σ`, the
/// variance `ν (Σ_ij² + Σ_ii Σ_jj)` and `-E log p = entropy`.
#[test]
fn wishart_matches_gamma_and_its_moments() {
    use tch_distributions::distributions::{Gamma, Wishart};
    let _g = seeded(109);
    let (nu, s2) = (Tensor::from_slice(&[0.7f64, 3.0, 12.5]), 1.7f64);
    let w = Wishart::from_covariance(nu.copy(), Tensor::from_slice(&[s2]).reshape([1, 1])).unwrap();
    let g = Gamma::new(&nu * 0.5, Tensor::from_slice(&[0.5 / s2])).unwrap();
    let x = Tensor::from_slice(&[0.01f64, 1.0, 7.0, 40.0]).reshape([4, 1, 1, 1]);
    assert!(max_abs_diff(&w.log_prob(&x).unwrap(), &g.log_prob(&x.reshape([4, 1])).unwrap()) < 1e-12);
    assert!(max_abs_diff(&w.entropy().unwrap(), &g.entropy().unwrap()) < 1e-12);
    assert!(max_abs_diff(&w.mean().unwrap().reshape([3]), &g.mean().unwrap()) < 1e-12);
    // the (0, 0) entry's variance ν (Σ² + Σ²) = 2 ν σ⁴ is the gamma's variance
    assert!(max_abs_diff(&w.variance().unwrap().reshape([3]), &g.variance().unwrap()) < 1e-10);

    let d = 3i64;
    let l = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 0.4, 0.8, 0.0, -0.3, 0.2, 1.3]).reshape([3, 3]);
    let sigma = l.matmul(&l.tr());
    let nu = 5.5f64;
    let df = || Tensor::from_slice(&[nu]).reshape([]);
    let forms = [
        Wishart::from_scale_tril(df(), l.copy()).unwrap(),
        Wishart::from_covariance(df(), sigma.copy()).unwrap(),
        Wishart::from_precision(df(), sigma.inverse()).unwrap(),
    ];
    let x = forms[0].sample(&[8]).unwrap();
    // the density with explicit inverse and determinant
    let (lgamma_sum, pi) = ((0..d).map(|j| Tensor::from_slice(&[nu / 2.0 - j as f64 / 2.0]).lgamma().double_value(&[0])).sum::<f64>(), std::f64::consts::PI);
    let log_norm = nu * d as f64 / 2.0 * 2f64.ln() + nu / 2.0 * sigma.logdet().double_value(&[]) + (d * (d - 1)) as f64 / 4.0 * pi.ln() + lgamma_sum;
    let trace = sigma.inverse().matmul(&x).diagonal(0, -2, -1).sum_dim_intlist(-1, false, Kind::Double);
    let want = x.logdet() * ((nu - d as f64 - 1.0) / 2.0) - trace * 0.5 - log_norm;
    for w in &forms {
        assert!(max_abs_diff(&w.log_prob(&x).unwrap(), &want) < 1e-10);
        assert!(max_abs_diff(&w.scale_tril().unwrap(), &l) < 1e-12);
    }
    let n = 200_000;
    let s = forms[1].rsample(&[n]).unwrap();
    let mean = forms[1].mean().unwrap();
    let var = forms[1].variance().unwrap();
    assert!(max_abs_diff(&mean, &(&sigma * nu)) < 1e-12);
    let sm = s.mean_dim(0, false, Kind::Double);
    let z = ((&sm - &mean) / (&var / n as f64).sqrt()).abs().max().double_value(&[]);
    assert!(z < 6.0, "sample mean off by {z} standard errors");
    let sv = (&s - &mean).square().mean_dim(0, false, Kind::Double);
    // the variance estimate's spread from the fourth central moments of the draws
    let m4 = (&s - &mean).pow_tensor_scalar(4).mean_dim(0, false, Kind::Double);
    let z = ((&sv - &var) / ((m4 - var.square()) / n as f64).sqrt()).abs().max().double_value(&[]);
    assert!(z < 6.0, "sample variance off by {z} standard errors");
    let lp = forms[1].log_prob(&s).unwrap();
    let h = -lp.mean(Kind::Double).double_value(&[]);
    let se = (lp.var(true).double_value(&[]) / n as f64).sqrt();
    let want_h = forms[1].entropy().unwrap().double_value(&[]);
    assert!((h - want_h).abs() < 6.0 * se, "-E log p {h} vs entropy {want_h} (se {se})");
}
