//! Integration tests for the rational-quadratic spline (`RationalQuadraticSpline`, `rqs_forward`,
//! `rqs_inverse`, `SplineParams`).
//!
//! References: autograd Jacobians (`testing::check_bijector`, float64, tolerance 1e-10), finite
//! differences for the boundary slopes, the defining properties (identity outside the range,
//! monotonicity, knots mapped to knots) and construction errors. Value parity with TFP and
//! nflows is in `scripts/parity_spline.py`.

mod common;

use common::{seeded, to_vec};
use tch::{Device, Kind, Tensor};
use tch_distributions::bijectors::{
    rqs_forward, rqs_inverse, testing, Bijector, RationalQuadraticSpline, SplineParams,
};

const CPU: Device = Device::Cpu;

/// Random positive parameters: widths and heights `[batch.., K]` with equal sums `total`
/// (TFP's requirement), slopes `[batch.., K-1]` in about `[0.1, 10]`.
fn params(batch: &[i64], k: i64, total: f64) -> (Tensor, Tensor, Tensor) {
    let mut shape = batch.to_vec();
    shape.push(k);
    let sizes = || {
        let w = (Tensor::randn(shape.as_slice(), (Kind::Double, CPU)) * 0.8).exp();
        &w / w.sum_dim_intlist([-1i64].as_slice(), true, Kind::Double) * total
    };
    let (w, h) = (sizes(), sizes());
    shape[batch.len()] = k - 1;
    let s = Tensor::randn(shape.as_slice(), (Kind::Double, CPU)).exp();
    (w, h, s)
}

fn scalar(v: f64) -> Tensor {
    Tensor::from(v).to_kind(Kind::Double)
}

/// The knots `range_min + [0, cumsum(sizes)]`, `[..., K + 1]`.
fn knots(sizes: &Tensor, range_min: f64) -> Tensor {
    let zero = sizes.narrow(-1, 0, 1).zeros_like();
    Tensor::cat(&[zero, sizes.cumsum(-1, Kind::Double)], -1) + range_min
}

/// Inputs of shape `[n, batch..]`: uniform in and around `[lo, lo + total]`, the range ends,
/// every knot of every batch member, and far values.
fn inputs(widths: &Tensor, range_min: f64, total: f64, n_random: i64) -> Tensor {
    let ws = widths.size();
    let batch = &ws[..ws.len() - 1];
    let mut shape = vec![n_random];
    shape.extend_from_slice(batch);
    let uniform = Tensor::rand(shape.as_slice(), (Kind::Double, CPU)) * (total + 2.0) + (range_min - 1.0);
    // Knots moved to the front: [K + 1, batch..].
    let kx = knots(widths, range_min).movedim(-1, 0);
    let mut far_shape = vec![4i64];
    far_shape.extend(batch.iter().map(|_| 1));
    let mut full = vec![4i64];
    full.extend_from_slice(batch);
    let far = Tensor::from_slice(&[-1e6, 1e6, range_min - 1e-9, range_min + total + 1e-9])
        .reshape(far_shape.as_slice())
        .expand(full.as_slice(), false);
    Tensor::cat(&[uniform, kx, far], 0)
}

#[test]
fn check_bijector_k1_k3_k8_inside_outside_and_at_knots() {
    let _g = seeded(11);
    for k in [1, 3, 8] {
        for (batch, range_min, total) in [(vec![], -1.0, 2.0), (vec![3], -3.0, 6.0), (vec![2, 2], 0.5, 1.5)] {
            let (w, h, s) = params(&batch, k, total);
            let x = inputs(&w, range_min, total, 40);
            let b = RationalQuadraticSpline::new(w.shallow_clone(), h, s, scalar(range_min)).unwrap();
            testing::check_bijector(&b, &x, 1e-10, 1e-10).unwrap_or_else(|e| panic!("K = {k}, batch {batch:?}: {e:#}"));
        }
    }
}

