//! Integration tests for the composite and structural bijectors: Chain, FillTriangular,
//! TransformDiagonal, Shift, Scale, FillScaleTriL, Pad, ConcatConstant.
//!
//! References: autograd Jacobians (`testing::autograd_log_det_jacobian`), TFP's documented
//! `fill_triangular` examples, and the seed colab's printed values (TFP, float32).

// Chains hold `Arc<dyn Bijector>`, and `dyn Bijector` is not `Send + Sync`.
#![allow(clippy::arc_with_non_send_sync)]

mod common;

use common::{seeded, to_vec};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::{
    testing, Bijector, Chain, ConcatConstant, Exp, FillScaleTriL, FillTriangular, Pad, Position, Scale, Shift,
    Softplus, TransformDiagonal,
};

const CPU: Device = Device::Cpu;

fn randn(shape: &[i64], kind: Kind) -> Tensor {
    Tensor::randn(shape, (Kind::Double, CPU)).to_kind(kind)
}

fn fill_scale_tril_like() -> Chain {
    // FillScaleTriL built by hand with Exp on the diagonal and a tensor shift.
    let diag = Chain::new(vec![Arc::new(Shift::scalar(0.5)), Arc::new(Exp)]);
    Chain::new(vec![Arc::new(TransformDiagonal(Arc::new(diag))), Arc::new(FillTriangular::lower())])
}

/// Every new bijector with an input of batch [3, 2] and its event shape, float64.
fn zoo(kind: Kind) -> Vec<(Box<dyn Bijector>, Vec<i64>)> {
    let shift = randn(&[4], kind);
    let scale = randn(&[2, 4], kind).abs() + 0.5;
    let constant = randn(&[2, 3], kind);
    vec![
        (Box::new(Chain::new(vec![])), vec![3, 2, 4]),
        (Box::new(Chain::new(vec![Arc::new(Exp), Arc::new(Shift::scalar(1.0))])), vec![3, 2, 4]),
        (Box::new(Chain::new(vec![Arc::new(Softplus), Arc::new(Scale::scalar(-2.0))])), vec![3, 2, 4]),
        (Box::new(fill_scale_tril_like()), vec![3, 2, 6]),
        (Box::new(FillTriangular::lower()), vec![3, 2, 10]),
        (Box::new(FillTriangular::upper()), vec![3, 2, 10]),
        (Box::new(TransformDiagonal(Arc::new(Softplus))), vec![3, 2, 4, 4]),
        (
            Box::new(TransformDiagonal(Arc::new(Chain::new(vec![Arc::new(Shift::scalar(0.1)), Arc::new(Exp)])))),
            vec![3, 2, 3, 3],
        ),
        (Box::new(Shift::new(shift)), vec![3, 2, 4]),
        (Box::new(Shift::scalar(-3.0)), vec![3, 2, 4]),
        (Box::new(Scale::new(scale)), vec![3, 2, 4]),
        (Box::new(Scale::scalar(-0.25)), vec![3, 2, 4]),
        (Box::new(FillScaleTriL::default()), vec![3, 2, 10]),
        (Box::new(FillScaleTriL::new(Arc::new(Exp), 1e-3)), vec![3, 2, 6]),
        (Box::new(Pad::new(1, 0)), vec![3, 2, 4]),
        (Box::new(Pad::new(2, 3).with_constant(-1.5)), vec![3, 2, 4]),
        (Box::new(Pad::new(1, 0).with_axis(-2)), vec![3, 2, 3, 4]),
        (Box::new(ConcatConstant::new(constant.shallow_clone(), -2, Position::Before).unwrap()), vec![3, 2, 5, 3]),
        (Box::new(ConcatConstant::new(constant.get(0), -1, Position::After).unwrap()), vec![3, 2, 5]),
    ]
}

// Round trip, log-det vs autograd (where square), inverse log-det, forward_and_log_det and
// event shapes, float64.
#[test]
fn check_bijector_float64() {
    let _g = seeded(10);
    for (b, shape) in zoo(Kind::Double) {
        let x = randn(&shape, Kind::Double);
        testing::check_bijector(b.as_ref(), &x, 1e-10, 1e-10).unwrap_or_else(|e| panic!("{}: {e:#}", b.name()));
        // Log-det has the batch shape (after broadcasting).
        let k = b.forward_min_event_ndims();
        let batch = &shape[..shape.len() - k];
        let fldj = b.forward_log_det_jacobian(&x).unwrap();
        assert_eq!(fldj.broadcast_to(batch).size(), batch.to_vec(), "{}", b.name());
    }
}

