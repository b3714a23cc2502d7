//! Integration tests for Tanh, Invert, Reshape, SoftmaxCentered, CholeskyOuterProduct,
//! ScaleMatvecTriL, Power and Square.
//!
//! References: autograd Jacobians (`testing::autograd_log_det_jacobian`, through read-back
//! wrappers where the bijector's Jacobian is not square), closed forms, and TFP's documented
//! examples.

// Chains hold `Arc<dyn Bijector>`, and `dyn Bijector` is not `Send + Sync`.
#![allow(clippy::arc_with_non_send_sync)]

mod common;

use common::{seeded, to_vec};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::{
    testing, Abs, Affine, Bijector, Cat, Chain, CholeskyOuterProduct, CorrelationCholesky, Cumsum,
    CumulativeDistribution, Exp, Expm1, FillTriangular, GeneralizedParetoTransform, IndependentTransform, Invert,
    Log1p, LowerCholesky, NormalCdf, Ordered, PositiveDefinite, Power, Reciprocal, Reshape, Scale, ScaleMatvecTriL,
    Shift, SinhArcsinh, Softmax, SoftmaxCentered, Softplus, Square, Stack, StickBreaking, Tanh,
};

const CPU: Device = Device::Cpu;

fn randn(shape: &[i64], kind: Kind) -> Tensor {
    Tensor::randn(shape, (Kind::Double, CPU)).to_kind(kind)
}

fn t(values: &[f64], shape: &[i64]) -> Tensor {
    Tensor::from_slice(values).reshape(shape)
}

/// Positive inputs in about `[0.3, 3]`.
fn positive(shape: &[i64], kind: Kind) -> Tensor {
    (randn(shape, Kind::Double) * 0.5).exp().to_kind(kind)
}

/// A random lower-triangular-ish matrix batch `[.., n, n]` with diagonal entries of size at
/// least 0.5 (signs random when `signed`) and junk in the strict upper triangle.
fn scale_tril(shape: &[i64], signed: bool, kind: Kind) -> Tensor {
    let m = randn(shape, Kind::Double);
    let n = shape[shape.len() - 1];
    let d = m.diagonal(0, -2, -1);
    let mag = d.abs() + 0.5;
    let d = if signed { mag * d.sign() } else { mag };
    let eye = Tensor::eye(n, (Kind::Bool, CPU));
    d.diag_embed(0, -2, -1).where_self(&eye, &m).to_kind(kind)
}

/// `x -> first K-1 coordinates of SoftmaxCentered(x)`: a square map `R^{K-1} -> R^{K-1}`
/// whose log-det is `Σ log y` (all K entries), i.e. SoftmaxCentered's minus TFP's `½ log K`.
struct SoftmaxReadBack;

impl SoftmaxReadBack {
    fn half_log_k(t: &Tensor, extra: i64) -> f64 {
        0.5 * ((t.size()[t.dim() - 1] + extra) as f64).ln()
    }
}

impl Bijector for SoftmaxReadBack {
    fn name(&self) -> String {
        "read_back_softmax_centered".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        let y = SoftmaxCentered.forward(x)?;
        let k = y.size()[y.dim() - 1];
        Ok(y.narrow(-1, 0, k - 1))
    }
    fn inverse(&self, y: &Tensor) -> anyhow::Result<Tensor> {
        let last = y.sum_dim_intlist([-1i64].as_slice(), true, None::<Kind>).neg() + 1.0;
        SoftmaxCentered.inverse(&Tensor::cat(&[y.shallow_clone(), last], -1))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        Ok(SoftmaxCentered.forward_log_det_jacobian(x)? - Self::half_log_k(x, 1))
    }
}

/// `x -> first K-1 coordinates of StickBreaking(x)`: the square map whose log-det is
/// StickBreaking's (torch's convention: Lebesgue measure on those coordinates).
struct StickReadBack;

impl Bijector for StickReadBack {
    fn name(&self) -> String {
        "read_back_stick_breaking".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        let y = StickBreaking.forward(x)?;
        let k = y.size()[y.dim() - 1];
        Ok(y.narrow(-1, 0, k - 1))
    }
    fn inverse(&self, y: &Tensor) -> anyhow::Result<Tensor> {
        let last = y.sum_dim_intlist([-1i64].as_slice(), true, None::<Kind>).neg() + 1.0;
        StickBreaking.inverse(&Tensor::cat(&[y.shallow_clone(), last], -1))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        StickBreaking.forward_log_det_jacobian(x)
    }
}

/// `b` read on the lower entries of its matrices, both ways in FillTriangular's order: a square
/// map whose log-det is `b`'s when `b` ignores the strict upper triangle of its input.
fn on_lower_entries(b: Arc<dyn Bijector>) -> Chain {
    let fill: Arc<dyn Bijector> = Arc::new(FillTriangular::lower());
    Chain::new(vec![Arc::new(Invert::new(fill.clone())), b, fill])
}

/// `x -> the strictly lower entries of CorrelationCholesky(x)` (in FillTriangular's order): the
/// square map whose log-det TFP's formula is.
struct CorrReadBack;

impl Bijector for CorrReadBack {
    fn name(&self) -> String {
        "read_back_correlation_cholesky".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        let l = CorrelationCholesky.forward(x)?;
        let n = l.size()[l.dim() - 1];
        FillTriangular::lower().inverse(&l.narrow(-2, 1, n - 1).narrow(-1, 0, n - 1))
    }
    fn inverse(&self, y: &Tensor) -> anyhow::Result<Tensor> {
        // rows of unit norm: the diagonal is sqrt(1 - the row's squared strictly lower entries)
        let strict = FillTriangular::lower().forward(y)?.constant_pad_nd([0i64, 1, 1, 0].as_slice());
        let diag = (strict.square().sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>).neg() + 1.0).sqrt();
        CorrelationCholesky.inverse(&(strict + diag.diag_embed(0, -2, -1)))
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        CorrelationCholesky.forward_log_det_jacobian(x)
    }
}

/// `lower entries of L -> lower entries of L Lᵀ` (both in FillTriangular's order): the square
/// map whose Jacobian CholeskyOuterProduct's log-det is (upper entries of `x` are ignored).
struct CholeskyReadBack;

impl Bijector for CholeskyReadBack {
    fn name(&self) -> String {
        "read_back_cholesky_outer_product".into()
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        let l = FillTriangular::lower().forward(x)?;
        FillTriangular::lower().inverse(&CholeskyOuterProduct.forward(&l)?)
    }
    fn inverse(&self, y: &Tensor) -> anyhow::Result<Tensor> {
        let m = FillTriangular::lower().forward(y)?;
        let sym = &m + m.tril(-1).transpose(-2, -1);
        FillTriangular::lower().inverse(&CholeskyOuterProduct.inverse(&sym)?)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        CholeskyOuterProduct.forward_log_det_jacobian(&FillTriangular::lower().forward(x)?)
    }
}

/// A Cholesky factor's lower entries in FillTriangular order, batch `[3, 2]`, `n = 4`.
fn cholesky_vector(kind: Kind) -> Tensor {
    let l = scale_tril(&[3, 2, 4, 4], false, Kind::Double);
    FillTriangular::lower().inverse(&l).unwrap().to_kind(kind)
}