#[test]
fn batch_shapes_broadcast_with_the_input() {
    let _g = seeded(12);
    let k = 4;
    // Parameters [3, K], range_min [3], x [5, 3].
    let (w, h, s) = params(&[3], k, 2.0);
    let rm = Tensor::from_slice(&[-1.0, 0.0, 2.0]);
    let b = RationalQuadraticSpline::new(w.shallow_clone(), h.shallow_clone(), s.shallow_clone(), rm.shallow_clone())
        .unwrap();
    let x = Tensor::rand([5, 3], (Kind::Double, CPU)) * 4.0 - 1.5;
    testing::check_bijector(&b, &x, 1e-10, 1e-10).unwrap();
    // Each column equals the spline of that column alone.
    let y = b.forward(&x).unwrap();
    for j in 0..3 {
        let bj = RationalQuadraticSpline::new(w.get(j), h.get(j), s.get(j), rm.get(j)).unwrap();
        let yj = bj.forward(&x.select(1, j)).unwrap();
        testing::close("column", &y.select(1, j), &yj, 0.0, 1e-15).unwrap();
    }
    // Parameters [2, 1, K] and x [4]: outputs of the broadcast shape [2, 4].
    let (w, h, s) = params(&[2, 1], k, 2.0);
    let b = RationalQuadraticSpline::new(w, h, s, scalar(-1.0)).unwrap();
    let x = Tensor::linspace(-1.5, 1.5, 4, (Kind::Double, CPU));
    let (y, ldj) = b.forward_and_log_det(&x).unwrap();
    assert_eq!(y.size(), vec![2, 4]);
    assert_eq!(ldj.size(), vec![2, 4]);
    let (xb, ildj) = b.inverse_and_log_det(&y).unwrap();
    testing::close("round trip", &xb, &x.expand([2, 4], false), 1e-12, 1e-12).unwrap();
    testing::close("ildj", &ildj, &(-&ldj), 1e-12, 1e-12).unwrap();
    // A shared [K] spline on x [4, 2].
    let (w, h, s) = params(&[], k, 2.0);
    let b = RationalQuadraticSpline::new(w, h, s, scalar(-1.0)).unwrap();
    testing::check_bijector(&b, &(Tensor::rand([4, 2], (Kind::Double, CPU)) * 3.0 - 1.5), 1e-10, 1e-10).unwrap();
}

#[test]
fn knots_map_to_knots_and_the_map_is_increasing() {
    let _g = seeded(13);
    let k = 6;
    let (w, h, s) = params(&[], k, 2.0);
    let b = RationalQuadraticSpline::new(w.shallow_clone(), h.shallow_clone(), s, scalar(-1.0)).unwrap();
    let (kx, ky) = (knots(&w, -1.0), knots(&h, -1.0));
    testing::close("forward(knots)", &b.forward(&kx).unwrap(), &ky, 1e-14, 1e-14).unwrap();
    testing::close("inverse(knots)", &b.inverse(&ky).unwrap(), &kx, 1e-14, 1e-14).unwrap();
    let x = Tensor::linspace(-3.0, 3.0, 20001, (Kind::Double, CPU));
    let y = b.forward(&x).unwrap();
    let dy = y.narrow(0, 1, 20000) - y.narrow(0, 0, 20000);
    let min_step = dy.min().double_value(&[]);
    assert!(min_step > 0.0, "forward is not strictly increasing: smallest step {min_step}");
    let yy = Tensor::linspace(-3.0, 3.0, 20001, (Kind::Double, CPU));
    let xx = b.inverse(&yy).unwrap();
    let dx = xx.narrow(0, 1, 20000) - xx.narrow(0, 0, 20000);
    assert!(dx.min().double_value(&[]) > 0.0, "inverse is not strictly increasing");
}

#[test]
fn identity_with_zero_log_det_outside_the_range() {
    let _g = seeded(14);
    let (w, h, s) = params(&[], 5, 3.0);
    let b = RationalQuadraticSpline::new(w, h, s, scalar(-1.0)).unwrap();
    // The range is [-1, 2]; its ends are out of range (identity) as in TFP.
    let x = Tensor::from_slice(&[-1e6, -7.0, -1.0 - 1e-12, -1.0, 2.0, 2.0 + 1e-12, 9.0, 1e6]);
    for (v, ldj) in [b.forward_and_log_det(&x).unwrap(), b.inverse_and_log_det(&x).unwrap()] {
        assert_eq!(to_vec(&v), to_vec(&x));
        assert!(to_vec(&ldj).iter().all(|&l| l == 0.0), "log-det {:?}", to_vec(&ldj));
    }
}