// Float32: round trips (and dtype preserved), and the full check (log-det against the float32
// autograd Jacobian) with tolerances of a few hundred float32 roundings (1e-4: the autograd
// reference itself goes through a float32 LU factorisation of the Jacobian).
#[test]
fn round_trip_float32() {
    let _g = seeded(11);
    for (b, shape) in zoo(Kind::Float) {
        let x = randn(&shape, Kind::Float);
        testing::check_bijector(b.as_ref(), &x, 1e-4, 1e-4).unwrap_or_else(|e| panic!("{} (f32): {e:#}", b.name()));
        let y = b.forward(&x).unwrap();
        assert_eq!(y.kind(), Kind::Float, "{}", b.name());
        let back = b.inverse(&y).unwrap();
        assert_eq!(back.kind(), Kind::Float, "{}", b.name());
        testing::close(&format!("{} f32 round trip", b.name()), &back, &x, 1e-5, 1e-5).unwrap();
        let (_, ildj) = b.inverse_and_log_det(&y).unwrap();
        assert_eq!(ildj.kind(), Kind::Float, "{}", b.name());
    }
}

// Dimension-changing bijectors (no square Jacobian): log-det exactly 0, round trip exact.
#[test]
fn embeddings_have_zero_log_det() {
    let _g = seeded(12);
    let constant = randn(&[1, 3], Kind::Double);
    let embeddings: Vec<(Box<dyn Bijector>, Vec<i64>)> = vec![
        (Box::new(Pad::new(1, 2)), vec![3, 2, 4]),
        (Box::new(Pad::new(1, 0).with_axis(-2)), vec![3, 2, 3, 4]),
        (Box::new(ConcatConstant::new(constant.shallow_clone(), -2, Position::Before).unwrap()), vec![3, 2, 5, 3]),
        (Box::new(ConcatConstant::new(constant, -2, Position::After).unwrap()), vec![3, 2, 5, 3]),
        (Box::new(FillTriangular::lower()), vec![3, 2, 6]),
        (Box::new(FillTriangular::upper()), vec![3, 2, 6]),
    ];
    for (b, shape) in embeddings {
        let x = randn(&shape, Kind::Double);
        let (y, fldj) = b.forward_and_log_det(&x).unwrap();
        let batch = &shape[..shape.len() - b.forward_min_event_ndims()];
        assert_eq!(fldj.size(), batch.to_vec(), "{}", b.name());
        assert!(to_vec(&fldj).iter().all(|&v| v == 0.0), "{}", b.name());
        let ildj = b.inverse_log_det_jacobian(&y).unwrap();
        assert!(to_vec(&ildj).iter().all(|&v| v == 0.0), "{}", b.name());
        let back = b.inverse(&y).unwrap();
        assert_eq!(to_vec(&back), to_vec(&x), "{}", b.name());
        assert!(b.is_constant_jacobian(), "{}", b.name());
    }
}

fn t(values: &[f64], shape: &[i64]) -> Tensor {
    Tensor::from_slice(values).reshape(shape)
}