/// Every bijector (and some inverses) with an input in its domain, batch `[3, 2]`.
fn zoo(kind: Kind) -> Vec<(Box<dyn Bijector>, Tensor)> {
    let l_batched = scale_tril(&[2, 4, 4], true, kind);
    let l_single = scale_tril(&[3, 3], false, kind);
    let shift = randn(&[4], kind);
    let odd_x = {
        let r = randn(&[3, 2, 4], Kind::Double);
        ((r.abs() + 0.3) * r.sign()).to_kind(kind)
    };
    let tanh_y = (randn(&[3, 2, 4], Kind::Double) * 0.7).tanh().to_kind(kind);
    vec![
        (Box::new(Tanh), randn(&[3, 2, 4], kind)),
        (Box::new(Expm1), randn(&[3, 2, 4], kind)),
        (Box::new(Log1p), positive(&[3, 2, 4], kind) - 0.9),
        (Box::new(Reciprocal), odd_x.shallow_clone()),
        (Box::new(NormalCdf), randn(&[3, 2, 4], kind)),
        (Box::new(Power::new(2.5).unwrap()), positive(&[3, 2, 4], kind)),
        (Box::new(Power::new(-1.5).unwrap()), positive(&[3, 2, 4], kind)),
        (Box::new(Power::new(0.5).unwrap()), positive(&[3, 2, 4], kind)),
        (Box::new(Power::new(3.0).unwrap()), odd_x),
        (Box::new(Square), positive(&[3, 2, 4], kind)),
        (Box::new(Reshape::new(vec![2, 3], vec![3, 2]).unwrap()), randn(&[3, 2, 2, 3], kind)),
        (Box::new(Reshape::new(vec![4], vec![2, 2]).unwrap()), randn(&[3, 2, 4], kind)),
        (Box::new(Reshape::new(vec![], vec![1]).unwrap()), randn(&[3, 2], kind)),
        (Box::new(SoftmaxCentered), randn(&[3, 2, 4], kind)),
        (Box::new(SoftmaxReadBack), randn(&[3, 2, 4], kind)),
        (Box::new(StickBreaking), randn(&[3, 2, 4], kind)),
        (Box::new(StickReadBack), randn(&[3, 2, 4], kind)),
        (Box::new(Cumsum), randn(&[3, 2, 4], kind)),
        (Box::new(IndependentTransform::new(Arc::new(Exp), 2)), randn(&[3, 2, 4], kind)),
        (Box::new(CorrelationCholesky), randn(&[3, 2, 6], kind)),
        // concentrations of both signs and zero, one per entry of the last axis
        (
            Box::new(GeneralizedParetoTransform::new(
                shift.shallow_clone(),
                positive(&[4], kind),
                Tensor::from_slice(&[0.4, -0.7, 0.0, -2.0]).to_kind(kind),
            )),
            randn(&[3, 2, 4], kind) * 2.0,
        ),
        // Stack: a vector part and an elementwise one on the two slices of a batch axis
        (
            Box::new(
                Stack::new(
                    vec![Arc::new(ScaleMatvecTriL::new(scale_tril(&[4, 4], false, kind)).unwrap()), Arc::new(Exp)],
                    -2,
                )
                .unwrap(),
            ),
            randn(&[3, 2, 4], kind),
        ),
        // Cat: blocks of the event (a vector part: log-dets summed) and of a batch axis
        // (elementwise parts: log-dets concatenated)
        (
            Box::new(
                Cat::new(
                    vec![
                        (
                            Arc::new(ScaleMatvecTriL::new(scale_tril(&[3, 3], false, kind)).unwrap())
                                as Arc<dyn Bijector>,
                            3,
                        ),
                        (Arc::new(Exp), 1),
                    ],
                    -1,
                )
                .unwrap(),
            ),
            randn(&[3, 2, 4], kind),
        ),
        (
            Box::new(Cat::new(vec![(Arc::new(Exp) as Arc<dyn Bijector>, 1), (Arc::new(Softplus), 1)], -2).unwrap()),
            randn(&[3, 2, 4], kind),
        ),
        (Box::new(CorrReadBack), randn(&[3, 2, 6], kind)),
        (
            Box::new(SinhArcsinh::new(shift.shallow_clone() * 0.5, positive(&[2, 1], kind) + 0.3)),
            randn(&[3, 2, 4], kind) * 3.0,
        ),
        // (on the lower entries, in FillTriangular's order: the maps drop the upper triangle)
        (Box::new(on_lower_entries(Arc::new(LowerCholesky))), randn(&[3, 2, 6], kind)),
        (Box::new(on_lower_entries(Arc::new(PositiveDefinite))), randn(&[3, 2, 6], kind) * 0.5),
        (
            Box::new(
                CumulativeDistribution::new(
                    tch_distributions::distributions::Normal::new(
                        tch_distributions::Parameter::constant(&(randn(&[4], kind) * 0.3)).unwrap(),
                        tch_distributions::Parameter::constant(&(positive(&[4], kind) + 1.0)).unwrap(),
                    )
                    .unwrap(),
                )
                .unwrap(),
            ),
            // (within about two scales, where float32's icdf(cdf(x)) keeps 1e-4)
            randn(&[3, 2, 4], kind) * 0.5,
        ),
        (Box::new(Affine::new(shift.shallow_clone(), randn(&[2, 1], kind) * 3.0)), randn(&[3, 2, 4], kind)),
        (Box::new(Ordered), positive(&[3, 2, 4], kind).cumsum(-1, None::<Kind>) - 2.0),
        (Box::new(Invert::new(Arc::new(Ordered))), randn(&[3, 2, 4], kind)),
        (Box::new(CholeskyReadBack), cholesky_vector(kind)),
        (Box::new(ScaleMatvecTriL::new(l_batched.shallow_clone()).unwrap()), randn(&[3, 2, 4], kind)),
        (Box::new(ScaleMatvecTriL::new(l_single).unwrap()), randn(&[3, 2, 3], kind)),
        (
            Box::new(Chain::new(vec![
                Arc::new(Shift::new(shift)),
                Arc::new(ScaleMatvecTriL::new(l_batched.shallow_clone()).unwrap()),
            ])),
            randn(&[3, 2, 4], kind),
        ),
        (Box::new(Invert(Arc::new(Tanh))), tanh_y),
        (Box::new(Invert(Arc::new(Exp))), positive(&[3, 2, 4], kind)),
        (Box::new(Invert(Arc::new(Softplus))), positive(&[3, 2, 4], kind)),
        (Box::new(Invert(Arc::new(Power::new(2.5).unwrap()))), positive(&[3, 2, 4], kind)),
        (Box::new(Invert(Arc::new(ScaleMatvecTriL::new(l_batched).unwrap()))), randn(&[3, 2, 4], kind)),
        (Box::new(Invert(Arc::new(Reshape::new(vec![2, 3], vec![6]).unwrap()))), randn(&[3, 2, 6], kind)),
        (Box::new(Invert(Arc::new(SoftmaxReadBack))), SoftmaxReadBack.forward(&randn(&[3, 2, 4], kind)).unwrap()),
        (Box::new(Invert(Arc::new(CholeskyReadBack))), CholeskyReadBack.forward(&cholesky_vector(kind)).unwrap()),
    ]
}

// Round trip, log-det vs autograd (where square), inverse log-det, forward_and_log_det and
// event shapes, float64.
#[test]
fn check_bijector_float64() {
    let _g = seeded(20);
    for (b, x) in zoo(Kind::Double) {
        testing::check_bijector(b.as_ref(), &x, 1e-10, 1e-10).unwrap_or_else(|e| panic!("{}: {e:#}", b.name()));
        let shape = x.size();
        let batch = &shape[..shape.len() - b.forward_min_event_ndims()];
        let fldj = b.forward_log_det_jacobian(&x).unwrap();
        assert_eq!(fldj.broadcast_to(batch).size(), batch.to_vec(), "{}", b.name());
        assert_eq!(fldj.kind(), Kind::Double, "{}", b.name());
    }
}