#[test]
fn gradients_are_finite_at_far_inputs_knots_and_boundaries() {
    let _g = seeded(15);
    for k in [1, 4] {
        let (w, h, s) = params(&[], k, 2.0);
        let kx = knots(&w, -1.0);
        let ky = knots(&h, -1.0);
        let far = Tensor::from_slice(&[-1e6, 1e6, -1e300, 1e300]);
        for (pts, forward) in [(&far, true), (&far, false), (&kx, true), (&ky, false)] {
            let wv = w.detach().set_requires_grad(true);
            let hv = h.detach().set_requires_grad(true);
            let sv = s.detach().set_requires_grad(true);
            let rm = scalar(-1.0).set_requires_grad(true);
            let x = pts.detach().set_requires_grad(true);
            let (v, ldj) = if forward {
                rqs_forward(&x, &wv, &hv, &sv, &rm).unwrap()
            } else {
                rqs_inverse(&x, &wv, &hv, &sv, &rm).unwrap()
            };
            let loss = v.sum(Kind::Double) + ldj.sum(Kind::Double);
            let g = Tensor::run_backward(&[loss], &[&x, &wv, &hv, &sv, &rm], false, false);
            for (name, gi) in ["x", "widths", "heights", "slopes", "range_min"].iter().zip(&g) {
                let vals = to_vec(gi);
                assert!(
                    vals.iter().all(|v| v.is_finite()),
                    "K = {k}, forward {forward}: d/d{name} not finite: {vals:?}"
                );
                if std::ptr::eq(pts, &far) {
                    let expect = if *name == "x" { 1.0 } else { 0.0 };
                    assert!(vals.iter().all(|&v| v == expect), "far inputs: d/d{name} = {vals:?}, expected {expect}");
                }
            }
            assert!(to_vec(&v).iter().chain(to_vec(&ldj).iter()).all(|v| v.is_finite()));
        }
    }
}

#[test]
fn boundary_slope_is_one_by_finite_differences() {
    let _g = seeded(16);
    for k in [1, 3, 8] {
        let (w, h, s) = params(&[], k, 2.0);
        let b = RationalQuadraticSpline::new(w, h, s, scalar(-1.0)).unwrap();
        let step = 1e-6;
        for end in [-1.0, 1.0] {
            // One-sided differences inside the range, at the end itself.
            let (a, c) = if end < 0.0 { (end, end + step) } else { (end - step, end) };
            let y = to_vec(&b.forward(&Tensor::from_slice(&[a, c])).unwrap());
            let fd = (y[1] - y[0]) / step;
            assert!((fd - 1.0).abs() < 1e-4, "K = {k}: slope at {end} by finite differences {fd}, expected 1");
            // The log-det just inside tends to 0, and outside it is 0: the derivative is continuous.
            let inside = if end < 0.0 { end + 1e-9 } else { end - 1e-9 };
            let ldj = b.forward_log_det_jacobian(&Tensor::from_slice(&[inside])).unwrap().double_value(&[0]);
            assert!(ldj.abs() < 1e-6, "K = {k}: log-det at {inside} is {ldj}, expected about 0");
            // The value is continuous at the end.
            let yv = b.forward(&Tensor::from_slice(&[inside])).unwrap().double_value(&[0]);
            assert!((yv - inside).abs() < 1e-8, "K = {k}: forward({inside}) = {yv}");
        }
    }
}

#[test]
fn float32_round_trip_and_log_dets() {
    let _g = seeded(17);
    let (w, h, s) = params(&[3], 8, 2.0);
    let x = inputs(&w, -1.0, 2.0, 200);
    let b64 =
        RationalQuadraticSpline::new(w.shallow_clone(), h.shallow_clone(), s.shallow_clone(), scalar(-1.0)).unwrap();
    let f = |t: &Tensor| t.to_kind(Kind::Float);
    let b32 = RationalQuadraticSpline::new(f(&w), f(&h), f(&s), f(&scalar(-1.0))).unwrap();
    let (y32, l32) = b32.forward_and_log_det(&f(&x)).unwrap();
    assert_eq!(y32.kind(), Kind::Float);
    let (y64, l64) = b64.forward_and_log_det(&x).unwrap();
    testing::close("float32 forward vs float64", &y32, &y64, 1e-5, 1e-5).unwrap();
    testing::close("float32 fldj vs float64", &l32, &l64, 1e-4, 1e-4).unwrap();
    let (x32, il32) = b32.inverse_and_log_det(&y32).unwrap();
    testing::close("float32 round trip", &x32, &f(&x), 1e-4, 1e-4).unwrap();
    testing::close("float32 ildj", &il32, &(-&l32), 1e-3, 1e-3).unwrap();
}