// TFP docs: fill_triangular([1, 2, 3, 4, 5, 6]) = [[4, 0, 0], [6, 5, 0], [3, 2, 1]] and
// fill_triangular([1, 2, 3, 4, 5, 6], upper=True) = [[1, 2, 3], [0, 5, 6], [0, 0, 4]].
#[test]
fn fill_triangular_tfp_order() {
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[6]);
    let lower = FillTriangular::lower().forward(&x).unwrap();
    assert_eq!(lower.size(), vec![3, 3]);
    assert_eq!(to_vec(&lower), vec![4.0, 0.0, 0.0, 6.0, 5.0, 0.0, 3.0, 2.0, 1.0]);
    let upper = FillTriangular::upper().forward(&x).unwrap();
    assert_eq!(to_vec(&upper), vec![1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0, 0.0, 4.0]);
    // Inverses read only their triangle: junk on the other side is ignored.
    let junk = Tensor::ones([3, 3], (Kind::Double, CPU)) * 100.0;
    let lower_junk = &lower + junk.triu(1);
    assert_eq!(to_vec(&FillTriangular::lower().inverse(&lower_junk).unwrap()), to_vec(&x));
    let upper_junk = &upper + junk.tril(-1);
    assert_eq!(to_vec(&FillTriangular::upper().inverse(&upper_junk).unwrap()), to_vec(&x));
    // n = 4: the diagonal takes entries 4, 9, 5, 0 of the vector.
    let v = Tensor::arange(10, (Kind::Double, CPU));
    let m = FillTriangular::lower().forward(&v).unwrap();
    assert_eq!(to_vec(&m.diagonal(0, -2, -1)), vec![4.0, 9.0, 5.0, 0.0]);
    // Batched: each row of a [2, 3, 6] batch fills its own matrix.
    let xb = Tensor::stack(&[&x, &(&x * 10.0)], 0).unsqueeze(1).expand([2, 3, 6], false);
    let mb = FillTriangular::lower().forward(&xb).unwrap();
    assert_eq!(mb.size(), vec![2, 3, 3, 3]);
    assert_eq!(to_vec(&mb.get(1).get(2)), to_vec(&(&lower * 10.0)));
    // n = 0 and n = 1 edge cases.
    assert_eq!(FillTriangular::lower().forward(&t(&[7.0], &[1])).unwrap().size(), vec![1, 1]);
    assert_eq!(
        FillTriangular::lower().forward(&Tensor::zeros([2, 0], (Kind::Double, CPU))).unwrap().size(),
        vec![2, 0, 0]
    );
}

#[test]
fn fill_triangular_rejects_bad_shapes() {
    let b = FillTriangular::lower();
    let err = b.forward(&Tensor::zeros([3, 5], (Kind::Float, CPU))).unwrap_err().to_string();
    assert!(err.contains("FillTriangular.forward: expected a last dimension of n(n+1)/2 entries, got 5"), "{err}");
    assert!(b.forward_log_det_jacobian(&Tensor::zeros([5], (Kind::Float, CPU))).is_err());
    assert!(b.forward_event_shape(&[5]).is_err());
    let err = b.inverse(&Tensor::zeros([3, 4], (Kind::Float, CPU))).unwrap_err().to_string();
    assert!(err.contains("square"), "{err}");
    assert!(b.inverse(&Tensor::zeros([3], (Kind::Float, CPU))).is_err());
    assert!(b.forward(&Tensor::zeros([3], (Kind::Int64, CPU))).is_err());
    assert!(b.forward(&Tensor::zeros([], (Kind::Float, CPU))).is_err());
}

// Chain order (TFP): Chain([Exp, Shift(1)]).forward(x) = exp(x + 1); log-det = x + 1.
#[test]
fn chain_order_is_tfp() {
    let x = t(&[-1.0, 0.0, 0.5, 2.0], &[4]);
    let c = Chain::new(vec![Arc::new(Exp), Arc::new(Shift::scalar(1.0))]);
    assert_eq!(c.name(), "chain_of_exp_of_shift");
    let y = c.forward(&x).unwrap();
    for (got, xv) in to_vec(&y).iter().zip(to_vec(&x)) {
        assert!((got - (xv + 1.0).exp()).abs() <= 1e-15 * got.abs(), "{got} vs exp({xv} + 1)");
    }
    let fldj = c.forward_log_det_jacobian(&x).unwrap();
    for (got, xv) in to_vec(&fldj).iter().zip(to_vec(&x)) {
        assert!((got - (xv + 1.0)).abs() <= 1e-15, "{got}");
    }
    // The other order: exp(x) + 1.
    let c2 = Chain::new(vec![Arc::new(Shift::scalar(1.0)), Arc::new(Exp)]);
    for (got, xv) in to_vec(&c2.forward(&x).unwrap()).iter().zip(to_vec(&x)) {
        assert!((got - (xv.exp() + 1.0)).abs() <= 1e-15 * got.abs());
    }
    // Empty chain: identity.
    let id = Chain::new(vec![]);
    assert_eq!(id.name(), "identity");
    assert_eq!(to_vec(&id.forward(&x).unwrap()), to_vec(&x));
    assert_eq!(to_vec(&id.forward_log_det_jacobian(&x).unwrap()), vec![0.0; 4]);
    assert_eq!(id.forward_min_event_ndims(), 0);
}

