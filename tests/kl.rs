//! KL divergences: closed forms against scalar formulas and against Monte-Carlo estimates;
//! unsupported pairs are errors that name the pair.

mod common;

use common::{seeded, to_vec};
use tch::{Device, Kind, Tensor};
use tch_distributions::distributions::{
    Bernoulli, Beta, Categorical, Dirichlet, Distribution, Gamma, Independent, Laplace, MixtureSameFamily,
    MultivariateNormal, MultivariateNormalDiag, MultivariateNormalTriL, Normal, OneHotCategorical, Uniform,
};
use tch_distributions::kl::{kl_divergence, kl_divergence_mc};

const F64: (Kind, Device) = (Kind::Double, Device::Cpu);

/// Checks a closed-form KL against a Monte-Carlo estimate from 200000 draws: within 6 standard
/// errors (estimated from the same draws); a false failure has probability ~2e-9 per element.
fn against_monte_carlo(p: &dyn Distribution, q: &dyn Distribution) {
    let exact = to_vec(&kl_divergence(p, q).unwrap());
    let n = 200_000;
    let x = p.sample(&[n]).unwrap();
    let diff = p.log_prob(&x).unwrap() - q.log_prob(&x).unwrap();
    let mc = to_vec(&diff.mean_dim(0, false, Kind::Double));
    let se = to_vec(&(diff.std_dim(0, true, false) / (n as f64).sqrt()));
    for i in 0..exact.len() {
        assert!(
            (exact[i] - mc[i]).abs() < 6.0 * se[i] + 1e-12,
            "{}||{}: exact {} vs MC {} ± {}",
            p.type_name(),
            q.type_name(),
            exact[i],
            mc[i],
            se[i]
        );
    }
}

#[test]
fn normal_normal_matches_the_formula_and_monte_carlo() {
    let _g = seeded(30);
    let (mp, sp, mq, sq): ([f64; 2], [f64; 2], [f64; 2], [f64; 2]) = ([0.3, -1.0], [0.5, 2.0], [1.0, 0.0], [1.5, 0.7]);
    let p = Normal::new(Tensor::from_slice(&mp), Tensor::from_slice(&sp)).unwrap();
    let q = Normal::new(Tensor::from_slice(&mq), Tensor::from_slice(&sq)).unwrap();
    let kl = to_vec(&kl_divergence(&p, &q).unwrap());
    for i in 0..2 {
        let want =
            (sq[i] / sp[i]).ln() + (sp[i] * sp[i] + (mp[i] - mq[i]) * (mp[i] - mq[i])) / (2.0 * sq[i] * sq[i]) - 0.5;
        assert!((kl[i] - want).abs() < 1e-14, "{} vs {want}", kl[i]);
    }
    against_monte_carlo(&p, &q);
    assert!(to_vec(&kl_divergence(&p, &p).unwrap()).iter().all(|v| v.abs() < 1e-15));
}

#[test]
fn independent_sums_the_base_kl() {
    let _g = seeded(31);
    let p =
        Independent::new(Normal::new(Tensor::randn([3, 4], F64), Tensor::rand([3, 4], F64) + 0.5).unwrap(), 1).unwrap();
    let q =
        Independent::new(Normal::new(Tensor::randn([3, 4], F64), Tensor::rand([3, 4], F64) + 0.5).unwrap(), 1).unwrap();
    let kl = kl_divergence(&p, &q).unwrap();
    assert_eq!(kl.size(), vec![3]);
    let base = kl_divergence(p.base(), q.base()).unwrap().sum_dim_intlist(-1, false, Kind::Double);
    assert!((kl - base).abs().max().double_value(&[]) < 1e-14);
    against_monte_carlo(&p, &q);
}

#[test]
fn mvn_tril_and_categorical_match_monte_carlo() {
    let _g = seeded(32);
    let tril = |seed: f64| {
        let a = Tensor::randn([2, 3, 3], F64).tril(0) * 0.5;
        a + Tensor::eye(3, F64) * (1.0 + seed)
    };
    let p = MultivariateNormalTriL::new(Tensor::randn([2, 3], F64), tril(0.0)).unwrap();
    let q = MultivariateNormalTriL::new(Tensor::randn([2, 3], F64), tril(0.5)).unwrap();
    against_monte_carlo(&p, &q);
    // A shared scale: the KL reduces to half the Mahalanobis distance of the means.
    let l = tril(0.2);
    let (mp, mq) = (Tensor::randn([2, 3], F64), Tensor::randn([2, 3], F64));
    let p2 = MultivariateNormalTriL::new(mp.copy(), l.copy()).unwrap();
    let q2 = MultivariateNormalTriL::new(mq.copy(), l.copy()).unwrap();
    let cov = l.matmul(&l.transpose(-1, -2));
    let diff = (&mq - &mp).unsqueeze(-1);
    let want = diff.transpose(-1, -2).matmul(&cov.inverse()).matmul(&diff).reshape([2]) * 0.5;
    assert!((kl_divergence(&p2, &q2).unwrap() - want).abs().max().double_value(&[]) < 1e-12);

    let cp = Categorical::new(Tensor::randn([4, 5], F64)).unwrap();
    let cq = Categorical::new(Tensor::randn([4, 5], F64)).unwrap();
    let kl = to_vec(&kl_divergence(&cp, &cq).unwrap());
    let (pp, lq) = (to_vec(&cp.probs().unwrap()), to_vec(&cq.log_probs().unwrap()));
    for b in 0..4 {
        let want: f64 = (0..5).map(|k| pp[b * 5 + k] * (pp[b * 5 + k].ln() - lq[b * 5 + k])).sum();
        assert!((kl[b] - want).abs() < 1e-13);
    }
}

#[test]
fn monte_carlo_kl_is_differentiable_and_close() {
    let _g = seeded(33);
    let loc = Tensor::zeros([2], F64).set_requires_grad(true);
    let p = Normal::new(loc.shallow_clone(), Tensor::ones([2], F64)).unwrap();
    let q = Normal::new(Tensor::ones([2], F64), Tensor::ones([2], F64) * 2.0).unwrap();
    let mc = kl_divergence_mc(&p, &q, 100_000).unwrap();
    let exact = kl_divergence(&p, &q).unwrap();
    assert!((&mc - &exact).abs().max().double_value(&[]) < 0.02, "{mc:?} vs {exact:?}");
    mc.sum(Kind::Double).backward();
    // d/dloc KL = (loc - 1)/4 = -0.25 per element; MC gradient within 0.01.
    for g in to_vec(&loc.grad()) {
        assert!((g + 0.25).abs() < 0.01, "{g}");
    }
    assert!(kl_divergence_mc(&p, &q, 0).is_err());
}

#[test]
fn unsupported_pairs_are_errors_naming_the_pair() {
    let n = Normal::new(Tensor::zeros([3], F64), Tensor::ones([3], F64)).unwrap();
    let mix = MixtureSameFamily::new(
        Categorical::new(Tensor::zeros([3], F64)).unwrap(),
        Normal::new(Tensor::zeros([3], F64), Tensor::ones([3], F64)).unwrap(),
    )
    .unwrap();
    let err = kl_divergence(&mix, &mix).unwrap_err().to_string();
    assert!(err.contains("no closed form for KL(MixtureSameFamily || MixtureSameFamily)"), "{err}");
    let mvn = MultivariateNormalTriL::new(Tensor::zeros([3], F64), Tensor::eye(3, F64)).unwrap();
    let err = kl_divergence(&n, &mvn).unwrap_err().to_string();
    assert!(err.contains("event shapes differ"), "{err}");
    let n32 =
        Normal::new(Tensor::zeros([3], (Kind::Float, Device::Cpu)), Tensor::ones([3], (Kind::Float, Device::Cpu)))
            .unwrap();
    assert!(kl_divergence(&n, &n32).unwrap_err().to_string().contains("float64"));
    // The Monte-Carlo estimator handles a pair without a closed form.
    let mc =
        kl_divergence_mc(&mix, &Normal::new(Tensor::zeros([], F64), Tensor::ones([], F64)).unwrap(), 1000).unwrap();
    assert_eq!(mc.size(), Vec::<i64>::new());
}

// ---- Scalar special functions for the reference formulas (independent of libtorch). ----