// Float32: the full check with tolerances of a few hundred float32 roundings, and dtypes kept.
#[test]
fn check_bijector_float32() {
    let _g = seeded(21);
    for (b, x) in zoo(Kind::Float) {
        testing::check_bijector(b.as_ref(), &x, 1e-4, 1e-4).unwrap_or_else(|e| panic!("{} (f32): {e:#}", b.name()));
        let (y, fldj) = b.forward_and_log_det(&x).unwrap();
        assert_eq!((y.kind(), fldj.kind()), (Kind::Float, Kind::Float), "{}", b.name());
        let (back, ildj) = b.inverse_and_log_det(&y).unwrap();
        assert_eq!((back.kind(), ildj.kind()), (Kind::Float, Kind::Float), "{}", b.name());
    }
}

// Tanh: closed form log(1 - tanh²x), finite and exact in the tails, gradient 0 at x = 0.
#[test]
fn tanh_log_det() {
    let x = t(&[-3.0, -0.5, 0.0, 0.25, 2.0], &[5]);
    let fldj = Tanh.forward_log_det_jacobian(&x).unwrap();
    for (g, xv) in to_vec(&fldj).iter().zip(to_vec(&x)) {
        let want = (1.0 - xv.tanh().powi(2)).ln();
        assert!((g - want).abs() <= 1e-14, "{g} vs {want}");
    }
    // Tails: 2 log 2 - 2|x| - 2 log1p(exp(-2|x|)), exact where 1 - tanh² underflows.
    let big = t(&[-1000.0, -30.0, -12.0, 12.0, 30.0, 1000.0], &[6]);
    let fldj = Tanh.forward_log_det_jacobian(&big).unwrap();
    for (g, xv) in to_vec(&fldj).iter().zip(to_vec(&big)) {
        let want = 2.0 * 2f64.ln() - 2.0 * xv.abs() - 2.0 * (-2.0 * xv.abs()).exp().ln_1p();
        assert!((g - want).abs() <= 1e-12 * want.abs(), "{g} vs {want}");
    }
    // Same in float32.
    let fldj32 = Tanh.forward_log_det_jacobian(&big.to_kind(Kind::Float)).unwrap();
    assert!(to_vec(&fldj32).iter().all(|v| v.is_finite()));
    // Gradients: finite everywhere, d/dx log(1 - tanh²x) = -2 tanh x (0 at x = 0).
    let xs = t(&[-1000.0, -1.0, 0.0, 0.5, 1000.0], &[5]).set_requires_grad(true);
    Tanh.forward_log_det_jacobian(&xs).unwrap().sum(Kind::Double).backward();
    let g = to_vec(&xs.grad());
    for (g, xv) in g.iter().zip([-1000.0f64, -1.0, 0.0, 0.5, 1000.0]) {
        assert!((g + 2.0 * xv.tanh()).abs() <= 1e-14, "grad {g} at {xv}");
    }
    // Inverse log-det and the edge of the domain.
    let y = t(&[-0.999, 0.0, 0.5], &[3]);
    let ildj = Tanh.inverse_log_det_jacobian(&y).unwrap();
    for (g, yv) in to_vec(&ildj).iter().zip([-0.999f64, 0.0, 0.5]) {
        assert!((g + (1.0 - yv * yv).ln()).abs() <= 1e-13, "{g}");
    }
    assert_eq!(to_vec(&Tanh.inverse(&t(&[1.0, -1.0], &[2])).unwrap()), vec![f64::INFINITY, f64::NEG_INFINITY]);
    assert!(Tanh.forward(&Tensor::zeros([2], (Kind::Int64, CPU))).is_err());
    assert!(Tanh.inverse_log_det_jacobian(&Tensor::zeros([2], (Kind::Bool, CPU))).is_err());
}

// Invert swaps everything.
#[test]
fn invert_swaps() {
    let _g = seeded(22);
    let inv = Invert(Arc::new(Exp));
    assert_eq!(inv.name(), "invert_exp");
    let y = positive(&[3, 4], Kind::Double);
    testing::close("invert_exp forward", &inv.forward(&y).unwrap(), &y.log(), 0.0, 0.0).unwrap();
    testing::close("invert_exp fldj", &inv.forward_log_det_jacobian(&y).unwrap(), &(-y.log()), 0.0, 0.0).unwrap();
    let red = inv.forward_log_det_jacobian_reduced(&y, 1).unwrap();
    testing::close("reduced", &red, &(-y.log().sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>)), 1e-14, 0.0)
        .unwrap();
    let x = randn(&[3, 4], Kind::Double);
    testing::close(
        "invert_exp ildj",
        &inv.inverse_log_det_jacobian_reduced(&x, 2).unwrap(),
        &x.sum(Kind::Double),
        1e-13,
        0.0,
    )
    .unwrap();
    // Rank-changing inner bijectors: min event ndims and shape maps are swapped.
    let ft = Invert(Arc::new(FillTriangular::lower()));
    assert_eq!((ft.forward_min_event_ndims(), ft.inverse_min_event_ndims()), (2, 1));
    assert_eq!(ft.forward_event_shape(&[5, 3, 3]).unwrap(), vec![5, 6]);
    assert_eq!(ft.inverse_event_shape(&[6]).unwrap(), vec![3, 3]);
    assert!(ft.is_constant_jacobian());
    let sc = Invert(Arc::new(SoftmaxCentered));
    assert_eq!(sc.forward_event_shape(&[5]).unwrap(), vec![4]);
    assert_eq!(sc.inverse_event_shape(&[4]).unwrap(), vec![5]);
    assert!(!sc.is_constant_jacobian());
    // Invert(Invert(b)) is b.
    let twice = Invert(Arc::new(Invert(Arc::new(Tanh))));
    assert_eq!(twice.name(), "invert_invert_tanh");
    testing::close("double inversion", &twice.forward(&x).unwrap(), &x.tanh(), 0.0, 0.0).unwrap();
    // Errors pass through.
    assert!(sc.forward(&Tensor::zeros([], (Kind::Double, CPU))).is_err());
}

// Reshape: shape maps, batch dims, zero log-det, and errors.
#[test]
fn reshape_shapes_and_errors() {
    let _g = seeded(23);
    let r = Reshape::new(vec![2, 3], vec![6]).unwrap();
    assert_eq!((r.forward_min_event_ndims(), r.inverse_min_event_ndims()), (2, 1));
    assert_eq!(r.event_shape_in(), &[2, 3]);
    assert_eq!(r.event_shape_out(), &[6]);
    assert_eq!(r.forward_event_shape(&[2, 3]).unwrap(), vec![6]);
    assert_eq!(r.forward_event_shape(&[7, 5, 2, 3]).unwrap(), vec![7, 5, 6]);
    assert_eq!(r.inverse_event_shape(&[4, 6]).unwrap(), vec![4, 2, 3]);
    let err = r.forward_event_shape(&[3, 2]).unwrap_err().to_string();
    assert!(
        err.contains("reshape.forward_event_shape") && err.contains("[..., 2, 3]") && err.contains("[3, 2]"),
        "{err}"
    );
    assert!(r.inverse_event_shape(&[]).is_err());
    let x = randn(&[4, 5, 2, 3], Kind::Double);
    let y = r.forward(&x).unwrap();
    assert_eq!(y.size(), vec![4, 5, 6]);
    assert_eq!(to_vec(&y), to_vec(&x));
    assert_eq!(to_vec(&r.inverse(&y).unwrap()), to_vec(&x));
    let fldj = r.forward_log_det_jacobian(&x).unwrap();
    assert_eq!(fldj.size(), vec![4, 5]);
    assert_eq!(to_vec(&fldj), vec![0.0; 20]);
    assert_eq!(r.inverse_log_det_jacobian(&y).unwrap().size(), vec![4, 5]);
    assert_eq!(r.forward_log_det_jacobian_reduced(&x, 3).unwrap().size(), vec![4]);
    assert!(r.is_constant_jacobian());
    // Scalar events.
    let s = Reshape::new(vec![], vec![1, 1]).unwrap();
    assert_eq!(s.forward(&t(&[1.0, 2.0], &[2])).unwrap().size(), vec![2, 1, 1]);
    assert_eq!(s.inverse(&t(&[1.0, 2.0], &[2, 1, 1])).unwrap().size(), vec![2]);
    // Constructor errors.
    let err = Reshape::new(vec![2, 3], vec![4]).unwrap_err().to_string();
    assert!(err.contains("Reshape.new") && err.contains("6 elements") && err.contains("4"), "{err}");
    assert!(Reshape::new(vec![-1], vec![4]).is_err());
    assert!(Reshape::new(vec![4], vec![2, -2]).is_err());
    // Input errors, not panics.
    let err = r.forward(&randn(&[4, 3, 2], Kind::Double)).unwrap_err().to_string();
    assert!(err.contains("reshape.forward") && err.contains("[4, 3, 2]"), "{err}");
    assert!(r.forward(&randn(&[3], Kind::Double)).is_err());
    assert!(r.inverse(&randn(&[2, 5], Kind::Double)).is_err());
    assert!(r.forward(&Tensor::zeros([2, 3], (Kind::Int64, CPU))).is_err());
    assert!(r.forward_log_det_jacobian(&randn(&[3, 3], Kind::Double)).is_err());
    assert!(r.inverse_log_det_jacobian(&randn(&[5], Kind::Double)).is_err());
    // In a chain: [.., 6] -> [.., 2, 3] -> exp.
    let c = Chain::new(vec![Arc::new(Exp), Arc::new(Invert(Arc::new(r.clone())))]);
    assert_eq!((c.forward_min_event_ndims(), c.inverse_min_event_ndims()), (1, 2));
    let v = randn(&[4, 6], Kind::Double);
    let (w, ldj) = c.forward_and_log_det(&v).unwrap();
    assert_eq!(w.size(), vec![4, 2, 3]);
    testing::close("chain ldj", &ldj, &v.sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>), 1e-13, 0.0).unwrap();
}