// Chain min event ndims and log-det with an event-rank change, reduced over extra dims.
#[test]
fn chain_event_ndims_with_rank_change() {
    let _g = seeded(13);
    let c = fill_scale_tril_like();
    assert_eq!((c.forward_min_event_ndims(), c.inverse_min_event_ndims()), (1, 2));
    let pad_first = Chain::new(vec![Arc::new(FillScaleTriL::default()), Arc::new(Pad::new(1, 0).with_axis(-2))]);
    assert_eq!((pad_first.forward_min_event_ndims(), pad_first.inverse_min_event_ndims()), (2, 3));
    let x = randn(&[3, 2, 6], Kind::Double);
    let l1 = c.forward_log_det_jacobian(&x).unwrap();
    assert_eq!(l1.size(), vec![3, 2]);
    let l2 = c.forward_log_det_jacobian_reduced(&x, 2).unwrap();
    testing::close("reduced 2", &l2, &l1.sum_dim_intlist([-1].as_slice(), false, Kind::Double), 1e-12, 1e-12).unwrap();
    let y = c.forward(&x).unwrap();
    let i3 = c.inverse_log_det_jacobian_reduced(&y, 3).unwrap();
    testing::close("inverse reduced 3", &i3, &(-&l2), 1e-12, 1e-12).unwrap();
    assert!(c.forward_log_det_jacobian_reduced(&x, 0).is_err());
    assert!(c.forward_log_det_jacobian_reduced(&x, 4).is_err());
    // Shapes map through the chain.
    assert_eq!(c.forward_event_shape(&[6]).unwrap(), vec![3, 3]);
    assert_eq!(c.inverse_event_shape(&[3, 3]).unwrap(), vec![6]);
    assert_eq!(pad_first.forward_event_shape(&[2, 10]).unwrap(), vec![3, 4, 4]);
    assert_eq!(pad_first.inverse_event_shape(&[3, 4, 4]).unwrap(), vec![2, 10]);
    assert!(c.forward_event_shape(&[5]).is_err());
}

/// `x -> FillTriangular.inverse(b.forward(x))`: a square map from the vector to the
/// lower-triangle entries read back in the same order.
struct ReadBack<B: Bijector>(B);

impl<B: Bijector> Bijector for ReadBack<B> {
    fn name(&self) -> String {
        format!("read_back_{}", self.0.name())
    }
    fn forward_min_event_ndims(&self) -> usize {
        1
    }
    fn forward(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        FillTriangular::lower().inverse(&self.0.forward(x)?)
    }
    fn inverse(&self, y: &Tensor) -> anyhow::Result<Tensor> {
        self.0.inverse(&FillTriangular::lower().forward(y)?)
    }
    fn forward_log_det_jacobian(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        self.0.forward_log_det_jacobian(x)
    }
}

// FillScaleTriL's log-det against the autograd Jacobian of vector -> lower-triangle entries,
// and against the closed form sum_i log sigmoid(x_diag_i) (Softplus on the diagonal).
#[test]
fn fill_scale_tril_log_det_vs_autograd() {
    let _g = seeded(14);
    for b in [FillScaleTriL::default(), FillScaleTriL::new(Arc::new(Exp), 0.3)] {
        let x = randn(&[3, 2, 10], Kind::Double) * 2.0;
        let fldj = b.forward_log_det_jacobian(&x).unwrap();
        assert_eq!(fldj.size(), vec![3, 2]);
        let auto = testing::autograd_log_det_jacobian(&ReadBack(b.clone()), &x).unwrap();
        testing::close("fill_scale_tril fldj vs autograd", &fldj, &auto, 1e-10, 1e-10).unwrap();
        testing::check_bijector(&ReadBack(b), &x, 1e-10, 1e-10).unwrap();
    }
    let x = randn(&[5, 10], Kind::Double);
    let fldj = FillScaleTriL::default().forward_log_det_jacobian(&x).unwrap();
    let xs = to_vec(&x);
    for (r, got) in to_vec(&fldj).iter().enumerate() {
        let want: f64 = [4, 9, 5, 0].iter().map(|&i| -(-xs[r * 10 + i]).exp().ln_1p()).sum();
        // log sigmoid(x) = -log1p(exp(-x)), accurate for these moderate (randn) inputs.
        assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
    }
    // The hand-built chain agrees with the struct.
    let x = randn(&[4, 6], Kind::Double);
    let fst = FillScaleTriL::new(Arc::new(Exp), 0.5);
    testing::close(
        "chain vs struct",
        &fst.forward(&x).unwrap(),
        &fill_scale_tril_like().forward(&x).unwrap(),
        0.0,
        0.0,
    )
    .unwrap();
    // The result is lower triangular with a diagonal above the shift.
    let l = FillScaleTriL::default().forward(&(randn(&[7, 10], Kind::Double) * 30.0)).unwrap();
    assert_eq!(to_vec(&l.triu(1)), vec![0.0; 7 * 16]);
    assert!(to_vec(&l.diagonal(0, -2, -1)).iter().all(|&d| d >= 1e-5));
}

