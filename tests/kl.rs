//! KL divergences: closed forms against scalar formulas and against Monte-Carlo estimates;
//! unsupported pairs are errors that name the pair.

mod common;

use common::{seeded, to_vec};
use tch::{Device, Kind, Tensor};
use tch_distributions::distributions::{
    Categorical, Distribution, Independent, MixtureSameFamily, MultivariateNormalTriL, Normal,
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