// SoftmaxCentered: TFP's documented example, TFP's log-det (with ½ log K), extremes.
#[test]
fn softmax_centered_values() {
    let x = t(&[2f64.ln(), 3f64.ln(), 4f64.ln()], &[3]);
    let y = SoftmaxCentered.forward(&x).unwrap();
    testing::close("forward(log [2,3,4])", &y, &t(&[0.2, 0.3, 0.4, 0.1], &[4]), 1e-15, 0.0).unwrap();
    testing::close("inverse", &SoftmaxCentered.inverse(&t(&[0.2, 0.3, 0.4, 0.1], &[4])).unwrap(), &x, 1e-15, 1e-15)
        .unwrap();
    // TFP: fldj = ½ log K + Σ_{all K} log y_i.
    let fldj = SoftmaxCentered.forward_log_det_jacobian(&x).unwrap().double_value(&[]);
    let want = 0.5 * 4f64.ln() + [0.2f64, 0.3, 0.4, 0.1].iter().map(|v| v.ln()).sum::<f64>();
    assert!((fldj - want).abs() <= 1e-14, "{fldj} vs {want}");
    let ildj = SoftmaxCentered.inverse_log_det_jacobian(&y).unwrap().double_value(&[]);
    assert!((ildj + want).abs() <= 1e-14, "{ildj} vs {}", -want);
    // Extremes stay finite and exact.
    let xe = t(&[1000.0, -1000.0, 0.0], &[3]);
    let (ye, le) = SoftmaxCentered.forward_and_log_det(&xe).unwrap();
    assert!(to_vec(&ye).iter().all(|v| v.is_finite()));
    // Σx - K·logsumexp([x, 0]) = 0 - 4 * 1000 (to rounding), plus ½ log 4.
    assert!((le.double_value(&[]) - (0.5 * 4f64.ln() - 4000.0)).abs() <= 1e-10);
    // Small float64 inputs: no softplus cut-off error (exact log(1 + Σ exp x)).
    let xs = t(&[-25.0, -30.0], &[2]);
    let ls = SoftmaxCentered.forward_log_det_jacobian(&xs).unwrap().double_value(&[]);
    let want = 0.5 * 3f64.ln() - 55.0 - 3.0 * ((-25f64).exp() + (-30f64).exp()).ln_1p();
    assert!((ls - want).abs() <= 1e-13, "{ls} vs {want}");
    // K = 1 (x has 0 entries): y = [1], log-det 0.
    let (y1, l1) = SoftmaxCentered.forward_and_log_det(&Tensor::zeros([2, 0], (Kind::Double, CPU))).unwrap();
    assert_eq!(to_vec(&y1), vec![1.0, 1.0]);
    assert_eq!(to_vec(&l1), vec![0.0, 0.0]);
    // Shapes and errors.
    assert_eq!(SoftmaxCentered.forward_event_shape(&[7, 3]).unwrap(), vec![7, 4]);
    assert_eq!(SoftmaxCentered.inverse_event_shape(&[7, 4]).unwrap(), vec![7, 3]);
    assert!(SoftmaxCentered.forward_event_shape(&[]).is_err());
    assert!(SoftmaxCentered.inverse_event_shape(&[0]).is_err());
    assert!(SoftmaxCentered.forward(&Tensor::zeros([], (Kind::Double, CPU))).is_err());
    assert!(SoftmaxCentered.inverse(&Tensor::zeros([3, 0], (Kind::Double, CPU))).is_err());
    assert!(SoftmaxCentered.inverse_log_det_jacobian(&Tensor::zeros([3], (Kind::Int64, CPU))).is_err());
    assert!(SoftmaxCentered.forward(&Tensor::zeros([3], (Kind::Int64, CPU))).is_err());
}

// SoftmaxCentered's log-det minus ½ log K is the autograd log-det of the map to the first K-1
// coordinates (also checked inside the zoo through SoftmaxReadBack).
#[test]
fn softmax_centered_vs_autograd() {
    let _g = seeded(24);
    for k1 in [1, 2, 5] {
        let x = randn(&[6, k1], Kind::Double) * 2.0;
        let auto = testing::autograd_log_det_jacobian(&SoftmaxReadBack, &x).unwrap();
        let fldj = SoftmaxCentered.forward_log_det_jacobian(&x).unwrap();
        let half = 0.5 * ((k1 + 1) as f64).ln();
        testing::close(&format!("K-1 = {k1}"), &(&fldj - half), &auto, 1e-11, 1e-11).unwrap();
    }
}