/// `log Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; about 1e-15 relative).
fn lgamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin().abs()).ln() - lgamma(1.0 - x);
    }
    let x = x - 1.0;
    let a = C[0] + (1..9).map(|i| C[i] / (x + i as f64)).sum::<f64>();
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ψ(x)` for `x > 0`: the recurrence up to `x >= 10`, then the asymptotic series.
fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    acc + x.ln()
        - 0.5 / x
        - x2 * (1.0 / 12.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 252.0 - x2 * (1.0 / 240.0 - x2 / 132.0))))
}

fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{g} vs {w}");
    }
}

#[test]
fn reference_special_functions_are_accurate() {
    // Γ(5) = 24, Γ(1/2) = √π, ψ(1) = -γ, ψ(1/2) = -γ - 2 ln 2.
    let euler = 0.577_215_664_901_532_9;
    assert!((lgamma(5.0) - 24f64.ln()).abs() < 1e-13);
    assert!((lgamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    assert!((digamma(1.0) + euler).abs() < 1e-13);
    assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-13);
}

#[test]
fn bernoulli_matches_the_formula_monte_carlo_and_extreme_probabilities() {
    let _g = seeded(34);
    let (pp, pq): ([f64; 3], [f64; 3]) = ([0.2, 0.5, 0.9], [0.6, 0.1, 0.85]);
    let p = Bernoulli::from_probs(Tensor::from_slice(&pp)).unwrap();
    let q = Bernoulli::from_probs(Tensor::from_slice(&pq)).unwrap();
    let want: Vec<f64> =
        (0..3).map(|i| pp[i] * (pp[i] / pq[i]).ln() + (1.0 - pp[i]) * ((1.0 - pp[i]) / (1.0 - pq[i])).ln()).collect();
    close(&to_vec(&kl_divergence(&p, &q).unwrap()), &want, 1e-13);
    against_monte_carlo(&p, &q);
    // The same from logits.
    let logit = |v: &[f64]| Tensor::from_slice(&v.iter().map(|p| (p / (1.0 - p)).ln()).collect::<Vec<_>>());
    let pl = Bernoulli::from_logits(logit(&pp)).unwrap();
    let ql = Bernoulli::from_logits(logit(&pq)).unwrap();
    close(&to_vec(&kl_divergence(&pl, &ql).unwrap()), &want, 1e-13);

    // Logits a and -a: KL = a (2σ(a) - 1) = a tanh(a/2), accurate far into the tails.
    let a = [40.0f64, 1e3, -60.0];
    let p = Bernoulli::from_logits(Tensor::from_slice(&a)).unwrap();
    let q = Bernoulli::from_logits(-Tensor::from_slice(&a)).unwrap();
    close(&to_vec(&kl_divergence(&p, &q).unwrap()), &a.map(|a: f64| a * (a / 2.0).tanh()), 1e-14);
    // Probabilities both near 1: the KL is ~e^-25, lost by the naive formula in probs.
    let p = Bernoulli::from_logits(Tensor::from_slice(&[30.0f64])).unwrap();
    let q = Bernoulli::from_logits(Tensor::from_slice(&[25.0f64])).unwrap();
    let ls = |x: f64| -(-x).exp().ln_1p(); // log σ(x), x > 0
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let want = s(30.0) * (ls(30.0) - ls(25.0)) + s(-30.0) * ((ls(30.0) - 30.0) - (ls(25.0) - 25.0));
    let got = kl_divergence(&p, &q).unwrap().double_value(&[0]);
    assert!(want > 0.0 && (got - want).abs() < 1e-10 * want, "{got} vs {want}");

    // Probabilities exactly 0 or 1 (torch's conventions): 0 log 0 = 0, mass where q has none is inf.
    let p = Bernoulli::from_probs(Tensor::from_slice(&[0.0f64, 1.0, 0.0, 1.0, 0.5, 0.5])).unwrap();
    let q = Bernoulli::from_probs(Tensor::from_slice(&[0.3f64, 0.3, 0.0, 1.0, 0.0, 1.0])).unwrap();
    let kl = to_vec(&kl_divergence(&p, &q).unwrap());
    close(&kl[..4], &[-(0.7f64.ln()), -(0.3f64.ln()), 0.0, 0.0], 1e-14);
    assert_eq!(kl[4..], [f64::INFINITY, f64::INFINITY]);
}

#[test]
fn gamma_beta_and_dirichlet_match_the_formulas_and_monte_carlo() {
    let _g = seeded(35);
    // Gamma(α, β): αq ln(βp/βq) + lnΓ(αq) - lnΓ(αp) + (αp - αq) ψ(αp) + (βq - βp) αp/βp.
    let (ap, bp, aq, bq): ([f64; 3], [f64; 3], [f64; 3], [f64; 3]) =
        ([0.7, 2.0, 5.0], [1.0, 0.5, 3.0], [1.5, 2.0, 0.8], [2.0, 0.5, 1.2]);
    let p = Gamma::new(Tensor::from_slice(&ap), Tensor::from_slice(&bp)).unwrap();
    let q = Gamma::new(Tensor::from_slice(&aq), Tensor::from_slice(&bq)).unwrap();
    let want: Vec<f64> = (0..3)
        .map(|i| {
            aq[i] * (bp[i] / bq[i]).ln() + lgamma(aq[i]) - lgamma(ap[i])
                + (ap[i] - aq[i]) * digamma(ap[i])
                + (bq[i] - bp[i]) * ap[i] / bp[i]
        })
        .collect();
    let kl = to_vec(&kl_divergence(&p, &q).unwrap());
    close(&kl, &want, 1e-11);
    assert!(kl[1].abs() < 1e-15);
    against_monte_carlo(&p, &q);

    // Beta(a, b), by the log-density integral: E_p[ln p - ln q] with E ln x = ψ(a) - ψ(a+b),
    // E ln(1-x) = ψ(b) - ψ(a+b).
    let (cp1, cp0, cq1, cq0): ([f64; 3], [f64; 3], [f64; 3], [f64; 3]) =
        ([0.5, 2.0, 4.0], [0.8, 3.0, 1.5], [1.0, 2.5, 0.6], [2.0, 1.0, 0.9]);
    let p = Beta::new(Tensor::from_slice(&cp1), Tensor::from_slice(&cp0)).unwrap();
    let q = Beta::new(Tensor::from_slice(&cq1), Tensor::from_slice(&cq0)).unwrap();
    let lbeta = |a: f64, b: f64| lgamma(a) + lgamma(b) - lgamma(a + b);
    let want: Vec<f64> = (0..3)
        .map(|i| {
            let el = digamma(cp1[i]) - digamma(cp1[i] + cp0[i]);
            let el1 = digamma(cp0[i]) - digamma(cp1[i] + cp0[i]);
            (cp1[i] - cq1[i]) * el + (cp0[i] - cq0[i]) * el1 - lbeta(cp1[i], cp0[i]) + lbeta(cq1[i], cq0[i])
        })
        .collect();
    close(&to_vec(&kl_divergence(&p, &q).unwrap()), &want, 1e-11);
    against_monte_carlo(&p, &q);

    // Dirichlet over two categories is the Beta of its two concentrations.
    let stack = |a: &[f64], b: &[f64]| Tensor::stack(&[Tensor::from_slice(a), Tensor::from_slice(b)], -1);
    let dp = Dirichlet::new(stack(&cp1, &cp0)).unwrap();
    let dq = Dirichlet::new(stack(&cq1, &cq0)).unwrap();
    close(&to_vec(&kl_divergence(&dp, &dq).unwrap()), &want, 1e-11);

    // Dirichlet over four, with a broadcast q: E_p ln x_k = ψ(α_k) - ψ(α₀).
    let alpha_p = [[0.5f64, 1.0, 2.0, 3.0], [4.0, 0.7, 1.3, 2.2]];
    let alpha_q = [1.5f64, 0.6, 2.5, 1.0];
    let dp = Dirichlet::new(Tensor::from_slice2(&alpha_p)).unwrap();
    let dq = Dirichlet::new(Tensor::from_slice(&alpha_q)).unwrap();
    let kl = kl_divergence(&dp, &dq).unwrap();
    assert_eq!(kl.size(), vec![2]);
    let want: Vec<f64> = alpha_p
        .iter()
        .map(|a| {
            let (s, sq): (f64, f64) = (a.iter().sum(), alpha_q.iter().sum());
            let log_norm = |a: &[f64], s: f64| lgamma(s) - a.iter().map(|&v| lgamma(v)).sum::<f64>();
            log_norm(a, s) - log_norm(&alpha_q, sq)
                + (0..4).map(|k| (a[k] - alpha_q[k]) * (digamma(a[k]) - digamma(s))).sum::<f64>()
        })
        .collect();
    close(&to_vec(&kl), &want, 1e-11);
    against_monte_carlo(&dp, &dq);
}

#[test]
fn uniform_and_laplace_match_the_formulas() {
    let _g = seeded(36);
    // Inside: ln((hq - lq)/(hp - lp)); not inside (partly or wholly outside): inf.
    let p = Uniform::new(
        Tensor::from_slice(&[0.0f64, 0.0, -1.0, 2.0, 0.0]),
        Tensor::from_slice(&[1.0f64, 1.0, 1.0, 3.0, 1.0]),
    )
    .unwrap();
    let q = Uniform::new(
        Tensor::from_slice(&[-1.0f64, 0.0, -0.5, 0.0, 0.0]),
        Tensor::from_slice(&[3.0f64, 1.0, 2.0, 1.0, 0.5]),
    )
    .unwrap();
    let kl = to_vec(&kl_divergence(&p, &q).unwrap());
    close(&kl[..2], &[4f64.ln(), 0.0], 1e-15);
    assert_eq!(kl[2..], [f64::INFINITY; 3]);
    let p = Uniform::new(Tensor::from_slice(&[0.0f64, 0.5]), Tensor::from_slice(&[1.0f64, 0.7])).unwrap();
    let q = Uniform::new(Tensor::from_slice(&[-0.5f64]), Tensor::from_slice(&[2.0f64])).unwrap();
    against_monte_carlo(&p, &q);

    // Laplace: ln(bq/bp) + |μp - μq|/bq + (bp/bq) e^(-|μp - μq|/bp) - 1.
    let (mp, bp, mq, bq): ([f64; 3], [f64; 3], [f64; 3], [f64; 3]) =
        ([0.0, 1.0, -2.0], [1.0, 0.5, 2.0], [0.5, 1.0, 1.0], [2.0, 0.5, 0.7]);
    let p = Laplace::new(Tensor::from_slice(&mp), Tensor::from_slice(&bp)).unwrap();
    let q = Laplace::new(Tensor::from_slice(&mq), Tensor::from_slice(&bq)).unwrap();
    let want: Vec<f64> = (0..3)
        .map(|i| {
            let d = (mp[i] - mq[i]).abs();
            (bq[i] / bp[i]).ln() + d / bq[i] + bp[i] / bq[i] * (-d / bp[i]).exp() - 1.0
        })
        .collect();
    let kl = to_vec(&kl_divergence(&p, &q).unwrap());
    close(&kl, &want, 1e-14);
    assert!(kl[1].abs() < 1e-15);
    against_monte_carlo(&p, &q);
}

#[test]
fn one_hot_categorical_is_the_categorical_kl() {
    let _g = seeded(37);
    let (lp, lq) = (Tensor::randn([3, 4], F64), Tensor::randn([4], F64));
    let p = OneHotCategorical::new(lp.copy()).unwrap();
    let q = OneHotCategorical::new(lq.copy()).unwrap();
    let kl = kl_divergence(&p, &q).unwrap();
    assert_eq!(kl.size(), vec![3]);
    let cat = kl_divergence(&Categorical::new(lp).unwrap(), &Categorical::new(lq).unwrap()).unwrap();
    assert!((&kl - cat).abs().max().double_value(&[]) < 1e-15);
    against_monte_carlo(&p, &q);
    // A zero probability in q where p has mass: inf; in p only: finite.
    let p = OneHotCategorical::from_probs(Tensor::from_slice(&[0.5f64, 0.5, 0.0])).unwrap();
    let q = OneHotCategorical::from_probs(Tensor::from_slice(&[0.5f64, 0.0, 0.5])).unwrap();
    assert_eq!(kl_divergence(&p, &q).unwrap().double_value(&[]), f64::INFINITY);
    let q = OneHotCategorical::from_probs(Tensor::from_slice(&[0.25f64, 0.25, 0.5])).unwrap();
    assert!((kl_divergence(&p, &q).unwrap().double_value(&[]) - 2f64.ln()).abs() < 1e-15);
}

/// A batch `[2]` of random lower-triangular factors with diagonals bounded away from 0.
fn random_tril(shift: f64) -> Tensor {
    Tensor::randn([2, 3, 3], F64).tril(-1) * 0.5 + (Tensor::rand([2, 3], F64) + 0.5 + shift).diag_embed(0, -2, -1)
}

#[test]
fn mvn_diag_matches_the_sum_of_normal_kls_and_the_tril_form() {
    let _g = seeded(38);
    let (mp, mq) = (Tensor::randn([2, 3], F64), Tensor::randn([3], F64));
    let (sp, sq) = (Tensor::rand([2, 3], F64) + 0.3, Tensor::rand([3], F64) + 0.6);
    let p = MultivariateNormalDiag::new(mp.copy(), sp.copy()).unwrap();
    let q = MultivariateNormalDiag::new(mq.copy(), sq.copy()).unwrap();
    let kl = kl_divergence(&p, &q).unwrap();
    assert_eq!(kl.size(), vec![2]);
    // Scalar Normal–Normal terms, summed.
    let (vmp, vsp, vmq, vsq) = (to_vec(&mp), to_vec(&sp), to_vec(&mq), to_vec(&sq));
    let want: Vec<f64> = (0..2)
        .map(|b| {
            (0..3)
                .map(|i| {
                    let (m1, s1, m2, s2) = (vmp[b * 3 + i], vsp[b * 3 + i], vmq[i], vsq[i]);
                    (s2 / s1).ln() + (s1 * s1 + (m1 - m2) * (m1 - m2)) / (2.0 * s2 * s2) - 0.5
                })
                .sum()
        })
        .collect();
    close(&to_vec(&kl), &want, 1e-13);
    // The same distributions as MultivariateNormalTriL with diagonal factors.
    let tp = MultivariateNormalTriL::new(mp.copy(), sp.diag_embed(0, -2, -1)).unwrap();
    let tq = MultivariateNormalTriL::new(mq.copy(), sq.diag_embed(0, -2, -1)).unwrap();
    for (a, b) in [(&tp as &dyn Distribution, &tq as &dyn Distribution), (&tp, &q), (&p, &tq)] {
        assert!((kl_divergence(a, b).unwrap() - &kl).abs().max().double_value(&[]) < 1e-12);
    }
    // Negative scales describe the same distribution (TFP reads |s|).
    let pn = MultivariateNormalDiag::new(mp.copy(), -&sp).unwrap();
    assert!((kl_divergence(&pn, &q).unwrap() - &kl).abs().max().double_value(&[]) < 1e-13);
    against_monte_carlo(&p, &q);
}

#[test]
fn mixed_gaussian_pairs_agree_and_match_monte_carlo() {
    let _g = seeded(39);
    let (mp, mq) = (Tensor::randn([2, 3], F64), Tensor::randn([2, 3], F64));
    let (lp, lq) = (random_tril(0.0), random_tril(0.3));
    let cov = |l: &Tensor| l.matmul(&l.transpose(-1, -2));
    let tril_p = MultivariateNormalTriL::new(mp.copy(), lp.copy()).unwrap();
    let tril_q = MultivariateNormalTriL::new(mq.copy(), lq.copy()).unwrap();
    let full_p = MultivariateNormal::from_covariance(mp.copy(), cov(&lp)).unwrap();
    let full_q = MultivariateNormal::from_covariance(mq.copy(), cov(&lq)).unwrap();
    let prec_q = MultivariateNormal::from_precision(mq.copy(), cov(&lq).inverse()).unwrap();
    let reference = kl_divergence(&tril_p, &tril_q).unwrap();
    // The closed form: (tr(Σq⁻¹Σp) + (μq-μp)ᵀΣq⁻¹(μq-μp) - d + ln det Σq - ln det Σp) / 2.
    let (sp, sq) = (cov(&lp), cov(&lq));
    let sq_inv = sq.inverse();
    let diff = (&mq - &mp).unsqueeze(-1);
    let want = (sq_inv.matmul(&sp).diagonal(0, -2, -1).sum_dim_intlist(-1, false, Kind::Double)
        + diff.transpose(-1, -2).matmul(&sq_inv).matmul(&diff).reshape([2])
        - 3.0
        + sq.logdet()
        - sp.logdet())
        * 0.5;
    assert!((&reference - want).abs().max().double_value(&[]) < 1e-12);
    let ps: [&dyn Distribution; 2] = [&tril_p, &full_p];
    let qs: [&dyn Distribution; 3] = [&tril_q, &full_q, &prec_q];
    for p in ps {
        for q in qs {
            let kl = kl_divergence(p, q).unwrap();
            assert!(
                (&kl - &reference).abs().max().double_value(&[]) < 1e-12,
                "{}||{}: {kl:?} vs {reference:?}",
                p.type_name(),
                q.type_name()
            );
        }
    }
    // Diagonal against full and the reverse, both ways equal to the triangular form.
    let sd = Tensor::rand([2, 3], F64) + 0.5;
    let diag = MultivariateNormalDiag::new(mp.copy(), sd.copy()).unwrap();
    let diag_as_full = MultivariateNormal::from_covariance(mp.copy(), sd.square().diag_embed(0, -2, -1)).unwrap();
    for (a, b) in [(&diag as &dyn Distribution, &full_q as &dyn Distribution), (&diag_as_full, &full_q)] {
        let kl = kl_divergence(a, b).unwrap();
        let want =
            kl_divergence(&MultivariateNormalTriL::new(mp.copy(), sd.diag_embed(0, -2, -1)).unwrap(), &tril_q).unwrap();
        assert!((kl - want).abs().max().double_value(&[]) < 1e-12);
    }
    let back = kl_divergence(&full_q, &diag).unwrap();
    let want =
        kl_divergence(&tril_q, &MultivariateNormalTriL::new(mp.copy(), sd.diag_embed(0, -2, -1)).unwrap()).unwrap();
    assert!((back - want).abs().max().double_value(&[]) < 1e-12);
    against_monte_carlo(&full_p, &diag);
    against_monte_carlo(&diag, &prec_q);
    assert!(kl_divergence(&full_p, &full_p).unwrap().abs().max().double_value(&[]) < 1e-12);
}

#[test]
fn closed_forms_give_finite_gradients() {
    let _g = seeded(40);
    let leaf = |t: Tensor| t.set_requires_grad(true);
    let check = |kl: Tensor, params: &[&Tensor]| {
        assert!(kl.isfinite().all().int64_value(&[]) != 0, "{kl:?}");
        kl.sum(Kind::Double).backward();
        for p in params {
            let g = p.grad();
            assert!(g.defined() && g.isfinite().all().int64_value(&[]) != 0, "{g:?}");
            assert!(g.abs().sum(Kind::Double).double_value(&[]) > 0.0);
        }
    };
    let (a, b) = (leaf(Tensor::randn([3], F64)), leaf(Tensor::randn([3], F64)));
    let kl = kl_divergence(
        &Bernoulli::from_logits(a.shallow_clone()).unwrap(),
        &Bernoulli::from_logits(b.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&a, &b]);
    // Logits far in the tails still give finite gradients.
    let (a, b) = (leaf(Tensor::from_slice(&[50.0f64, -800.0])), leaf(Tensor::from_slice(&[-50.0f64, 3.0])));
    let kl = kl_divergence(
        &Bernoulli::from_logits(a.shallow_clone()).unwrap(),
        &Bernoulli::from_logits(b.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&a, &b]);

    let pos = |n: i64| leaf(Tensor::rand([n], F64) + 0.5);
    let (c1, r1, c2, r2) = (pos(3), pos(3), pos(3), pos(3));
    let kl = kl_divergence(
        &Gamma::new(c1.shallow_clone(), r1.shallow_clone()).unwrap(),
        &Gamma::new(c2.shallow_clone(), r2.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&c1, &r1, &c2, &r2]);
    let (c1, r1, c2, r2) = (pos(3), pos(3), pos(3), pos(3));
    let kl = kl_divergence(
        &Beta::new(c1.shallow_clone(), r1.shallow_clone()).unwrap(),
        &Beta::new(c2.shallow_clone(), r2.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&c1, &r1, &c2, &r2]);
    let (c1, c2) = (pos(4), pos(4));
    let kl = kl_divergence(&Dirichlet::new(c1.shallow_clone()).unwrap(), &Dirichlet::new(c2.shallow_clone()).unwrap());
    check(kl.unwrap(), &[&c1, &c2]);
    let (m1, b1, m2, b2) = (leaf(Tensor::randn([3], F64)), pos(3), leaf(Tensor::randn([3], F64)), pos(3));
    let kl = kl_divergence(
        &Laplace::new(m1.shallow_clone(), b1.shallow_clone()).unwrap(),
        &Laplace::new(m2.shallow_clone(), b2.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&m1, &b1, &m2, &b2]);
    let (l1, h1) = (leaf(Tensor::from_slice(&[0.0f64, 1.0])), leaf(Tensor::from_slice(&[1.0f64, 2.0])));
    let (l2, h2) = (leaf(Tensor::from_slice(&[-1.0f64, 0.5])), leaf(Tensor::from_slice(&[1.5f64, 4.0])));
    let kl = kl_divergence(
        &Uniform::new(l1.shallow_clone(), h1.shallow_clone()).unwrap(),
        &Uniform::new(l2.shallow_clone(), h2.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&l1, &h1, &l2, &h2]);
    let (g1, g2) = (leaf(Tensor::randn([2, 4], F64)), leaf(Tensor::randn([2, 4], F64)));
    let kl = kl_divergence(
        &OneHotCategorical::new(g1.shallow_clone()).unwrap(),
        &OneHotCategorical::new(g2.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&g1, &g2]);

    // Gaussians: diagonal–diagonal, and diagonal against a full covariance A Aᵀ + I.
    let (m1, s1, m2, s2) = (leaf(Tensor::randn([2, 3], F64)), pos(3), leaf(Tensor::randn([3], F64)), pos(3));
    let kl = kl_divergence(
        &MultivariateNormalDiag::new(m1.shallow_clone(), s1.shallow_clone()).unwrap(),
        &MultivariateNormalDiag::new(m2.shallow_clone(), s2.shallow_clone()).unwrap(),
    );
    check(kl.unwrap(), &[&m1, &s1, &m2, &s2]);
    let (m1, s1, m2, a) =
        (leaf(Tensor::randn([3], F64)), pos(3), leaf(Tensor::randn([3], F64)), leaf(Tensor::randn([3, 3], F64)));
    let cov = a.matmul(&a.transpose(-1, -2)) + Tensor::eye(3, F64);
    let p = MultivariateNormalDiag::new(m1.shallow_clone(), s1.shallow_clone()).unwrap();
    let q = MultivariateNormal::from_covariance(m2.shallow_clone(), cov).unwrap();
    let kl = kl_divergence(&p, &q).unwrap() + kl_divergence(&q, &p).unwrap();
    check(kl, &[&m1, &s1, &m2, &a]);
}

#[test]
fn lognormal_transformed_and_broadcast_pairs_reduce_to_their_bases() {
    use std::sync::Arc;
    use tch_distributions::bijectors::{Bijector, Exp};
    use tch_distributions::distributions::{expand, LogNormal, TransformedDistribution};
    let f = |v: &[f64]| Tensor::from_slice(v);
    let (np, nq) =
        (Normal::new(f(&[0.3, -1.0]), f(&[0.5, 2.0])).unwrap(), Normal::new(f(&[1.0, 0.0]), f(&[1.5, 0.7])).unwrap());
    let want = kl_divergence(&np, &nq).unwrap();
    let lp = LogNormal::new(f(&[0.3, -1.0]), f(&[0.5, 2.0])).unwrap();
    let lq = LogNormal::new(f(&[1.0, 0.0]), f(&[1.5, 0.7])).unwrap();
    assert!((kl_divergence(&lp, &lq).unwrap() - &want).abs().max().double_value(&[]) < 1e-15);
    let exp: Arc<dyn Bijector> = Arc::new(Exp);
    let tp = TransformedDistribution::new(Box::new(Normal::new(f(&[0.3, -1.0]), f(&[0.5, 2.0])).unwrap()), exp.clone())
        .unwrap();
    let tq = TransformedDistribution::new(Box::new(Normal::new(f(&[1.0, 0.0]), f(&[1.5, 0.7])).unwrap()), exp).unwrap();
    assert!((kl_divergence(&tp, &tq).unwrap() - &want).abs().max().double_value(&[]) < 1e-15);
    // Different bijector objects: no closed form is assumed.
    let tr =
        TransformedDistribution::new(Box::new(Normal::new(f(&[1.0, 0.0]), f(&[1.5, 0.7])).unwrap()), Arc::new(Exp))
            .unwrap();
    assert!(kl_divergence(&tp, &tr).is_err());
    let bp = expand(Box::new(Normal::new(f(&[0.3, -1.0]), f(&[0.5, 2.0])).unwrap()), &[3, 2]).unwrap();
    let kl = kl_divergence(&bp, &nq).unwrap();
    assert_eq!(kl.size(), vec![3, 2]);
    assert!((kl - want.unsqueeze(0)).abs().max().double_value(&[]) < 1e-15);
}

// ---- The pairs of torch's registry beyond the first ones (same family and cross-family). ----

fn t(v: &[f64]) -> Tensor {
    Tensor::from_slice(v)
}

/// Boxes a distribution (the pair tables below mix families).
fn bx<D: Distribution + 'static>(d: anyhow::Result<D>) -> Box<dyn Distribution> {
    Box::new(d.unwrap())
}

#[test]
fn new_same_family_pairs_match_monte_carlo() {
    use tch_distributions::distributions::{Cauchy, Chi2, Exponential, Geometric, Gumbel, HalfNormal, Pareto, Poisson};
    let _g = seeded(41);
    let pairs: Vec<(Box<dyn Distribution>, Box<dyn Distribution>)> = vec![
        (bx(Cauchy::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))), bx(Cauchy::new(t(&[0.5, -1.0]), t(&[2.0, 0.5])))),
        (bx(Exponential::new(t(&[0.5, 2.0]))), bx(Exponential::new(t(&[1.0, 0.7])))),
        (bx(Geometric::from_probs(t(&[0.3, 0.8]))), bx(Geometric::from_logits(t(&[0.5, -1.0])))),
        (bx(Geometric::from_logits(t(&[-2.0, 3.0]))), bx(Geometric::from_probs(t(&[0.4, 0.6])))),
        (bx(Gumbel::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))), bx(Gumbel::new(t(&[0.5, -1.0]), t(&[1.5, 1.0])))),
        (bx(HalfNormal::new(t(&[1.0, 2.0]))), bx(HalfNormal::new(t(&[0.5, 3.0])))),
        // scale_p >= scale_q: finite
        (bx(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 1.5]))), bx(Pareto::new(t(&[0.5, 2.0]), t(&[2.0, 4.0])))),
        (bx(Poisson::new(t(&[0.5, 4.0]))), bx(Poisson::new(t(&[1.0, 3.0])))),
        (bx(Chi2::new(t(&[3.0, 5.0]))), bx(Chi2::new(t(&[2.0, 7.0])))),
    ];
    for (p, q) in &pairs {
        against_monte_carlo(p.as_ref(), q.as_ref());
        // KL(p || p) = 0.
        let zero = to_vec(&kl_divergence(p.as_ref(), p.as_ref()).unwrap());
        assert!(zero.iter().all(|v| v.abs() < 1e-12), "{}: {zero:?}", p.type_name());
    }
}

#[test]
fn cross_family_pairs_match_monte_carlo() {
    use tch_distributions::distributions::{Chi2, Exponential, Gumbel, Pareto, Poisson};
    let _g = seeded(42);
    let beta = || bx(Beta::new(t(&[2.0, 0.5]), t(&[3.0, 1.5])));
    let exponential = || bx(Exponential::new(t(&[0.5, 2.0])));
    let gamma = || bx(Gamma::new(t(&[2.0, 0.7]), t(&[1.0, 3.0])));
    let gumbel = || bx(Gumbel::new(t(&[1.0, 0.0]), t(&[1.0, 2.0])));
    let normal = || bx(Normal::new(t(&[0.5, 2.0]), t(&[1.0, 2.0])));
    let laplace = || bx(Laplace::new(t(&[0.0, 1.0]), t(&[1.0, 0.5])));
    // Inside [0, 1] and above the Pareto scale below.
    let uniform = || bx(Uniform::new(t(&[0.2, 0.5]), t(&[0.6, 0.9])));
    let pairs: Vec<(Box<dyn Distribution>, Box<dyn Distribution>)> = vec![
        (bx(Bernoulli::from_probs(t(&[0.2, 0.7]))), bx(Poisson::new(t(&[0.5, 2.0])))),
        (beta(), exponential()),
        (beta(), gamma()),
        (beta(), normal()),
        (beta(), bx(Uniform::new(t(&[-0.5, 0.0]), t(&[1.0, 2.0])))),
        (exponential(), gamma()),
        (exponential(), gumbel()),
        (exponential(), normal()),
        (gamma(), exponential()),
        (gamma(), gumbel()),
        (gamma(), normal()),
        (gumbel(), normal()),
        (laplace(), normal()),
        (normal(), gumbel()),
        (normal(), laplace()),
        // alpha > 2 (Exponential, Gamma) and > 4 (Normal: a finite variance of the estimate)
        (bx(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 2.5]))), exponential()),
        (bx(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 2.5]))), gamma()),
        (bx(Pareto::new(t(&[1.0, 2.0]), t(&[4.5, 6.0]))), normal()),
        (uniform(), beta()),
        (uniform(), exponential()),
        (uniform(), gamma()),
        (uniform(), gumbel()),
        (uniform(), normal()),
        (uniform(), bx(Pareto::new(t(&[0.1, 0.4]), t(&[2.0, 3.0])))),
        // Chi2 on either side, through the Gamma rules
        (bx(Chi2::new(t(&[3.0, 5.0]))), normal()),
        (bx(Chi2::new(t(&[3.0, 5.0]))), gamma()),
        (uniform(), bx(Chi2::new(t(&[3.0, 1.5])))),
        (beta(), bx(Chi2::new(t(&[3.0, 1.5])))),
    ];
    for (p, q) in &pairs {
        against_monte_carlo(p.as_ref(), q.as_ref());
    }
}

#[test]
fn chi2_is_gamma_with_half_df_and_rate_one_half() {
    use tch_distributions::distributions::{Chi2, Exponential, Gumbel, Pareto};
    let df = [3.0, 0.7];
    let chi2 = || bx(Chi2::new(t(&df)));
    let as_gamma = || bx(Gamma::new(t(&[1.5, 0.35]), t(&[0.5, 0.5])));
    let others: Vec<Box<dyn Distribution>> = vec![
        bx(Gamma::new(t(&[2.0, 0.7]), t(&[1.0, 3.0]))),
        bx(Chi2::new(t(&[1.0, 4.0]))),
        bx(Exponential::new(t(&[0.5, 2.0]))),
        bx(Gumbel::new(t(&[1.0, 0.0]), t(&[1.0, 2.0]))),
        bx(Normal::new(t(&[0.5, 2.0]), t(&[1.0, 2.0]))),
        bx(Uniform::new(t(&[0.2, -1.0]), t(&[0.6, 0.9]))),
        bx(Beta::new(t(&[2.0, 0.5]), t(&[3.0, 1.5]))),
        bx(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 0.8]))),
    ];
    let (a, b) = (chi2(), as_gamma());
    for o in &others {
        let (o, a, b) = (o.as_ref(), a.as_ref(), b.as_ref());
        for (x, y) in [(kl_divergence(a, o), kl_divergence(b, o)), (kl_divergence(o, a), kl_divergence(o, b))] {
            match (x, y) {
                (Ok(x), Ok(y)) => assert_eq!(to_vec(&x), to_vec(&y), "{}", o.type_name()),
                (x, y) => panic!("Chi2 and Gamma differ against {}: {x:?} vs {y:?}", o.type_name()),
            }
        }
    }
}

#[test]
fn pairs_whose_supports_do_not_nest_are_infinite() {
    use tch_distributions::distributions::{Exponential, Gumbel, Pareto, Poisson};
    // Always inf, of the broadcast batch shape: p batch [2], q batch [3, 1].
    let ps: Vec<Box<dyn Distribution>> = vec![
        bx(Beta::new(t(&[2.0, 0.5]), t(&[3.0, 1.5]))),
        bx(Exponential::new(t(&[0.5, 2.0]))),
        bx(Gamma::new(t(&[2.0, 0.7]), t(&[1.0, 3.0]))),
        bx(Gumbel::new(t(&[1.0, 0.0]), t(&[1.0, 2.0]))),
        bx(Laplace::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))),
        bx(Normal::new(t(&[0.5, 2.0]), t(&[1.0, 2.0]))),
        bx(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 1.5]))),
        bx(Poisson::new(t(&[0.5, 2.0]))),
    ];
    let col = |v: &[f64]| t(v).reshape([3, 1]);
    let beta_q = || bx(Beta::new(col(&[2.0, 1.0, 0.5]), col(&[1.0, 1.0, 3.0])));
    let exp_q = || bx(Exponential::new(col(&[1.0, 2.0, 3.0])));
    let gamma_q = || bx(Gamma::new(col(&[1.0, 2.0, 3.0]), col(&[1.0, 2.0, 3.0])));
    let pareto_q = || bx(Pareto::new(col(&[0.1, 0.2, 0.3]), col(&[1.0, 2.0, 3.0])));
    let uniform_q = || bx(Uniform::new(col(&[-10.0, 0.0, -1.0]), col(&[10.0, 1.0, 100.0])));
    let infinite: Vec<(usize, Box<dyn Distribution>)> = vec![
        (0, pareto_q()),
        (1, beta_q()),
        (1, pareto_q()),
        (1, uniform_q()),
        (2, beta_q()),
        (2, pareto_q()),
        (2, uniform_q()),
        (3, beta_q()),
        (3, exp_q()),
        (3, gamma_q()),
        (3, pareto_q()),
        (3, uniform_q()),
        (4, beta_q()),
        (4, exp_q()),
        (4, gamma_q()),
        (4, pareto_q()),
        (4, uniform_q()),
        (5, beta_q()),
        (5, exp_q()),
        (5, gamma_q()),
        (5, pareto_q()),
        (5, uniform_q()),
        (6, beta_q()),
        (6, uniform_q()),
        (7, bx(Bernoulli::from_probs(col(&[0.2, 0.5, 0.9])))),
    ];
    for (i, q) in &infinite {
        let kl = kl_divergence(ps[*i].as_ref(), q.as_ref()).unwrap();
        assert_eq!(kl.size(), vec![3, 2], "{}||{}", ps[*i].type_name(), q.type_name());
        assert!(to_vec(&kl).iter().all(|v| *v == f64::INFINITY), "{}||{}: {kl:?}", ps[*i].type_name(), q.type_name());
    }
}

/// The elements of `kl` that are `inf`, as booleans.
fn infinite_mask(kl: &Tensor) -> Vec<bool> {
    to_vec(kl).iter().map(|v| *v == f64::INFINITY).collect()
}

/// `kl` is finite where `want` is false and `inf` where it is true, and the gradients of the sum
/// of its finite elements with respect to `params` are finite everywhere (the discarded branch
/// does not leak NaN).
fn check_mask(kl: Tensor, want: &[bool], params: &[&Tensor]) {
    assert_eq!(infinite_mask(&kl), want, "{kl:?}");
    assert!(to_vec(&kl).iter().all(|v| !v.is_nan()), "{kl:?}");
    kl.where_scalarother(&kl.isfinite(), 0.0).sum(Kind::Double).backward();
    for p in params {
        let g = p.grad();
        assert!(g.defined() && to_vec(&g).iter().all(|v| v.is_finite()), "{g:?}");
    }
}

#[test]
fn partly_nested_supports_follow_torchs_conditions_with_finite_gradients() {
    use tch_distributions::distributions::{Exponential, Pareto, Poisson};
    let leaf = |v: &[f64]| t(v).set_requires_grad(true);
    let beta = || Beta::new(t(&[2.0, 0.5, 1.5]), t(&[3.0, 1.5, 0.7])).unwrap();

    // Beta–Uniform: inf where low > 0 or high < 1.
    let (l, h) = (leaf(&[-0.5, 0.1, -0.5]), leaf(&[1.5, 1.5, 0.9]));
    let q = Uniform::new(l.shallow_clone(), h.shallow_clone()).unwrap();
    check_mask(kl_divergence(&beta(), &q).unwrap(), &[false, true, true], &[&l, &h]);

    // Uniform–Beta: inf where high > 1 or low < 0 (the x log x of a negative bound would be NaN).
    let (l, h) = (leaf(&[0.2, -0.1, 0.5]), leaf(&[0.6, 0.5, 1.2]));
    let p = Uniform::new(l.shallow_clone(), h.shallow_clone()).unwrap();
    check_mask(kl_divergence(&p, &beta()).unwrap(), &[false, true, true], &[&l, &h]);

    // Uniform–Exponential and Uniform–Gamma: inf where low < 0.
    let (l, h) = (leaf(&[0.5, -0.1, -2.0]), leaf(&[1.0, 1.0, -1.0]));
    let p = Uniform::new(l.shallow_clone(), h.shallow_clone()).unwrap();
    check_mask(
        kl_divergence(&p, &Exponential::new(t(&[1.0, 2.0, 0.5])).unwrap()).unwrap(),
        &[false, true, true],
        &[&l, &h],
    );
    let (l, h) = (leaf(&[0.5, -0.1, -2.0]), leaf(&[1.0, 1.0, -1.0]));
    let p = Uniform::new(l.shallow_clone(), h.shallow_clone()).unwrap();
    check_mask(
        kl_divergence(&p, &Gamma::new(t(&[2.0, 0.5, 1.0]), t(&[1.0, 2.0, 3.0])).unwrap()).unwrap(),
        &[false, true, true],
        &[&l, &h],
    );

    // Uniform–Pareto: inf where low < scale.
    let (l, h) = (leaf(&[1.0, 0.5, -1.0]), leaf(&[2.0, 2.0, 2.0]));
    let p = Uniform::new(l.shallow_clone(), h.shallow_clone()).unwrap();
    let q = Pareto::new(t(&[1.0, 1.0, 1.0]), t(&[2.0, 3.0, 0.5])).unwrap();
    check_mask(kl_divergence(&p, &q).unwrap(), &[false, true, true], &[&l, &h]);

    // Pareto–Pareto: inf where scale_p < scale_q.
    let (m, a) = (leaf(&[2.0, 1.0]), leaf(&[3.0, 2.0]));
    let p = Pareto::new(m.shallow_clone(), a.shallow_clone()).unwrap();
    let q = Pareto::new(t(&[1.0, 2.0]), t(&[1.5, 1.5])).unwrap();
    check_mask(kl_divergence(&p, &q).unwrap(), &[false, true], &[&m, &a]);

    // Pareto–Exponential, Pareto–Gamma: inf where alpha <= 1; Pareto–Normal: alpha <= 2.
    let alphas = [0.5, 1.0, 1.5, 2.0, 2.5];
    let exp_q = Exponential::new(t(&[1.0])).unwrap();
    let gamma_q = Gamma::new(t(&[2.0]), t(&[1.0])).unwrap();
    let normal_q = Normal::new(t(&[1.0]), t(&[2.0])).unwrap();
    let cases: [(&dyn Distribution, [bool; 5]); 3] = [
        (&exp_q, [true, true, false, false, false]),
        (&gamma_q, [true, true, false, false, false]),
        (&normal_q, [true, true, true, true, false]),
    ];
    for (q, want) in cases {
        let (m, a) = (leaf(&[1.0; 5]), leaf(&alphas));
        let p = Pareto::new(m.shallow_clone(), a.shallow_clone()).unwrap();
        check_mask(kl_divergence(&p, q).unwrap(), &want, &[&m, &a]);
    }

    // Poisson–Bernoulli: inf, except a rate of 0 (a point mass at 0: -log(1 - π); torch: inf).
    let p = Poisson::new(t(&[0.0, 1.0])).unwrap();
    let kl = to_vec(&kl_divergence(&p, &Bernoulli::from_probs(t(&[0.3, 0.3])).unwrap()).unwrap());
    assert!((kl[0] + 0.7f64.ln()).abs() < 1e-15 && kl[1] == f64::INFINITY, "{kl:?}");
}

#[test]
fn boundary_parameters_give_the_limits() {
    use tch_distributions::distributions::{Geometric, Poisson};
    // Poisson(0) is a point mass at 0: KL(Poisson(0) || Poisson(λ)) = λ (torch: NaN).
    let kl = to_vec(&kl_divergence(&Poisson::new(t(&[0.0])).unwrap(), &Poisson::new(t(&[2.5])).unwrap()).unwrap());
    close(&kl, &[2.5], 1e-15);
    // ... and against a Poisson of rate 0, infinite where p is not.
    let kl = kl_divergence(&Poisson::new(t(&[1.0, 0.0])).unwrap(), &Poisson::new(t(&[0.0, 0.0])).unwrap()).unwrap();
    assert_eq!(to_vec(&kl), [f64::INFINITY, 0.0]);
    // Geometric with p = 1 (a point mass at 0): KL = -log q.
    let kl = kl_divergence(&Geometric::from_probs(t(&[1.0])).unwrap(), &Geometric::from_probs(t(&[0.25])).unwrap());
    close(&to_vec(&kl.unwrap()), &[4f64.ln()], 1e-15);
    // Uniform(0, 1): E log X = E log(1 - X) = -1, exact at the bounds (0 log 0 = 0).
    let (a, b) = (2.5, 0.7);
    let p = Uniform::new(t(&[0.0]), t(&[1.0])).unwrap();
    let kl = to_vec(&kl_divergence(&p, &Beta::new(t(&[a]), t(&[b])).unwrap()).unwrap());
    close(&kl, &[lgamma(a) + lgamma(b) - lgamma(a + b) + (a - 1.0) + (b - 1.0)], 1e-13);
    let (alpha, beta) = (2.5, 1.5);
    let kl = to_vec(&kl_divergence(&p, &Gamma::new(t(&[alpha]), t(&[beta])).unwrap()).unwrap());
    close(&kl, &[lgamma(alpha) - alpha * beta.ln() + (alpha - 1.0) + beta / 2.0], 1e-13);
}

#[test]
fn new_pairs_match_scalar_formulas() {
    use tch_distributions::distributions::{Cauchy, Exponential, Gumbel, HalfNormal};
    let euler = 0.577_215_664_901_532_9;
    // Cauchy: log(((γp + γq)² + (x₀p - x₀q)²) / (4 γp γq)).
    let kl = to_vec(
        &kl_divergence(&Cauchy::new(t(&[0.0]), t(&[1.0])).unwrap(), &Cauchy::new(t(&[2.0]), t(&[3.0])).unwrap())
            .unwrap(),
    );
    close(&kl, &[(20.0f64 / 12.0).ln()], 1e-15);
    // Exponential: λq/λp - log(λq/λp) - 1.
    let kl =
        to_vec(&kl_divergence(&Exponential::new(t(&[2.0])).unwrap(), &Exponential::new(t(&[0.5])).unwrap()).unwrap());
    close(&kl, &[0.25 - 0.25f64.ln() - 1.0], 1e-15);
    // HalfNormal: the Normal form with zero locations.
    let kl =
        to_vec(&kl_divergence(&HalfNormal::new(t(&[1.0])).unwrap(), &HalfNormal::new(t(&[2.0])).unwrap()).unwrap());
    close(&kl, &[2f64.ln() + 1.0 / 8.0 - 0.5], 1e-15);
    // Gumbel with equal scales: e^(d) Γ(2) - d - 1 + ... reduces to e^d - d - 1, d = (μq - μp)/β.
    let kl = to_vec(
        &kl_divergence(&Gumbel::new(t(&[0.0]), t(&[2.0])).unwrap(), &Gumbel::new(t(&[1.0]), t(&[2.0])).unwrap())
            .unwrap(),
    );
    let d: f64 = 0.5;
    close(&kl, &[-d + euler + d.exp() - (1.0 + euler)], 1e-14);
}

#[test]
fn closed_form_pairs_are_exactly_the_pairs_kl_divergence_accepts() {
    use tch_distributions::distributions::{
        Cauchy, Chi2, ContinuousBernoulli, Exponential, Geometric, Gumbel, HalfCauchy, HalfNormal, LogNormal, Pareto,
        Poisson, StudentT, Weibull,
    };
    use tch_distributions::kl::closed_form_pairs;
    let pairs = closed_form_pairs();
    let mut seen = std::collections::HashSet::new();
    assert!(pairs.iter().all(|p| seen.insert(*p)), "a pair listed twice");
    // One member of every scalar family (batch [2]); every ordered pair among them.
    let family = || -> Vec<Box<dyn Distribution>> {
        vec![
            bx(Normal::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))),
            bx(Laplace::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))),
            bx(Gamma::new(t(&[2.0, 0.5]), t(&[1.0, 3.0]))),
            bx(Chi2::new(t(&[3.0, 0.5]))),
            bx(Beta::new(t(&[2.0, 0.5]), t(&[3.0, 1.5]))),
            bx(Uniform::new(t(&[0.0, -1.0]), t(&[1.0, 3.0]))),
            bx(Bernoulli::from_logits(t(&[0.3, -2.0]))),
            bx(Cauchy::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))),
            bx(Exponential::new(t(&[0.5, 2.0]))),
            bx(Geometric::from_probs(t(&[0.3, 0.8]))),
            bx(Gumbel::new(t(&[0.0, 1.0]), t(&[1.0, 2.0]))),
            bx(HalfNormal::new(t(&[1.0, 2.0]))),
            bx(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 1.5]))),
            bx(Poisson::new(t(&[0.5, 4.0]))),
            bx(StudentT::new(t(&[5.0, 3.0]), t(&[0.0, 1.0]), t(&[1.0, 2.0]))),
            bx(LogNormal::new(t(&[0.0, 1.0]), t(&[0.5, 1.0]))),
            bx(HalfCauchy::new(t(&[1.0, 2.0]))),
            bx(Weibull::new(t(&[1.0, 2.0]), t(&[1.5, 0.5]))),
            bx(ContinuousBernoulli::from_logits(t(&[0.3, -2.0]))),
        ]
    };
    let (ps, qs) = (family(), family());
    let mut accepted = 0;
    for p in &ps {
        for q in &qs {
            let listed = pairs.contains(&(p.type_name(), q.type_name()));
            let kl = kl_divergence(p.as_ref(), q.as_ref());
            assert_eq!(kl.is_ok(), listed, "{}||{}: listed {listed}, got {kl:?}", p.type_name(), q.type_name());
            accepted += usize::from(listed);
        }
    }
    // 15 same-family pairs among these plus Chi2–Chi2, Chi2–Gamma and Gamma–Chi2; torch's 61
    // cross-family pairs among them; 14 more with Chi2 in place of Gamma (7 as p, 7 as q).
    assert_eq!(accepted, 15 + 3 + 61 + 14);
}

/// Binomial–Binomial against the sum over the support `Σ_k p(k) (log p(k) - log q(k))`; `inf`
/// where `p`'s count exceeds `q`'s; an error where `q`'s is larger (no closed form, as torch);
/// Poisson–Binomial `inf` except at rate 0 (a point mass at 0: `-n log(1 - π_q)`).
#[test]
fn binomial_pairs_match_the_sum_over_the_support() -> anyhow::Result<()> {
    use tch_distributions::distributions::{Binomial, Poisson};
    let f = |v: &[f64]| Tensor::from_slice(v);
    let p = Binomial::from_probs(f(&[12.0, 30.0]), f(&[0.3, 0.05]))?;
    let q = Binomial::from_logits(f(&[12.0, 30.0]), f(&[0.4, -1.0]))?;
    let kl = to_vec(&kl_divergence(&p, &q)?);
    let k = Tensor::arange_start(0, 31, (Kind::Double, Device::Cpu)).unsqueeze(1);
    let (lp, lq) = (p.log_prob(&k)?, q.log_prob(&k)?);
    // outside [0, n] the mass is 0: mask k > n (log_prob there is not a log-probability)
    let inside = k.le_tensor(&f(&[12.0, 30.0]));
    let terms = (lp.exp() * (&lp - &lq)).where_scalarother(&inside, 0.0);
    let want = to_vec(&terms.sum_dim_intlist(0, false, Kind::Double));
    close(&kl, &want, 1e-12);
    let bigger = Binomial::from_probs(f(&[13.0, 30.0]), f(&[0.3, 0.05]))?;
    let kl = to_vec(&kl_divergence(&bigger, &q)?);
    assert!(kl[0].is_infinite() && kl[1].is_finite(), "{kl:?}");
    let e = kl_divergence(&p, &bigger).unwrap_err().to_string();
    assert!(e.contains("q's total_count exceeds p's"), "{e}");
    let poisson = Poisson::new(f(&[0.0, 2.0]))?;
    let kl = to_vec(&kl_divergence(&poisson, &q)?);
    let q0 = to_vec(&q.log_prob(&f(&[0.0, 0.0]))?);
    assert!((kl[0] + q0[0]).abs() < 1e-14 && kl[1].is_infinite(), "{kl:?} vs -log q(0) = {}", -q0[0]);
    Ok(())
}

// ---- ContinuousBernoulli's pairs (torch's registry): quadrature, derivatives, inf. ----

/// `∫ p (log p - log q)` over `[low, high]` (per batch element, `low` and `high` of the batch
/// shape) by Simpson's rule on `n` intervals, in float64; where `p` is 0 (a Beta density at an
/// end of `[0, 1]`) the integrand is 0. The last point is `high - 1e-15` (a Uniform's support
/// excludes `high`).
fn simpson_kl(p: &dyn Distribution, q: &dyn Distribution, low: &Tensor, high: &Tensor, n: i64) -> Vec<f64> {
    let k = Tensor::arange(n + 1, F64);
    let mut shape = vec![n + 1];
    shape.extend(vec![1; low.dim()]);
    let k = k.reshape(shape.as_slice());
    let h = (high - low) / n as f64;
    // the last point a rounding inside `high` (a Uniform's density is 0 at its `high`)
    let x = (low + &k * &h).minimum(&(high - 1e-15));
    let (lp, lq) = (p.log_prob(&x).unwrap(), q.log_prob(&x).unwrap());
    let f = (lp.exp() * (&lp - &lq)).where_scalarother(&lp.isfinite(), 0.0);
    // Simpson's weights 1, 4, 2, 4, ..., 2, 4, 1 (times h/3).
    let w = (k.remainder(2.0) * 2.0 + 2.0).where_scalarother(&(k.gt(0.0).logical_and(&k.lt(n as f64))), 1.0);
    to_vec(&((f * w).sum_dim_intlist(0, false, Kind::Double) * h / 3.0))
}

/// `|got - want| <= abs + rel |want|`, elementwise.
fn close_to(what: &str, got: &[f64], want: &[f64], abs: f64, rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= abs + rel * w.abs(), "{what}[{i}]: {g} vs {w} (diff {:e})", g - w);
    }
}

/// Logits near 0 (inside the float64 Taylor band `|λ| < 0.2`, on both sides of its edge, and
/// `|λ| < 1e-3`), moderate, and large (`|λ| = 30`, where torch clamps `probs` in float32).
const CB_LOGITS_P: [f64; 10] = [0.0, 4e-4, -7e-4, 0.19, 0.21, 1.5, -5.0, 30.0, -30.0, 1e-4];
const CB_LOGITS_Q: [f64; 10] = [5e-4, -2e-4, 8e-4, 0.21, 0.19, -2.0, 3.0, 29.0, 30.0, -30.0];

/// Each finite ContinuousBernoulli pair against Simpson's rule for `∫ p (log p - log q)` on
/// 20000 intervals of the support of `p` ([0, 1], or the Uniform's bounds inside it), float64:
/// within `1e-13 + 1e-10 |KL|` (the quadrature of the smooth integrands is accurate to ~1e-13
/// relative, even at `λ = 30`, whose density has width 1/30; the Beta's `x^(a-1) log x` end
/// terms, `a >= 3`, to ~1e-11). KLs near `λ = 0` are as small as 1e-8, so the absolute part
/// checks the Taylor forms there.
#[test]
fn continuous_bernoulli_pairs_match_quadrature() {
    use tch_distributions::distributions::{ContinuousBernoulli, Exponential};
    let n = 20_000;
    let cb = |l: &[f64]| ContinuousBernoulli::from_logits(t(l)).unwrap();
    let (zeros, ones) = (Tensor::zeros([10], F64), Tensor::ones([10], F64));
    let (p, q) = (cb(&CB_LOGITS_P), cb(&CB_LOGITS_Q));
    let kl = to_vec(&kl_divergence(&p, &q).unwrap());
    close_to("CB–CB", &kl, &simpson_kl(&p, &q, &zeros, &ones, n), 1e-13, 1e-10);
    // from probs (torch's clamp, then the logit): the same KL as from those logits
    let pp = ContinuousBernoulli::from_probs(t(&[0.5, 0.5 + 1e-6, 0.499, 0.3, 1e-6, 1.0 - 1e-6, 0.8, 0.5011, 0.9, 0.1]))
        .unwrap();
    let kl_pp = to_vec(&kl_divergence(&pp, &q).unwrap());
    close_to("CB(probs)–CB", &kl_pp, &simpson_kl(&pp, &q, &zeros, &ones, n), 1e-13, 1e-10);

    let exp_q = Exponential::new(t(&[0.5, 1.0, 2.0, 3.0, 0.1, 1.0, 7.0, 0.5, 2.0, 1.0])).unwrap();
    let kl = to_vec(&kl_divergence(&p, &exp_q).unwrap());
    close_to("CB–Exponential", &kl, &simpson_kl(&p, &exp_q, &zeros, &ones, n), 1e-13, 1e-10);

    let normal_q = Normal::new(
        t(&[0.5, 0.0, 1.0, -2.0, 0.3, 0.7, 5.0, 1.0, 0.0, 100.0]),
        t(&[1.0, 0.1, 2.0, 0.5, 1.0, 0.3, 3.0, 0.05, 1.0, 10.0]),
    )
    .unwrap();
    let kl = to_vec(&kl_divergence(&p, &normal_q).unwrap());
    close_to("CB–Normal", &kl, &simpson_kl(&p, &normal_q, &zeros, &ones, n), 1e-13, 1e-10);

    let uniform_q = Uniform::new(t(&[-0.5; 10]), t(&[1.5, 2.0, 1.01, 3.0, 1.5, 1.5, 1.5, 1.5, 1.5, 100.0])).unwrap();
    let kl = to_vec(&kl_divergence(&p, &uniform_q).unwrap());
    close_to("CB–Uniform", &kl, &simpson_kl(&p, &uniform_q, &zeros, &ones, n), 1e-13, 1e-10);

    let beta_p = Beta::new(
        t(&[3.5, 3.0, 4.0, 3.5, 5.0, 3.5, 3.0, 10.0, 3.5, 3.0]),
        t(&[3.5, 3.0, 3.5, 6.0, 5.0, 3.5, 4.0, 3.0, 10.0, 3.0]),
    )
    .unwrap();
    let kl = to_vec(&kl_divergence(&beta_p, &q).unwrap());
    close_to("Beta–CB", &kl, &simpson_kl(&beta_p, &q, &zeros, &ones, n), 1e-13, 1e-10);

    let (low, high) = (
        t(&[0.1, 0.2, 0.4, 0.01, 0.3, 0.5, 0.05, 0.9, 0.001, 0.25]),
        t(&[0.9, 0.6, 0.41, 0.99, 0.7, 0.999, 0.5, 0.95, 0.1, 0.75]),
    );
    let uniform_p = Uniform::new(low.shallow_clone(), high.shallow_clone()).unwrap();
    let kl = to_vec(&kl_divergence(&uniform_p, &q).unwrap());
    close_to("Uniform–CB", &kl, &simpson_kl(&uniform_p, &q, &low, &high, n), 1e-13, 1e-10);
}

/// The gradients of the finite ContinuousBernoulli pairs against their derivatives from the
/// distributions' own mean and variance (`A'(λ) = mean`, `mean'(λ) = Var`, `H'(λ) = -λ Var`,
/// with `A(λ) = softplus(λ) - log C(λ)`), float64, within 1e-12 (1 + |d|); where no such form
/// exists (CB–Normal's `∂/∂λ`, which needs the third cumulant) a central difference of the
/// closed form (step 1e-5, within 1e-7 (1 + |d|)).
#[test]
fn continuous_bernoulli_gradients_match_the_derivatives() {
    use tch_distributions::distributions::{ContinuousBernoulli, Exponential};
    let leaf = |v: &[f64]| t(v).set_requires_grad(true);
    let grad_of = |kl: Tensor, x: &Tensor| -> Vec<f64> {
        x.shallow_clone().zero_grad();
        kl.sum(Kind::Double).backward();
        to_vec(&x.grad())
    };
    let v = |d: &dyn Distribution, f: &str| -> Tensor {
        match f {
            "mean" => d.mean().unwrap().detach(),
            _ => d.variance().unwrap().detach(),
        }
    };
    let (lp, lq) = (leaf(&CB_LOGITS_P), leaf(&CB_LOGITS_Q));
    let p = ContinuousBernoulli::from_logits(lp.shallow_clone()).unwrap();
    let q = ContinuousBernoulli::from_logits(lq.shallow_clone()).unwrap();
    let (mp, vp, mq) = (v(&p, "mean"), v(&p, "var"), v(&q, "mean"));
    let tol = 1e-12;
    // CB–CB: ∂/∂λq = mean_q - mean_p, ∂/∂λp = (λp - λq) Var_p.
    let g = grad_of(kl_divergence(&p, &q).unwrap(), &lq);
    close_to("CB–CB d/dλq", &g, &to_vec(&(&mq - &mp)), tol, tol);
    let g = grad_of(kl_divergence(&p, &q).unwrap(), &lp);
    close_to("CB–CB d/dλp", &g, &to_vec(&((lp.detach() - lq.detach()) * &vp)), tol, tol);

    // CB–Exponential: ∂/∂λ = (λ + rate) Var, ∂/∂rate = mean - 1/rate.
    let rate = leaf(&[0.5, 1.0, 2.0, 3.0, 0.1, 1.0, 7.0, 0.5, 2.0, 1.0]);
    let kl = || kl_divergence(&p, &Exponential::new(rate.shallow_clone()).unwrap()).unwrap();
    close_to("CB–Exponential d/dλ", &grad_of(kl(), &lp), &to_vec(&((lp.detach() + rate.detach()) * &vp)), tol, tol);
    close_to("CB–Exponential d/drate", &grad_of(kl(), &rate), &to_vec(&(&mp - rate.detach().reciprocal())), tol, tol);

    // CB–Normal: ∂/∂μ = (μ - mean)/σ², ∂/∂σ = 1/σ - (Var + (mean - μ)²)/σ³; ∂/∂λ by differences.
    let (mu, sigma) = (leaf(&[0.5, 0.0, 1.0, -2.0, 0.3, 0.7, 5.0, 1.0, 0.0, 100.0]), leaf(&[1.0; 10]));
    let kl = || kl_divergence(&p, &Normal::new(mu.shallow_clone(), sigma.shallow_clone()).unwrap()).unwrap();
    let (m, s) = (mu.detach(), sigma.detach());
    close_to("CB–Normal d/dμ", &grad_of(kl(), &mu), &to_vec(&((&m - &mp) / s.square())), tol, tol);
    let want = s.reciprocal() - (&vp + (&mp - &m).square()) / s.pow_tensor_scalar(3);
    close_to("CB–Normal d/dσ", &grad_of(kl(), &sigma), &to_vec(&want), tol, tol);
    let at = |shift: f64| {
        let p = ContinuousBernoulli::from_logits(lp.detach() + shift).unwrap();
        kl_divergence(&p, &Normal::new(m.shallow_clone(), s.shallow_clone()).unwrap()).unwrap()
    };
    let fd = to_vec(&((at(1e-5) - at(-1e-5)) / 2e-5));
    close_to("CB–Normal d/dλ", &grad_of(kl(), &lp), &fd, 1e-7, 1e-7);

    // CB–Uniform: ∂/∂λ = λ Var, ∂/∂low = -1/(high - low), ∂/∂high = 1/(high - low).
    let (low, high) = (leaf(&[-0.5; 10]), leaf(&[1.5, 2.0, 1.01, 3.0, 1.5, 1.5, 1.5, 1.5, 1.5, 100.0]));
    let kl = || kl_divergence(&p, &Uniform::new(low.shallow_clone(), high.shallow_clone()).unwrap()).unwrap();
    let w = high.detach() - low.detach();
    close_to("CB–Uniform d/dλ", &grad_of(kl(), &lp), &to_vec(&(lp.detach() * &vp)), tol, tol);
    close_to("CB–Uniform d/dlow", &grad_of(kl(), &low), &to_vec(&-w.reciprocal()), tol, tol);
    close_to("CB–Uniform d/dhigh", &grad_of(kl(), &high), &to_vec(&w.reciprocal()), tol, tol);

    // Beta–CB: ∂/∂λ = mean_q - mean_Beta.
    let beta = Beta::new(t(&[2.5, 3.0, 4.0, 2.5, 5.0, 0.5, 2.5, 10.0, 0.3, 3.0]), t(&[2.5; 10])).unwrap();
    let g = grad_of(kl_divergence(&beta, &q).unwrap(), &lq);
    close_to("Beta–CB d/dλ", &g, &to_vec(&(&mq - v(&beta, "mean"))), tol, tol);

    // Uniform–CB: ∂/∂λ = mean_q - (l + h)/2, ∂/∂l = 1/(h - l) - λ/2, ∂/∂h = -1/(h - l) - λ/2.
    let (low, high) = (leaf(&[0.1, 0.2, 0.4, 0.01, 0.3, 0.5, 0.05, 0.9, 0.001, 0.25]), leaf(&[0.95; 10]));
    let kl = || kl_divergence(&Uniform::new(low.shallow_clone(), high.shallow_clone()).unwrap(), &q).unwrap();
    let (l, h) = (low.detach(), high.detach());
    let w = &h - &l;
    close_to("Uniform–CB d/dλ", &grad_of(kl(), &lq), &to_vec(&(&mq - (&l + &h) * 0.5)), tol, tol);
    let half = lq.detach() * 0.5;
    close_to("Uniform–CB d/dlow", &grad_of(kl(), &low), &to_vec(&(w.reciprocal() - &half)), tol, tol);
    close_to("Uniform–CB d/dhigh", &grad_of(kl(), &high), &to_vec(&(-w.reciprocal() - &half)), tol, tol);
}