#[test]
fn unconstrained_parameters_follow_nflows() {
    let _g = seeded(18);
    let (k, bound) = (5, 3.0);
    let rw = Tensor::randn([4, k], (Kind::Double, CPU)) * 3.0;
    let rh = Tensor::randn([4, k], (Kind::Double, CPU)) * 3.0;
    let rs = Tensor::randn([4, k - 1], (Kind::Double, CPU)) * 3.0;
    let p = SplineParams::from_unconstrained(&rw, &rh, &rs, bound, 1e-3, 2e-3, 1e-2).unwrap();
    // Sums 2 bound, minimum sizes, slopes above min_slope; an independent softmax.
    let sw = p.widths.sum_dim_intlist([-1i64].as_slice(), false, Kind::Double);
    testing::close("sum(widths)", &sw, &Tensor::full([4], 2.0 * bound, (Kind::Double, CPU)), 1e-12, 0.0).unwrap();
    let e = rw.exp();
    let soft = &e / e.sum_dim_intlist([-1i64].as_slice(), true, Kind::Double);
    testing::close("widths", &p.widths, &((soft * (1.0 - 5e-3) + 1e-3) * 6.0), 1e-14, 1e-14).unwrap();
    assert!(p.heights.min().double_value(&[]) >= 2e-3 * 6.0 * (1.0 - 1e-12));
    testing::close("slopes", &p.slopes, &((rs.exp() + 1.0).log() + 1e-2), 1e-14, 1e-12).unwrap();
    assert_eq!(p.range_min.double_value(&[]), -bound);
    let b = RationalQuadraticSpline::from_unconstrained_with_minimums(&rw, &rh, &rs, bound, 1e-3, 2e-3, 1e-2).unwrap();
    let x = Tensor::rand([7, 4], (Kind::Double, CPU)) * 8.0 - 4.0;
    testing::check_bijector(&b, &x, 1e-10, 1e-10).unwrap();
    let (y, l) = p.forward(&x).unwrap();
    testing::close("SplineParams::forward", &y, &b.forward(&x).unwrap(), 0.0, 0.0).unwrap();
    testing::close("SplineParams::forward ldj", &l, &b.forward_log_det_jacobian(&x).unwrap(), 0.0, 0.0).unwrap();
    // The round trip's error is rounding in y times |dx/dy| = exp(-l), which the extreme raw
    // values here make large in places.
    let (xb, _) = p.inverse(&y).unwrap();
    let scaled = (&xb - &x) * l.exp();
    testing::close("SplineParams::inverse(forward(x)) - x, times dy/dx", &scaled, &scaled.zeros_like(), 1e-14, 0.0)
        .unwrap();
    // The defaults are nflows' 1e-3.
    let d = RationalQuadraticSpline::from_unconstrained(&rw, &rh, &rs, bound).unwrap();
    let q = SplineParams::from_unconstrained(&rw, &rh, &rs, bound, 1e-3, 1e-3, 1e-3).unwrap();
    testing::close("default minimums", &d.knot_slopes().unwrap(), &q.slopes, 0.0, 0.0).unwrap();
    testing::close("default minimums", &d.bin_heights().unwrap(), &q.heights, 0.0, 0.0).unwrap();
}