// CholeskyOuterProduct: TFP's example, closed form, upper junk ignored, non-PD errors.
#[test]
fn cholesky_outer_product_values() {
    let _g = seeded(25);
    let b = CholeskyOuterProduct;
    let x = t(&[1.0, 0.0, 2.0, 1.0], &[2, 2]);
    let y = b.forward(&x).unwrap();
    assert_eq!(to_vec(&y), vec![1.0, 2.0, 2.0, 5.0]);
    assert_eq!(to_vec(&b.inverse(&y).unwrap()), vec![1.0, 0.0, 2.0, 1.0]);
    // n log 2 + Σ_j (n - j) log L_jj (0-based j).
    let l = t(&[2.0, 0.0, 0.0, 0.3, 3.0, 0.0, -1.0, 0.7, 0.5], &[3, 3]);
    let fldj = b.forward_log_det_jacobian(&l).unwrap().double_value(&[]);
    let want = 3.0 * 2f64.ln() + 3.0 * 2f64.ln() + 2.0 * 3f64.ln() + 0.5f64.ln();
    assert!((fldj - want).abs() <= 1e-14, "{fldj} vs {want}");
    // The autograd log-det on lower entries, for n = 1..4.
    for n in 1..=4i64 {
        let l = scale_tril(&[5, n, n], false, Kind::Double);
        let v = FillTriangular::lower().inverse(&l).unwrap();
        let auto = testing::autograd_log_det_jacobian(&CholeskyReadBack, &v).unwrap();
        testing::close(&format!("n = {n}"), &b.forward_log_det_jacobian(&l).unwrap(), &auto, 1e-11, 1e-11).unwrap();
    }
    // Upper-triangle junk is ignored by forward and the log-det.
    let l = scale_tril(&[4, 3, 3], false, Kind::Double);
    let clean = l.tril(0);
    testing::close("junk forward", &b.forward(&l).unwrap(), &b.forward(&clean).unwrap(), 0.0, 0.0).unwrap();
    let y = b.forward(&clean).unwrap();
    testing::close("round trip", &b.inverse(&y).unwrap(), &clean, 1e-12, 1e-12).unwrap();
    let (back, ildj) = b.inverse_and_log_det(&y).unwrap();
    testing::close("inverse_and_log_det", &back, &clean, 1e-12, 1e-12).unwrap();
    testing::close("ildj", &ildj, &(-b.forward_log_det_jacobian(&clean).unwrap()), 1e-12, 1e-12).unwrap();
    testing::close("ildj alone", &b.inverse_log_det_jacobian(&y).unwrap(), &ildj, 0.0, 0.0).unwrap();
    // Non-positive-definite input: an error, not a panic or NaNs.
    let bad = Tensor::stack(&[t(&[1.0, 2.0, 2.0, 1.0], &[2, 2]), t(&[2.0, 0.0, 0.0, 1.0], &[2, 2])], 0);
    let err = b.inverse(&bad).unwrap_err().to_string();
    assert!(
        err.contains("cholesky_outer_product.inverse") && err.contains("positive-definite") && err.contains("1 of 2"),
        "{err}"
    );
    assert!(b.inverse_log_det_jacobian(&bad).is_err());
    assert!(b.inverse(&t(&[f64::NAN, 0.0, 0.0, 1.0], &[2, 2])).is_err());
    // Shape and dtype errors.
    let err = b.forward(&randn(&[3, 4], Kind::Double)).unwrap_err().to_string();
    assert!(err.contains("square") && err.contains("[3, 4]"), "{err}");
    assert!(b.inverse(&randn(&[2, 3, 4], Kind::Double)).is_err());
    assert!(b.forward(&randn(&[3], Kind::Double)).is_err());
    assert!(b.forward_log_det_jacobian(&randn(&[4, 3], Kind::Double)).is_err());
    assert!(b.forward(&Tensor::zeros([2, 2], (Kind::Int64, CPU))).is_err());
    assert!(b.forward_event_shape(&[3, 4]).is_err());
    assert_eq!(b.inverse_event_shape(&[5, 3, 3]).unwrap(), vec![5, 3, 3]);
    // Float32 round trip.
    let l32 = clean.to_kind(Kind::Float);
    let y32 = b.forward(&l32).unwrap();
    testing::close("f32 round trip", &b.inverse(&y32).unwrap(), &l32, 1e-5, 1e-5).unwrap();
}

// ScaleMatvecTriL: values, solve, broadcasting, log-det, gradients to L, errors.
#[test]
fn scale_matvec_tril_values() {
    let _g = seeded(26);
    // Upper junk (the 9) is ignored.
    let l = t(&[2.0, 9.0, 1.0, -3.0], &[2, 2]);
    let b = ScaleMatvecTriL::new(l.shallow_clone()).unwrap();
    assert_eq!(b.name(), "scale_matvec_tril");
    let x = t(&[1.0, 2.0], &[2]);
    assert_eq!(to_vec(&b.forward(&x).unwrap()), vec![2.0, -5.0]);
    assert_eq!(to_vec(&b.inverse(&t(&[2.0, -5.0], &[2])).unwrap()), vec![1.0, 2.0]);
    let fldj = b.forward_log_det_jacobian(&x).unwrap().double_value(&[]);
    assert!((fldj - 6f64.ln()).abs() <= 1e-15);
    assert!(b.is_constant_jacobian());
    // Batch broadcasting: L [2, 1, 3, 3] against x [4, 3] -> [2, 4, 3].
    let lb = scale_tril(&[2, 1, 3, 3], true, Kind::Double);
    let b = ScaleMatvecTriL::new(lb.shallow_clone()).unwrap();
    let x = randn(&[4, 3], Kind::Double);
    let y = b.forward(&x).unwrap();
    assert_eq!(y.size(), vec![2, 4, 3]);
    let want = lb.tril(0).matmul(&x.unsqueeze(-1)).squeeze_dim(-1);
    testing::close("batched forward", &y, &want, 1e-14, 0.0).unwrap();
    let back = b.inverse(&y).unwrap();
    testing::close("batched inverse", &back, &x.expand([2, 4, 3], false), 1e-12, 1e-12).unwrap();
    let fldj = b.forward_log_det_jacobian(&x).unwrap();
    assert_eq!(fldj.size(), vec![2, 4]);
    let ld = lb.diagonal(0, -2, -1).abs().log().sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>);
    testing::close("fldj", &fldj, &ld.expand([2, 4], false), 1e-14, 0.0).unwrap();
    testing::close("ildj", &b.inverse_log_det_jacobian(&y).unwrap(), &(-&fldj), 1e-14, 0.0).unwrap();
    // Gradients reach a learnable L through forward and the log-det; not its upper triangle.
    let p = scale_tril(&[3, 3], false, Kind::Double).set_requires_grad(true);
    let b = ScaleMatvecTriL::new(p.shallow_clone()).unwrap();
    let x = randn(&[5, 3], Kind::Double);
    let loss = b.forward(&x).unwrap().sum(Kind::Double) + b.forward_log_det_jacobian(&x).unwrap().sum(Kind::Double);
    loss.backward();
    let g = p.grad();
    // d/dL_ij Σ_b Σ_i (L x_b)_i = Σ_b x_bj (i >= j), plus 5 / L_ii on the diagonal.
    let colsum = x.sum_dim_intlist([0i64].as_slice(), false, None::<Kind>);
    let want = colsum.unsqueeze(0).expand([3, 3], false).tril(0)
        + (p.detach().diagonal(0, -2, -1).reciprocal() * 5.0).diag_embed(0, -2, -1);
    testing::close("grad", &g, &want, 1e-12, 1e-12).unwrap();
    // Errors, not panics.
    assert!(ScaleMatvecTriL::new(randn(&[3, 4], Kind::Double)).unwrap_err().to_string().contains("square"));
    assert!(ScaleMatvecTriL::new(randn(&[3], Kind::Double)).is_err());
    assert!(ScaleMatvecTriL::new(Tensor::zeros([3, 3], (Kind::Int64, CPU))).is_err());
    let b = ScaleMatvecTriL::new(scale_tril(&[3, 4, 4], false, Kind::Double)).unwrap();
    let err = b.forward(&randn(&[3, 3], Kind::Double)).unwrap_err().to_string();
    assert!(err.contains("scale_matvec_tril.forward") && err.contains("[..., 4]") && err.contains("[3, 3]"), "{err}");
    let err = b.inverse(&randn(&[2, 4], Kind::Double)).unwrap_err().to_string();
    assert!(err.contains("broadcast"), "{err}");
    assert!(b.forward(&randn(&[3, 4], Kind::Float)).is_err());
    assert!(b.forward(&Tensor::zeros([], (Kind::Double, CPU))).is_err());
    assert!(b.forward_log_det_jacobian(&randn(&[3, 5], Kind::Double)).is_err());
    assert!(b.inverse_log_det_jacobian(&randn(&[2, 4], Kind::Double)).is_err());
}