/// torch's all-`inf` ContinuousBernoulli pairs (the support of `p` is never inside that of `q`):
/// `inf` everywhere, of the broadcast batch shape (`p` batch `[2]`, `q` batch `[3, 1]`), Chi2
/// through the Gamma rule; and the partly nested CB–Uniform (`inf` where `low >= 0` or `high <=
/// 1`, torch's condition) and Uniform–CB (`inf` where `low <= 0` or `high >= 1`) with finite
/// gradients of the finite elements.
#[test]
fn continuous_bernoulli_pairs_outside_the_support_are_infinite() {
    use tch_distributions::distributions::{Chi2, ContinuousBernoulli, Exponential, Gumbel, Pareto};
    let col = |v: &[f64]| t(v).reshape([3, 1]);
    let cb_q = ContinuousBernoulli::from_logits(col(&[0.0, -3.0, 30.0])).unwrap();
    let ps: Vec<Box<dyn Distribution>> = vec![
        bx(Exponential::new(t(&[0.5, 2.0]))),
        bx(Gamma::new(t(&[2.0, 0.7]), t(&[1.0, 3.0]))),
        bx(Chi2::new(t(&[3.0, 0.5]))),
        bx(Gumbel::new(t(&[1.0, 0.0]), t(&[1.0, 2.0]))),
        bx(Laplace::new(t(&[0.0, 1.0]), t(&[1.0, 0.5]))),
        bx(Normal::new(t(&[0.5, 2.0]), t(&[1.0, 2.0]))),
        bx(Pareto::new(t(&[1.0, 2.0]), t(&[3.0, 1.5]))),
    ];
    let cb_p = ContinuousBernoulli::from_probs(t(&[0.5, 0.9])).unwrap();
    let pareto_q = Pareto::new(col(&[0.1, 0.2, 0.3]), col(&[1.0, 2.0, 3.0])).unwrap();
    let mut pairs: Vec<(&dyn Distribution, &dyn Distribution)> = ps.iter().map(|p| (p.as_ref(), &cb_q as _)).collect();
    pairs.push((&cb_p, &pareto_q));
    for (p, q) in pairs {
        let kl = kl_divergence(p, q).unwrap();
        assert_eq!(kl.size(), vec![3, 2], "{}||{}", p.type_name(), q.type_name());
        assert!(to_vec(&kl).iter().all(|v| *v == f64::INFINITY), "{}||{}: {kl:?}", p.type_name(), q.type_name());
    }

    let leaf = |v: &[f64]| t(v).set_requires_grad(true);
    let lam = leaf(&[0.3, 1e-4, -30.0, 2.0, 0.0]);
    let (l, h) = (leaf(&[-0.5, 0.0, -0.5, 0.1, -1e-9]), leaf(&[1.5, 1.5, 1.0, 2.0, 1.0 + 1e-9]));
    let p = ContinuousBernoulli::from_logits(lam.shallow_clone()).unwrap();
    let q = Uniform::new(l.shallow_clone(), h.shallow_clone()).unwrap();
    check_mask(kl_divergence(&p, &q).unwrap(), &[false, true, true, true, false], &[&lam, &l, &h]);

    let lam = leaf(&[0.3, 1e-4, -30.0, 2.0, 30.0]);
    let (l, h) = (leaf(&[0.2, 0.0, 0.5, -0.1, 1e-9]), leaf(&[0.6, 0.5, 1.0, 0.5, 1.0 - 1e-9]));
    let p = Uniform::new(l.shallow_clone(), h.shallow_clone()).unwrap();
    let q = ContinuousBernoulli::from_logits(lam.shallow_clone()).unwrap();
    check_mask(kl_divergence(&p, &q).unwrap(), &[false, true, true, true, false], &[&lam, &l, &h]);
}