// Seed colab: FillScaleTriL().inverse(10 * eye(4)) (float32) prints
// [9.999945, 0, 0, 0, 9.999945, 9.999945, 0, 0, 0, 9.999945].
#[test]
fn fill_scale_tril_inverse_matches_seed() {
    let y = Tensor::eye(4, (Kind::Float, CPU)) * 10.0;
    let x = FillScaleTriL::default().inverse(&y).unwrap();
    assert_eq!(x.kind(), Kind::Float);
    assert_eq!(x.size(), vec![10]);
    let d = 9.999945;
    let want = [d, 0.0, 0.0, 0.0, d, d, 0.0, 0.0, 0.0, d];
    let got = Vec::<f32>::try_from(&x).unwrap();
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() <= 1e-6, "{got:?} vs {want:?}");
    }
    // Batched as in the colab: [3, 4, 4] -> [3, 10].
    let yb = Tensor::eye(4, (Kind::Float, CPU)).expand([3, 4, 4], false) * 10.0;
    let xb = FillScaleTriL::default().inverse(&yb).unwrap();
    assert_eq!(xb.size(), vec![3, 10]);
    assert_eq!(to_vec(&xb.get(2)), to_vec(&x));
    // And back to 10 * eye(4).
    testing::close("forward(inverse(10 eye))", &FillScaleTriL::default().forward(&xb).unwrap(), &yb, 1e-5, 1e-6)
        .unwrap();
}

// Seed colab: Pad(paddings=[(1, 0)], axis=-2) turns learnable [2, 4] locations into [3, 4]
// with a zero first row; here [3, 4] -> [4, 4] with a constant first row, batched.
#[test]
fn pad_axis_minus_two() {
    let _g = seeded(15);
    let p = Pad::new(1, 0).with_axis(-2).with_constant(2.5);
    assert_eq!((p.forward_min_event_ndims(), p.inverse_min_event_ndims()), (2, 2));
    let x = randn(&[5, 3, 4], Kind::Double);
    let y = p.forward(&x).unwrap();
    assert_eq!(y.size(), vec![5, 4, 4]);
    assert_eq!(to_vec(&y.narrow(-2, 0, 1)), vec![2.5; 20]);
    assert_eq!(to_vec(&y.narrow(-2, 1, 3)), to_vec(&x));
    assert_eq!(to_vec(&p.inverse(&y).unwrap()), to_vec(&x));
    assert_eq!(p.forward_event_shape(&[3, 4]).unwrap(), vec![4, 4]);
    assert_eq!(p.inverse_event_shape(&[4, 4]).unwrap(), vec![3, 4]);
    assert_eq!(to_vec(&p.forward_log_det_jacobian(&x).unwrap()), vec![0.0; 5]);
    // The logits pad: [-0.405, -0.811] -> [0, -0.405, -0.811].
    let logits = t(&[-0.4054651, -0.8109302], &[2]);
    assert_eq!(to_vec(&Pad::new(1, 0).forward(&logits).unwrap()), vec![0.0, -0.4054651, -0.8109302]);
    // Errors, not panics.
    assert!(p.forward(&Tensor::zeros([4], (Kind::Double, CPU))).is_err());
    assert!(p.inverse(&Tensor::zeros([0, 4], (Kind::Double, CPU))).is_err());
    assert!(Pad::new(1, 0).with_axis(0).forward(&x).is_err());
    assert!(Pad::new(-1, 0).forward(&x).is_err());
    assert!(p.inverse_event_shape(&[0, 4]).is_err());
}