// Power and Square: closed forms, odd powers on the reals, equivalences, errors.
#[test]
fn power_and_square() {
    let _g = seeded(27);
    let x = positive(&[10], Kind::Double);
    for p in [2.5, -1.5, 0.5, 1.0, 3.0] {
        let b = Power::new(p).unwrap();
        assert_eq!(b.power(), Some(p));
        testing::close("forward", &b.forward(&x).unwrap(), &x.pow_tensor_scalar(p), 0.0, 0.0).unwrap();
        let want = x.log() * (p - 1.0) + p.abs().ln();
        testing::close(&format!("fldj p={p}"), &b.forward_log_det_jacobian(&x).unwrap(), &want, 1e-14, 1e-14).unwrap();
    }
    // Power(2) and Square agree on x > 0, and Power(0.5) is Square's inverse.
    let sq = Square;
    testing::close("square", &sq.forward(&x).unwrap(), &Power::new(2.0).unwrap().forward(&x).unwrap(), 0.0, 0.0)
        .unwrap();
    testing::close(
        "square fldj",
        &sq.forward_log_det_jacobian(&x).unwrap(),
        &Power::new(2.0).unwrap().forward_log_det_jacobian(&x).unwrap(),
        1e-15,
        1e-15,
    )
    .unwrap();
    let half = Power::new(0.5).unwrap();
    testing::close("sqrt", &half.forward(&x).unwrap(), &sq.inverse(&x).unwrap(), 1e-15, 1e-15).unwrap();
    testing::close(
        "sqrt fldj",
        &half.forward_log_det_jacobian(&x).unwrap(),
        &sq.inverse_log_det_jacobian(&x).unwrap(),
        1e-14,
        1e-14,
    )
    .unwrap();
    assert_eq!(to_vec(&sq.forward_log_det_jacobian(&t(&[1.0], &[1])).unwrap()), vec![2f64.ln()]);
    // Odd powers invert on negative values too.
    let cube = Power::new(3.0).unwrap();
    assert_eq!(to_vec(&cube.inverse(&t(&[-8.0, 27.0, 0.0], &[3])).unwrap()), vec![-2.0, 3.0, 0.0]);
    let inv_cube = Power::new(-1.0).unwrap();
    assert_eq!(to_vec(&inv_cube.inverse(&t(&[-0.5, 4.0], &[2])).unwrap()), vec![-2.0, 0.25]);
    // Errors.
    assert!(Power::new(0.0).unwrap_err().to_string().contains("Power.new"));
    assert!(Power::new(f64::NAN).is_err());
    assert!(Power::new(f64::INFINITY).is_err());
    assert!(cube.forward(&Tensor::zeros([2], (Kind::Int64, CPU))).is_err());
    assert!(sq.inverse(&Tensor::zeros([2], (Kind::Int64, CPU))).is_err());
    assert_eq!(cube.name(), "power");
    assert_eq!(sq.name(), "square");
}