#[test]
fn json_spec_builds_both_forms() {
    use serde_json::json;
    use tch_distributions::spec::build_bijector;
    let b = build_bijector(
        &json!({"type": "RationalQuadraticSpline", "bin_widths": [0.5, 1.0, 0.5], "bin_heights": [1.0, 0.5, 0.5],
                "knot_slopes": [2.0, 0.5]}),
        Kind::Double,
        CPU,
    )
    .unwrap();
    assert_eq!(b.name(), "rational_quadratic_spline");
    let direct = RationalQuadraticSpline::new(
        Tensor::from_slice(&[0.5, 1.0, 0.5]),
        Tensor::from_slice(&[1.0, 0.5, 0.5]),
        Tensor::from_slice(&[2.0, 0.5]),
        scalar(-1.0),
    )
    .unwrap();
    let x = Tensor::linspace(-1.5, 1.5, 31, (Kind::Double, CPU));
    testing::close("json constrained", &b.forward(&x).unwrap(), &direct.forward(&x).unwrap(), 0.0, 0.0).unwrap();
    let raw = json!({"type": "RationalQuadraticSpline", "bound": 2.5, "min_slope": 0.01,
        "unconstrained": {"widths": [0.3, -1.0], "heights": [2.0, 0.1], "slopes": [0.7]}});
    let b = build_bijector(&raw, Kind::Float, CPU).unwrap();
    let direct = RationalQuadraticSpline::from_unconstrained_with_minimums(
        &Tensor::from_slice(&[0.3f32, -1.0]),
        &Tensor::from_slice(&[2.0f32, 0.1]),
        &Tensor::from_slice(&[0.7f32]),
        2.5,
        1e-3,
        1e-3,
        0.01,
    )
    .unwrap();
    let x = Tensor::linspace(-3.0, 3.0, 31, (Kind::Float, CPU));
    testing::close("json unconstrained", &b.forward(&x).unwrap(), &direct.forward(&x).unwrap(), 0.0, 0.0).unwrap();
    let bad = json!({"type": "RationalQuadraticSpline", "unconstrained": [1.0]});
    let err = build_bijector(&bad, Kind::Double, CPU).err().expect("an error");
    assert!(format!("{err:#}").contains("\"unconstrained\" must be an object"), "{err:#}");
}

fn err_of<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

#[test]
fn bad_inputs_give_clear_errors() {
    let d = |v: &[f64]| Tensor::from_slice(v);
    let w = d(&[0.5, 1.0, 0.5]);
    let h = d(&[1.0, 0.5, 0.5]);
    let s = d(&[2.0, 0.5]);
    let rm = scalar(-1.0);
    let new = |w: &Tensor, h: &Tensor, s: &Tensor, rm: &Tensor| {
        RationalQuadraticSpline::new(w.shallow_clone(), h.shallow_clone(), s.shallow_clone(), rm.shallow_clone())
    };
    let e = err_of(new(&w, &d(&[1.0, 1.0]), &s, &rm));
    assert!(e.contains("expected bin_heights of shape [..., 3]") && e.contains("[2]"), "{e}");
    let e = err_of(new(&w, &h, &d(&[1.0, 1.0, 1.0]), &rm));
    assert!(e.contains("expected knot_slopes of shape [..., 2]") && e.contains("[3]"), "{e}");
    let e = err_of(new(&Tensor::zeros([0], (Kind::Double, CPU)), &h, &s, &rm));
    assert!(e.contains("K >= 1"), "{e}");
    let e = err_of(new(&scalar(1.0), &h, &s, &rm));
    assert!(e.contains("bin_widths of shape [..., K], got a scalar"), "{e}");
    let e = err_of(new(&w, &h.to_kind(Kind::Float), &s, &rm));
    assert!(e.contains("bin_heights of dtype float64") && e.contains("float32"), "{e}");
    let e = err_of(new(&w.to_kind(Kind::Int64), &h, &s, &rm));
    assert!(e.contains("float32 or float64, got int64"), "{e}");
    let e = err_of(new(&w.expand([2, 3], false), &h.expand([3, 3], false), &s, &rm));
    assert!(e.contains("does not broadcast"), "{e}");
    let b = new(&w, &h, &s, &rm).unwrap();
    let e = err_of(b.forward(&Tensor::from_slice(&[1i64, 2])));
    assert!(e.starts_with("rational_quadratic_spline.forward:") && e.contains("int64"), "{e}");
    let e = err_of(b.inverse(&Tensor::from_slice(&[0.5f32])));
    assert!(
        e.starts_with("rational_quadratic_spline.inverse:") && e.contains("dtype float64") && e.contains("float32"),
        "{e}"
    );
    let b2 = new(&w.expand([2, 3], false), &h, &s, &rm).unwrap();
    let e = err_of(b2.forward(&d(&[0.0, 0.1, 0.2])));
    assert!(e.contains("x of shape [3] does not broadcast with the spline's batch shape [2]"), "{e}");
    let e = err_of(rqs_forward(&d(&[0.0]), &w, &h, &d(&[1.0, 1.0, 1.0]), &rm));
    assert!(e.starts_with("rqs_forward: expected knot_slopes of shape [..., 2]"), "{e}");
    let e = err_of(rqs_inverse(&Tensor::from_slice(&[0i64]), &w, &h, &s, &rm));
    assert!(e.starts_with("rqs_inverse: expected y of dtype float32 or float64, got int64"), "{e}");
    // Values are checked only with validate_args.
    let neg = new(&d(&[0.5, -1.0, 0.5]), &h, &s, &rm).unwrap();
    let e = err_of(neg.with_validate_args(true));
    assert!(e.contains("expected positive bin_widths, got a minimum of -1"), "{e}");
    assert!(new(&w, &h, &s, &rm).unwrap().with_validate_args(true).unwrap().validate_args());
    // Unconstrained parameters.
    let e = err_of(SplineParams::from_unconstrained(&w, &h, &d(&[1.0]), 1.0, 1e-3, 1e-3, 1e-3));
    assert!(e.contains("expected raw_slopes of shape [..., 2]"), "{e}");
    let e = err_of(SplineParams::from_unconstrained(&w, &h, &s, 0.0, 1e-3, 1e-3, 1e-3));
    assert!(e.contains("bound > 0"), "{e}");
    let e = err_of(SplineParams::from_unconstrained(&w, &h, &s, 1.0, 0.5, 1e-3, 1e-3));
    assert!(e.contains("min_bin_width <= 1/K"), "{e}");
    let e = err_of(SplineParams::from_unconstrained(&w, &h, &s, 1.0, 1e-3, 1e-3, -1.0));
    assert!(e.contains("min_slope >= 0"), "{e}");
    let e = err_of(SplineParams::from_unconstrained(&w, &h.to_kind(Kind::Float), &s, 1.0, 1e-3, 1e-3, 1e-3));
    assert!(e.contains("raw_heights of dtype float64"), "{e}");
}