// ConcatConstant: the PadEye construction of the seed colab, and argument checks.
#[test]
fn concat_constant_pad_eye() {
    let _g = seeded(16);
    let n = 4;
    let tril = FillScaleTriL::default();
    let eye_row = tril.inverse(&Tensor::eye(n, (Kind::Double, CPU))).unwrap().unsqueeze(0);
    let pad_eye = ConcatConstant::new(eye_row, -2, Position::Before).unwrap();
    assert_eq!(pad_eye.forward_event_shape(&[2, 10]).unwrap(), vec![3, 10]);
    assert_eq!(pad_eye.inverse_event_shape(&[3, 10]).unwrap(), vec![2, 10]);
    let scale_tril = Chain::new(vec![Arc::new(tril), Arc::new(pad_eye)]);
    let x = randn(&[5, 2, 10], Kind::Double);
    let (l, fldj) = scale_tril.forward_and_log_det(&x).unwrap();
    assert_eq!(l.size(), vec![5, 3, 4, 4]);
    for i in 0..5 {
        testing::close("first component is eye", &l.get(i).get(0), &Tensor::eye(n, (Kind::Double, CPU)), 1e-12, 0.0)
            .unwrap();
    }
    // As in TFP, the chain's log-det is the embedding's (0) plus FillScaleTriL's summed over
    // all three rows of the padded intermediate, the fixed eye row included (a constant,
    // 4 log(1 - exp(-(1 - 1e-5))) ≈ -1.83, independent of x).
    let padded = scale_tril.bijectors()[1].forward(&x).unwrap();
    let want = FillScaleTriL::default().forward_log_det_jacobian_reduced(&padded, 2).unwrap();
    testing::close("pad-eye chain log-det", &fldj, &want, 1e-12, 1e-12).unwrap();
    let free = FillScaleTriL::default().forward_log_det_jacobian_reduced(&x, 2).unwrap();
    let eye_row = 4.0 * (-(-(1.0f64 - 1e-5)).exp()).ln_1p();
    testing::close(
        "eye row constant",
        &(&fldj - &free),
        &Tensor::full([5], eye_row, (Kind::Double, CPU)),
        1e-12,
        1e-12,
    )
    .unwrap();
    assert_eq!(fldj.size(), vec![5]);
    testing::close("round trip", &scale_tril.inverse(&l).unwrap(), &x, 1e-10, 1e-10).unwrap();

    // Append along the last axis.
    let c = ConcatConstant::new(t(&[7.0, 8.0], &[2]), -1, Position::After).unwrap();
    let y = c.forward(&t(&[1.0, 2.0, 3.0, 4.0], &[2, 2])).unwrap();
    assert_eq!(to_vec(&y), vec![1.0, 2.0, 7.0, 8.0, 3.0, 4.0, 7.0, 8.0]);

    // Errors, not panics: wrong rank, axis, dtype, trailing shape, too-short inverse input.
    assert!(ConcatConstant::new(t(&[1.0], &[1]), -2, Position::Before).is_err());
    assert!(ConcatConstant::new(t(&[1.0], &[1]), 0, Position::Before).is_err());
    assert!(ConcatConstant::new(Tensor::zeros([1], (Kind::Int64, CPU)), -1, Position::Before).is_err());
    let c = ConcatConstant::new(Tensor::zeros([1, 3], (Kind::Double, CPU)), -2, Position::Before).unwrap();
    let err = c.forward(&Tensor::zeros([2, 4], (Kind::Double, CPU))).unwrap_err().to_string();
    assert!(err.contains("does not fit"), "{err}");
    assert!(c.forward(&Tensor::zeros([2, 3], (Kind::Float, CPU))).is_err());
    assert!(c.inverse(&Tensor::zeros([0, 3], (Kind::Double, CPU))).is_err());
}