// Expm1, Log1p, Reciprocal, NormalCDF, StickBreaking, Cumsum, Ordered, LowerCholesky,
// PositiveDefinite: the ends of their domains and bad input.
#[test]
fn elementwise_closed_forms_at_their_ends() {
    let t = |v: &[f64]| Tensor::from_slice(v).to_kind(Kind::Double);
    // NormalCDF: finite log-det where Φ has rounded to 0 or 1; the inverse at 0 and 1 is ∓∞.
    let x = t(&[-40.0, 0.0, 40.0]);
    assert_eq!(to_vec(&NormalCdf.forward(&x).unwrap()), vec![0.0, 0.5, 1.0]);
    let ldj = to_vec(&NormalCdf.forward_log_det_jacobian(&x).unwrap());
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    for (a, b) in ldj.iter().zip([-800.0 - half_log_2pi, -half_log_2pi, -800.0 - half_log_2pi]) {
        assert!((a - b).abs() <= 1e-15 * b.abs(), "{ldj:?}");
    }
    assert_eq!(to_vec(&NormalCdf.inverse(&t(&[0.0, 1.0])).unwrap()), vec![f64::NEG_INFINITY, f64::INFINITY]);
    // Expm1 and Log1p are exact near 0 (expm1(1e-10) = 1e-10 + 5e-21) and inverse to each other.
    let small = t(&[1e-10]);
    assert_eq!(to_vec(&Expm1.forward(&small).unwrap()), vec![1.00000000005e-10]);
    assert_eq!(to_vec(&Log1p.inverse(&small).unwrap()), to_vec(&Expm1.forward(&small).unwrap()));
    assert_eq!(to_vec(&Log1p.forward(&t(&[-1.0])).unwrap()), vec![f64::NEG_INFINITY]);
    // Reciprocal: its own inverse, ±∞ at 0, log-det -2 log|x| on both sides.
    assert_eq!(to_vec(&Reciprocal.forward(&t(&[-4.0, 0.0, 0.5])).unwrap()), vec![-0.25, f64::INFINITY, 2.0]);
    let ldj = to_vec(&Reciprocal.forward_log_det_jacobian(&t(&[-4.0, 0.5])).unwrap());
    assert!((ldj[0] + 2.0 * 4f64.ln()).abs() < 1e-15 && (ldj[1] - 2.0 * 2f64.ln()).abs() < 1e-15, "{ldj:?}");
    // StickBreaking: x = 0 gives the simplex's centre, and a shape of [..., K-1] maps to [..., K].
    let y = StickBreaking.forward(&Tensor::zeros([2, 3], (Kind::Double, CPU))).unwrap();
    assert_eq!(y.size(), vec![2, 4]);
    assert!(to_vec(&y).iter().all(|v| (v - 0.25).abs() < 1e-15), "{y}");
    assert_eq!(StickBreaking.forward_event_shape(&[5, 3]).unwrap(), vec![5, 4]);
    assert_eq!(StickBreaking.inverse_event_shape(&[4]).unwrap(), vec![3]);
    assert!(StickBreaking.forward(&t(&[]).reshape([0i64])).is_ok());
    let e =
        StickBreaking.forward(&Tensor::zeros([], (Kind::Double, CPU))).expect_err("a scalar is refused").to_string();
    assert!(e.starts_with("stick_breaking.forward"), "{e}");
    // Cumsum: differences back, a zero log-det per event, nothing for an empty event.
    assert_eq!(to_vec(&Cumsum.forward(&t(&[1.0, 2.0, -4.0])).unwrap()), vec![1.0, 3.0, -1.0]);
    assert_eq!(to_vec(&Cumsum.inverse(&t(&[1.0, 3.0, -1.0])).unwrap()), vec![1.0, 2.0, -4.0]);
    assert_eq!(Cumsum.forward_log_det_jacobian(&Tensor::zeros([5, 3], (Kind::Double, CPU))).unwrap().size(), vec![5]);
    assert_eq!(Cumsum.inverse(&Tensor::zeros([2, 0], (Kind::Double, CPU))).unwrap().size(), vec![2, 0]);
    // Ordered: gaps as logs, back to the same increasing vector; a single entry passes as it is.
    assert_eq!(to_vec(&Ordered.forward(&t(&[-1.0, 0.0, 2.0])).unwrap()), vec![-1.0, 0.0, 2f64.ln()]);
    assert_eq!(to_vec(&Ordered.inverse(&t(&[-1.0, 0.0, 2f64.ln()])).unwrap()), vec![-1.0, 0.0, 2.0]);
    assert_eq!(to_vec(&Ordered.forward(&t(&[3.0])).unwrap()), vec![3.0]);
    assert_eq!(to_vec(&Ordered.forward_log_det_jacobian(&t(&[3.0])).unwrap()), vec![0.0]);
    assert!(to_vec(&Ordered.forward(&t(&[1.0, 0.0])).unwrap())[1].is_nan(), "a decreasing pair");
    // LowerCholesky: the upper triangle dropped, the diagonal exponentiated; PositiveDefinite
    // gives L Lᵀ; both refuse non-square input.
    let x = Tensor::from_slice(&[0.0, 9.0, 2.0, 0.5f64]).reshape([2, 2]);
    assert_eq!(to_vec(&LowerCholesky.forward(&x).unwrap()), vec![1.0, 0.0, 2.0, 0.5f64.exp()]);
    let l = LowerCholesky.forward(&x).unwrap();
    assert!(PositiveDefinite.forward(&x).unwrap().allclose(&l.matmul(&l.transpose(0, 1)), 1e-15, 1e-15, false));
    let e = LowerCholesky.forward(&Tensor::zeros([2, 3], (Kind::Double, CPU))).expect_err("not square").to_string();
    assert!(e.starts_with("lower_cholesky.forward: expected x of square matrices"), "{e}");
    // IndependentTransform: the base's log-det summed over the reinterpreted dimensions.
    let ind = IndependentTransform::new(Arc::new(Exp), 1);
    let x = Tensor::from_slice(&[1.0, 2.0, 3.0, -4.0f64]).reshape([2, 2]);
    assert_eq!(to_vec(&ind.forward_log_det_jacobian(&x).unwrap()), vec![3.0, -1.0]);
    assert_eq!((ind.forward_min_event_ndims(), ind.inverse_min_event_ndims()), (1, 1));
    let e = ind.forward(&t(&[1.0]).reshape([0i64; 0])).expect_err("a scalar").to_string();
    assert!(e.starts_with("independent_transform.forward: expected x with at least 1 dimensions"), "{e}");
    // SinhArcsinh: the identity at skewness 0 and tail weight 1 (TFP's multiplier is then 1),
    // finite log-dets far out, and ±2 kept near ±2 by the multiplier whatever the tail weight.
    let x = t(&[-1e30, -2.0, 0.3, 2.0, 1e30]);
    let id = SinhArcsinh::scalar(0.0, 1.0);
    assert!(id.forward(&x.narrow(0, 1, 3)).unwrap().allclose(&x.narrow(0, 1, 3), 1e-15, 1e-15, false));
    let heavy = SinhArcsinh::scalar(0.0, 1.7);
    assert!(to_vec(&heavy.forward_log_det_jacobian(&x).unwrap()).iter().all(|v| v.is_finite()));
    let two = to_vec(&heavy.forward(&t(&[2.0])).unwrap())[0];
    assert!((two - 2.0).abs() < 1e-12, "{two}");
    // CorrelationCholesky: rows of unit norm, a positive diagonal, L Lᵀ with a unit diagonal;
    // event shapes [.., 6] <-> [.., 4, 4]; a length that is no n(n-1)/2 is refused.
    let l = CorrelationCholesky.forward(&(Tensor::randn([5, 6], (Kind::Double, CPU)) * 2.0)).unwrap();
    let norms = l.square().sum_dim_intlist([-1i64].as_slice(), false, None::<Kind>);
    assert!(norms.allclose(&norms.ones_like(), 1e-14, 1e-14, false));
    assert!(to_vec(&l.diagonal(0, -2, -1)).iter().all(|&d| d > 0.0));
    assert!(to_vec(&l.triu(1)).iter().all(|&v| v == 0.0));
    assert_eq!(CorrelationCholesky.forward_event_shape(&[2, 6]).unwrap(), vec![2, 4, 4]);
    assert_eq!(CorrelationCholesky.inverse_event_shape(&[4, 4]).unwrap(), vec![6]);
    let e = CorrelationCholesky.forward(&Tensor::zeros([4], (Kind::Double, CPU))).expect_err("4 entries").to_string();
    assert!(e.starts_with("correlation_cholesky.forward: expected a last dimension of n(n-1)/2"), "{e}");
    // Cat: the block lengths must add up to the axis; the axis counts from the end.
    let cat = Cat::new(vec![(Arc::new(Exp) as Arc<dyn Bijector>, 1), (Arc::new(Tanh), 2)], -1).unwrap();
    let x = t(&[0.0, 0.5, -0.5]);
    assert!(cat.forward(&x).unwrap().allclose(&t(&[1.0, 0.5f64.tanh(), (-0.5f64).tanh()]), 1e-15, 1e-15, false));
    let e = cat.forward(&t(&[0.0, 1.0])).expect_err("2 entries").to_string();
    assert!(e.starts_with("cat.forward: expected x of length 3 along axis -1"), "{e}");
    let e = Cat::new(vec![(Arc::new(Exp) as Arc<dyn Bijector>, 1)], 0).expect_err("axis 0").to_string();
    assert!(e.starts_with("Cat::new: expected an axis counted from the end"), "{e}");
    assert!(Cat::new(vec![], -1).is_err());
    // Stack: one part per slice, along a batch axis of the parts only.
    let stack = Stack::new(vec![Arc::new(Exp) as Arc<dyn Bijector>, Arc::new(Tanh)], -1).unwrap();
    assert!(stack.forward(&t(&[0.0, 0.5])).unwrap().allclose(&t(&[1.0, 0.5f64.tanh()]), 1e-15, 1e-15, false));
    let e = stack.forward(&t(&[0.0, 0.5, 1.0])).expect_err("3 slices").to_string();
    assert!(e.starts_with("stack.forward: expected x with 2 entries along axis -1"), "{e}");
    let e = Stack::new(vec![Arc::new(SoftmaxCentered) as Arc<dyn Bijector>], -1).expect_err("inside").to_string();
    assert!(e.contains("changes the event rank") || e.contains("outside the parts' events"), "{e}");
    let e = Stack::new(vec![Arc::new(Cumsum) as Arc<dyn Bijector>], -1).expect_err("inside the event").to_string();
    assert!(e.starts_with("Stack::new: expected an axis counted from the end and outside the parts' events"), "{e}");
    // GeneralizedPareto: onto (loc, ∞) for ξ >= 0 and onto (loc, loc + |σ/ξ|) for ξ < 0.
    let gp = GeneralizedParetoTransform::new(t(&[1.0, 1.0]), t(&[2.0, 2.0]), t(&[0.5, -0.5]));
    let y = to_vec(&gp.forward(&t(&[30.0, 30.0])).unwrap());
    assert!((y[0] - 31.0).abs() < 1e-12 && y[1] < 5.0 && y[1] > 4.999, "{y:?}");
    let y = to_vec(&gp.forward(&t(&[0.0, 0.0])).unwrap());
    assert!((y[0] - (1.0 + 2f64.ln())).abs() < 1e-15 && (y[1] - 3.0).abs() < 1e-15, "{y:?}");
    let ints = Tensor::zeros([2], (Kind::Int64, CPU));
    for (b, op) in [
        (&Expm1 as &dyn Bijector, "expm1.forward"),
        (&Log1p, "log1p.forward"),
        (&Reciprocal, "reciprocal.forward"),
        (&NormalCdf, "normal_cdf.forward"),
        (&Cumsum, "cumsum.forward"),
        (&Ordered, "ordered.forward"),
    ] {
        let e = b.forward(&ints).expect_err("an integer input is refused").to_string();
        assert!(e.starts_with(op), "{e}");
    }
}

