//! Every continuous family's default event-space bijector maps unconstrained reals into its
//! support (finite log_prob there), and TransformedVariable::for_support builds variables from it.

#![allow(clippy::arc_with_non_send_sync)]

mod common;

#[allow(dead_code)]
#[path = "../examples/capabilities.rs"]
mod capabilities;

use common::seeded;
use tch::{nn, Device, Kind, Tensor};
use tch_distributions::distributions::{Dirichlet, Distribution, Gamma, GeneralizedPareto};
use tch_distributions::TransformedVariable;

#[test]
fn event_space_bijectors_land_in_the_support() {
    let _g = seeded(50);
    let mut checked = 0;
    for (name, d) in capabilities::catalog().unwrap() {
        let Ok(b) = d.default_event_space_bijector() else {
            assert!(
                ["Categorical", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Multinomial", "Bernoulli", "Poisson", "Geometric", "Binomial", "NegativeBinomial"].contains(&name),
                "{name} has no event-space bijector"
            );
            continue;
        };
        // Unconstrained draws of the shape the bijector takes, for sample + batch shape [50] + batch.
        let raw_event = b.inverse_event_shape(&d.event_shape()).unwrap();
        let mut shape = vec![50];
        shape.extend(d.batch_shape());
        shape.extend(raw_event);
        let raw = Tensor::randn(shape.as_slice(), (Kind::Double, Device::Cpu)) * 3.0;
        let y = b.forward(&raw).unwrap();
        let lp = d.log_prob(&y).unwrap();
        assert!(lp.isfinite().all().int64_value(&[]) == 1, "{name}: log_prob not finite on the bijector's image");
        checked += 1;
    }
    assert_eq!(checked, 41);
}

#[test]
fn transformed_variables_from_a_support() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let dirichlet = Dirichlet::new(Tensor::ones([4], (Kind::Double, Device::Cpu))).unwrap();
    let w = Tensor::from_slice(&[0.1f64, 0.2, 0.3, 0.4]);
    let v = TransformedVariable::for_support(&root, "w", &w, &dirichlet).unwrap();
    assert_eq!(v.raw().size(), vec![3]);
    assert!((v.value().unwrap() - &w).abs().max().double_value(&[]) < 1e-12);
    let gamma = Gamma::new(Tensor::from_slice(&[2.0f64]), Tensor::from_slice(&[1.0f64])).unwrap();
    let s = TransformedVariable::for_support(&root, "s", &Tensor::from_slice(&[0.5f64, 3.0]), &gamma).unwrap();
    assert!((s.value().unwrap() - Tensor::from_slice(&[0.5f64, 3.0])).abs().max().double_value(&[]) < 1e-12);
    let cat =
        tch_distributions::distributions::Categorical::new(Tensor::zeros([3], (Kind::Double, Device::Cpu))).unwrap();
    let err = TransformedVariable::for_support(&root, "c", &Tensor::from_slice(&[1.0f64]), &cat).unwrap_err();
    assert!(err.to_string().contains("Categorical.default_event_space_bijector"), "{err}");
}

// GeneralizedPareto's support depends on the sign of the concentration: the bijector lands in
// [loc, inf) or in [loc, loc - scale/concentration], checked by the support constraint itself
// (validation on), and inverts its own image; a batch mixing signs is an error.
#[test]
fn generalized_pareto_event_space() {
    let _g = seeded(51);
    let t = |v: &[f64]| Tensor::from_slice(v);
    for k in [[0.3, 0.0, 2.0], [-0.5, -2.0, -1e-3]] {
        let d =
            GeneralizedPareto::new(t(&[0.0, 1.0, -2.0]), t(&[1.0, 2.0, 0.5]), t(&k)).unwrap().with_validate_args(true);
        let b = d.default_event_space_bijector().unwrap();
        let raw = Tensor::randn([200, 3], (Kind::Double, Device::Cpu)) * 3.0;
        let y = b.forward(&raw).unwrap();
        let lp = d.log_prob(&y).unwrap(); // an error if y left the support
        assert!(lp.isfinite().all().int64_value(&[]) == 1, "{k:?}: log_prob not finite on the bijector's image");
        let back = b.inverse(&y).unwrap();
        assert!((back - &raw).abs().max().double_value(&[]) < 1e-6, "{k:?}: inverse(forward(x)) != x");
        if k[0] < 0.0 {
            let upper = t(&[2.0, 2.0, 498.0]);
            assert!(y.le_tensor(&upper).all().int64_value(&[]) == 1, "{k:?}: above loc - scale/concentration");
        }
    }
    let mixed = GeneralizedPareto::new(t(&[0.0]), t(&[1.0]), t(&[0.5, -0.5])).unwrap();
    let Err(e) = mixed.default_event_space_bijector() else { panic!("a mixed-sign batch gave a bijector") };
    let e = e.to_string();
    let want = "GeneralizedPareto.default_event_space_bijector: not implemented for a GeneralizedPareto batch mixing";
    assert!(e.contains(want), "{e}");
}