// Shift and Scale: values, log-dets, dtype/device checks, broadcasting, gradients to params.
#[test]
fn shift_and_scale() {
    let x = t(&[1.0, -2.0, 3.0, 0.5, 0.0, -1.0], &[2, 3]);
    let s = Shift::new(t(&[10.0, 20.0, 30.0], &[3]));
    assert_eq!(to_vec(&s.forward(&x).unwrap()), vec![11.0, 18.0, 33.0, 10.5, 20.0, 29.0]);
    assert_eq!(s.forward_log_det_jacobian(&x).unwrap().size(), vec![2, 3]);
    let err = s.forward(&x.to_kind(Kind::Float)).unwrap_err().to_string();
    assert!(err.contains("float64") && err.contains("float32"), "{err}");
    assert!(s.forward(&Tensor::zeros([2, 4], (Kind::Double, CPU))).is_err());
    assert!(Shift::new(Tensor::zeros([3], (Kind::Int64, CPU))).forward(&x).is_err());
    // A scalar shift works in either dtype.
    for kind in [Kind::Float, Kind::Double] {
        let y = Shift::scalar(1.5).forward(&x.to_kind(kind)).unwrap();
        assert_eq!(y.kind(), kind);
        assert_eq!(to_vec(&y), to_vec(&x).iter().map(|v| v + 1.5).collect::<Vec<_>>());
    }

    let scale = t(&[2.0, -0.5, 4.0], &[3]);
    let sc = Scale::new(scale.shallow_clone());
    assert_eq!(to_vec(&sc.forward(&x).unwrap()), vec![2.0, 1.0, 12.0, 1.0, -0.0, -4.0]);
    let fldj = sc.forward_log_det_jacobian(&x).unwrap();
    assert_eq!(fldj.size(), vec![2, 3]);
    let want = [2f64.ln(), 0.5f64.ln(), 4f64.ln()];
    for (i, got) in to_vec(&fldj).iter().enumerate() {
        assert!((got - want[i % 3]).abs() <= 1e-15);
    }
    assert!(
        (to_vec(&sc.forward_log_det_jacobian_reduced(&x, 2).unwrap())[0] - 2.0 * want.iter().sum::<f64>()).abs()
            <= 1e-14
    );
    assert!(sc.forward(&x.to_kind(Kind::Float)).is_err());
    // Gradients reach a learnable scale through forward and the log-det.
    let p = scale.set_requires_grad(true);
    let sc = Scale::new(p.shallow_clone());
    let loss = sc.forward(&x).unwrap().sum(Kind::Double) + sc.forward_log_det_jacobian(&x).unwrap().sum(Kind::Double);
    loss.backward();
    // d/ds_j [sum_i s_j x_ij + 2 log|s_j|] = sum_i x_ij + 2 / s_j
    let g = to_vec(&p.grad());
    let want = [1.5 + 2.0 / 2.0, -2.0 + 2.0 / -0.5, 2.0 + 2.0 / 4.0];
    for (g, w) in g.iter().zip(want) {
        assert!((g - w).abs() <= 1e-14, "{g} vs {w}");
    }
}

// TransformDiagonal: only the diagonal changes; off-diagonal entries pass through exactly.
#[test]
fn transform_diagonal_touches_only_the_diagonal() {
    let _g = seeded(17);
    let b = TransformDiagonal(Arc::new(Exp));
    let x = randn(&[2, 3, 3], Kind::Double);
    let y = b.forward(&x).unwrap();
    let off = Tensor::ones([3, 3], (Kind::Double, CPU)) - Tensor::eye(3, (Kind::Double, CPU));
    assert_eq!(to_vec(&(&y * &off)), to_vec(&(&x * &off)));
    testing::close("diag", &y.diagonal(0, -2, -1), &x.diagonal(0, -2, -1).exp(), 0.0, 0.0).unwrap();
    let fldj = b.forward_log_det_jacobian(&x).unwrap();
    testing::close(
        "fldj",
        &fldj,
        &x.diagonal(0, -2, -1).sum_dim_intlist([-1].as_slice(), false, Kind::Double),
        1e-15,
        0.0,
    )
    .unwrap();
    // Non-square input and a non-elementwise inner bijector are errors.
    assert!(b.forward(&Tensor::zeros([3, 4], (Kind::Double, CPU))).is_err());
    let bad = TransformDiagonal(Arc::new(FillTriangular::lower()));
    assert!(bad.forward(&x).unwrap_err().to_string().contains("min event ndims"));
}