// A learnable Affine: the same values, log-dets and gradients as Chain([Shift, Scale]) over the
// same variables, both listed.
#[test]
fn learnable_affine_equals_shift_after_scale() {
    use tch::nn;
    use tch_distributions::{Parameter, TransformedVariable};
    let vs = nn::VarStore::new(CPU);
    let p = vs.root();
    let f64s = (Kind::Double, CPU);
    let loc = Parameter::variable(&p, "loc", &Tensor::randn([3], f64s)).unwrap();
    let scale = Parameter::Transformed(
        TransformedVariable::new(&p, "scale", &(Tensor::rand([2, 1], f64s) + 0.5), Softplus).unwrap(),
    );
    let affine = Affine::new(loc.clone(), scale.clone());
    let chain = Chain::new(vec![Arc::new(Shift::new(loc)), Arc::new(Scale::new(scale))]);
    let names: Vec<String> = affine.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["loc".to_string(), "scale".to_string()]);
    let x = Tensor::randn([4, 2, 3], f64s);
    let y = affine.forward(&x).unwrap();
    assert!(y.allclose(&chain.forward(&x).unwrap(), 1e-14, 1e-14, false));
    assert!(affine.inverse(&y).unwrap().allclose(&x, 1e-12, 1e-12, false));
    let (a, c) = (affine.forward_log_det_jacobian(&x).unwrap(), chain.forward_log_det_jacobian(&x).unwrap());
    assert_eq!(a.size(), vec![4, 2, 3]);
    assert!(a.allclose(&c.broadcast_to(a.size()), 1e-14, 1e-14, false));
    let vars: Vec<Tensor> = vs.trainable_variables();
    let grads = |b: &dyn Bijector| {
        let total = (b.forward(&x).unwrap() * 0.7).sum(Kind::Double)
            + b.forward_log_det_jacobian(&x).unwrap().sum(Kind::Double);
        Tensor::run_backward(&[total], &vars, false, false)
    };
    for (g, h) in grads(&affine).iter().zip(grads(&chain).iter()) {
        assert!(g.allclose(h, 1e-12, 1e-12, false), "{g} vs {h}");
    }
}

// CumulativeDistribution: univariate distributions only; from JSON, a trainable distribution's
// variables are the bijector's (under "distribution"), and without a VarStore path it is refused.
#[test]
fn cumulative_distribution_from_json_and_its_errors() {
    use serde_json::json;
    use tch::nn;
    use tch_distributions::distributions::{Distribution, MultivariateNormalDiag, Normal};
    use tch_distributions::{spec, Parameter};
    let f64s = (Kind::Double, CPU);
    let mvn = MultivariateNormalDiag::new(
        Parameter::constant(&Tensor::zeros([2], f64s)).unwrap(),
        Parameter::constant(&Tensor::ones([2], f64s)).unwrap(),
    )
    .unwrap();
    let e = CumulativeDistribution::new(mvn).expect_err("multivariate").to_string();
    assert!(e.starts_with("CumulativeDistribution::new: expected a univariate distribution"), "{e}");
    let normal =
        json!({"type": "Normal", "loc": {"variable": 0.5}, "scale": {"transformed": 2.0, "bijector": "Softplus"}});
    let vs = nn::VarStore::new(CPU);
    let b = spec::build_bijector_in(
        &vs.root(),
        &json!({"type": "CumulativeDistribution", "distribution": normal}),
        Kind::Double,
    )
    .unwrap();
    let names: Vec<String> = b.trainable_variables().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["distribution.loc".to_string(), "distribution.scale".to_string()]);
    let x = Tensor::from_slice(&[-1.0, 0.5, 3.0]).to_kind(Kind::Double);
    let want = Normal::new(
        Parameter::constant(&Tensor::from(0.5f64)).unwrap(),
        Parameter::constant(&Tensor::from(2.0f64)).unwrap(),
    )
    .unwrap();
    assert!(b.forward(&x).unwrap().allclose(&want.cdf(&x).unwrap(), 1e-12, 1e-12, false));
    assert!(b.forward_log_det_jacobian(&x).unwrap().allclose(&want.log_prob(&x).unwrap(), 1e-12, 1e-12, false));
    let e = spec::build_bijector(&json!({"type": "CumulativeDistribution", "distribution": normal}), Kind::Double, CPU)
        .err()
        .expect("trainable without a path")
        .to_string();
    assert!(e.contains("needs a VarStore path"), "{e}");
}

// Abs and Softmax, maps but not bijections (as torch's AbsTransform and SoftmaxTransform): the
// forward against its closed form, Softmax's right inverse, and errors for what does not exist.
#[test]
fn abs_and_softmax_are_forward_maps() {
    let x = Tensor::from_slice(&[-2.0, 0.5, 3.0, -0.25f64]).reshape([2, 2]);
    assert_eq!(to_vec(&Abs.forward(&x).unwrap()), vec![2.0, 0.5, 3.0, 0.25]);
    let y = Softmax.forward(&x).unwrap();
    let e = x.exp();
    let want = &e / e.sum_dim_intlist([-1i64].as_slice(), true, None::<Kind>);
    assert!(y.allclose(&want, 1e-15, 1e-15, false));
    assert!(Softmax.forward(&Softmax.inverse(&y).unwrap()).unwrap().allclose(&y, 1e-15, 1e-15, false));
    assert!(Softmax.forward(&(&x + 7.0)).unwrap().allclose(&y, 1e-14, 1e-14, false), "not injective");
    for (r, start) in [
        (Abs.inverse(&x).map(|_| ()), "abs.inverse: |x| is not injective"),
        (Abs.forward_log_det_jacobian(&x).map(|_| ()), "abs.forward_log_det_jacobian"),
        (
            Softmax.forward_log_det_jacobian(&x).map(|_| ()),
            "softmax.forward_log_det_jacobian: softmax is not a bijection",
        ),
        (Softmax.inverse_log_det_jacobian(&y).map(|_| ()), "softmax.inverse_log_det_jacobian"),
    ] {
        let e = r.expect_err("refused").to_string();
        assert!(e.starts_with(start), "{e}");
    }
}

/// TFP's Split: the blocks are the slices `narrow` takes (sizes given or equal, on the last and
/// on an inner axis), the inverse concatenates them back, the log-det is zero of the batch
/// shape, and sizes that do not fit are errors naming the operation.
#[test]
fn split_blocks_and_back() {
    use tch_distributions::bijectors::Split;
    let x = Tensor::randn([4, 6, 5], (Kind::Double, Device::Cpu));
    for (split, dim, sizes) in [
        (Split::new(vec![2, 0, 3], -1).unwrap(), 2, vec![2, 0, 3]),
        (Split::equal(3, -2).unwrap(), 1, vec![2, 2, 2]),
    ] {
        let parts = split.forward(&x).unwrap();
        assert_eq!(parts.len(), sizes.len());
        let mut start = 0;
        for (p, &s) in parts.iter().zip(&sizes) {
            assert!(p.equal(&x.narrow(dim, start, s)), "block at {start} of size {s}");
            start += s;
        }
        assert!(split.inverse(&parts).unwrap().equal(&x));
        let ldj = split.forward_log_det_jacobian(&x).unwrap();
        assert_eq!(ldj.size(), x.size()[..dim as usize].to_vec());
        assert!(ldj.abs().max().double_value(&[]) == 0.0);
        let shapes = split.forward_event_shape(&x.size()[dim as usize..]).unwrap();
        assert_eq!(shapes, parts.iter().map(|p| p.size()[dim as usize..].to_vec()).collect::<Vec<_>>());
    }
    let named = Split::new(vec![1, 4], -1).unwrap().forward_named(&x, &["a", "b"]).unwrap();
    assert_eq!(named.get("b").unwrap().size(), vec![4, 6, 4]);
    let err = |r: anyhow::Result<Vec<Tensor>>| r.err().expect("an error").to_string();
    assert!(err(Split::new(vec![2, 2], -1).unwrap().forward(&x)).starts_with("Split.forward: expected an axis of size 4"));
    assert!(err(Split::equal(4, -2).unwrap().forward(&x)).contains("does not split into 4 equal blocks"));
    assert!(Split::new(vec![2], 0).unwrap_err().to_string().contains("negative axis"));
    let parts = Split::new(vec![2, 3], -1).unwrap().forward(&x).unwrap();
    let e = Split::new(vec![3, 2], -1).unwrap().inverse(&parts).unwrap_err().to_string();
    assert!(e.starts_with("Split.inverse: expected blocks of sizes [3, 2]"), "{e}");
}