/// torch's `biject_to` / `transform_to`: each registered support's bijector maps unconstrained
/// draws into the support (checked by the support's defining property), inverts its image and
/// passes `check_bijector` (log-dets against autograd); every catalog family whose support is
/// registered gets a bijector whose image has a finite `log_prob`; the unregistered supports
/// are errors naming the function.
#[test]
fn biject_to_and_transform_to_cover_the_supports() {
    use tch_distributions::bijectors::{biject_to, testing::check_bijector, transform_to};
    use tch_distributions::distributions::Support;
    let _g = seeded(52);
    let f64s = (Kind::Double, Device::Cpu);
    let within = |s: &Support, y: &Tensor| -> bool {
        let all = |t: Tensor| t.all().int64_value(&[]) == 1;
        match s {
            Support::Real => all(y.isfinite()),
            Support::Positive => all(y.gt(0.0)),
            Support::GreaterThan(c) => all(y.gt(*c)),
            Support::LessThan(c) => all(y.lt(*c)),
            Support::UnitInterval => all(y.gt(0.0).logical_and(&y.lt(1.0))),
            Support::Between(a, b) => all(y.gt(*a).logical_and(&y.lt(*b))),
            Support::Simplex => {
                all(y.gt(0.0)) && all((y.sum_dim_intlist(-1, false, Kind::Double) - 1.0).abs().lt(1e-12))
            }
            Support::Ordered => all(y.diff(1, -1, None::<Tensor>, None::<Tensor>).gt(0.0)),
            Support::LowerCholesky => all(y.diagonal(0, -2, -1).gt(0.0)) && all(y.triu(1).eq(0.0)),
            Support::CorrelationCholesky => {
                all(y.diagonal(0, -2, -1).gt(0.0))
                    && all((y.square().sum_dim_intlist(-1, false, Kind::Double) - 1.0).abs().lt(1e-12))
            }
            Support::PositiveDefinite => all(y.linalg_cholesky_ex(false, false).1.eq(0)),
            other => panic!("{other:?}"),
        }
    };
    let cases: Vec<(Support, Vec<i64>)> = vec![
        (Support::Real, vec![5, 3]),
        (Support::Positive, vec![5, 3]),
        (Support::GreaterThan(2.5), vec![5, 3]),
        (Support::LessThan(-1.0), vec![5, 3]),
        (Support::UnitInterval, vec![5, 3]),
        (Support::Between(-2.0, 7.0), vec![5, 3]),
        (Support::Simplex, vec![5, 3]),
        (Support::Ordered, vec![5, 4]),
        (Support::LowerCholesky, vec![5, 3, 3]),
        (Support::CorrelationCholesky, vec![5, 6]),
        (Support::PositiveDefinite, vec![5, 3, 3]),
    ];
    for (support, raw_shape) in &cases {
        let b = biject_to(support).unwrap();
        let x = Tensor::randn(raw_shape.as_slice(), f64s);
        let y = b.forward(&x).unwrap();
        assert!(within(support, &y), "biject_to({support:?}): image outside the support");
        let back = b.inverse(&y).unwrap();
        let keep = if matches!(support, Support::LowerCholesky | Support::PositiveDefinite) { x.tril(0) } else { x.copy() };
        assert!((back - &keep).abs().max().double_value(&[]) < 1e-8, "biject_to({support:?}): inverse(forward(x)) != x");
        check_bijector(b.as_ref(), &keep, 1e-8, 1e-8).unwrap_or_else(|e| panic!("biject_to({support:?}): {e}"));
        if *support != Support::Simplex {
            assert_eq!(transform_to(support).unwrap().name(), b.name(), "transform_to({support:?})");
        }
    }
    let softmax = transform_to(&Support::Simplex).unwrap();
    let y = softmax.forward(&Tensor::randn([5, 4], f64s)).unwrap();
    assert_eq!(y.size(), vec![5, 4]);
    assert!(within(&Support::Simplex, &y));
    let mut registered = 0;
    for (name, d) in capabilities::catalog().unwrap() {
        let Ok(b) = biject_to(&d.support()) else { continue };
        let mut shape = vec![20];
        shape.extend(d.batch_shape());
        shape.extend(b.inverse_event_shape(&d.event_shape()).unwrap());
        let y = b.forward(&(Tensor::randn(shape.as_slice(), f64s) * 2.0)).unwrap();
        let lp = d.log_prob(&y).unwrap();
        assert!(lp.isfinite().all().int64_value(&[]) == 1, "{name}: log_prob not finite on biject_to's image");
        registered += 1;
    }
    assert!(registered >= 30, "{registered} catalog families with a registered support");
    for s in [Support::Interval, Support::Boolean, Support::Categories(3), Support::OneHot, Support::Other("x".into())] {
        let e = biject_to(&s).err().expect("an error").to_string();
        assert!(e.starts_with("biject_to: "), "{e}");
    }
}