#[test]
fn float32_inverse_is_accurate_below_a_steep_knot() {
    // Parameters from a parity run: bin 2 is flat (s = 0.14) and its upper knot has slope 20,
    // so near that knot the paper's root 2c / (-b - sqrt(b² - 4ac)) subtracts nearly equal
    // numbers (b < 0); in float32 that cost 1.1e-3 in the log-det.
    let w = [0.26787105f64, 0.49665278, 0.47059998, 0.44070867, 0.32416752];
    let h = [0.12717909f64, 0.99820387, 0.06680266, 0.27534279, 0.5324716];
    let s = [0.90350956f64, 0.90532112, 20.061768, 1.9867335];
    let rm = 0.98910612f64;
    let mk = |kind: Kind| {
        let f = |v: &[f64]| Tensor::from_slice(v).to_kind(Kind::Float).to_kind(kind);
        RationalQuadraticSpline::new(f(&w), f(&h), f(&s), f(&[rm]).squeeze()).unwrap()
    };
    let (b32, b64) = (mk(Kind::Float), mk(Kind::Double));
    // y over the top tenth of bin 2 (knot 3 is at about 2.1812917).
    let y = Tensor::linspace(2.175, 2.1812, 2001, (Kind::Float, CPU));
    let (x32, l32) = b32.inverse_and_log_det(&y).unwrap();
    let (x64, l64) = b64.inverse_and_log_det(&y.to_kind(Kind::Double)).unwrap();
    testing::close("float32 inverse", &x32, &x64, 1e-6, 1e-6).unwrap();
    testing::close("float32 ildj", &l32, &l64, 2e-5, 2e-5).unwrap();
}

#[test]
fn inverse_gradients_match_the_log_det_on_both_root_branches() {
    let _g = seeded(19);
    for k in [2, 5, 8] {
        let (w, h, s) = params(&[], k, 2.0);
        let s = s * 8.0; // steep knots: both signs of b occur
        let y = Tensor::linspace(-1.2, 1.2, 4001, (Kind::Double, CPU)).set_requires_grad(true);
        let sv = s.set_requires_grad(true);
        let (x, ildj) = rqs_inverse(&y, &w, &h, &sv, &scalar(-1.0)).unwrap();
        let g = Tensor::run_backward(&[x.sum(Kind::Double)], &[&y, &sv], true, false);
        testing::close("dx/dy by autograd vs exp(ildj)", &g[0], &ildj.exp().detach(), 1e-10, 1e-9).unwrap();
        assert!(to_vec(&g[1]).iter().all(|v| v.is_finite()), "K = {k}: d/dslopes not finite");
        let g2 = Tensor::run_backward(&[ildj.sum(Kind::Double)], &[&y, &sv], false, false);
        assert!(to_vec(&g2[0]).iter().chain(to_vec(&g2[1]).iter()).all(|v| v.is_finite()), "K = {k}: ildj gradients");
    }
}
