//! `MixtureNll` (the closed-form loss and gradient of a Gaussian mixture) against autograd on
//! `log_prob`, and `adam::Adam` against `tch::nn::Adam` (libtorch's C++ Adam).

mod common;

use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tch_distributions::adam::Adam;
use tch_distributions::distributions::Distribution;
use tch_distributions::mixture_nll::MixtureNll;
use tch_distributions::{seed_models, spec};

fn build(vs: &nn::VarStore, name: &str, k: i64, d: i64, kind: Kind) -> Box<dyn Distribution> {
    spec::build_distribution(&vs.root(), &seed_models::spec(name, k, d).unwrap(), kind).unwrap()
}

/// Moves every trainable variable away from its initial value (so that no gradient vanishes
/// by symmetry).
fn perturb(vs: &nn::VarStore, scale: f64) {
    tch::no_grad(|| {
        for mut v in vs.trainable_variables() {
            let noise = v.randn_like() * scale;
            let _ = v.g_add_(&noise);
        }
    });
}

/// Largest |a - b| / (atol + rtol |b|) over the elements; below 1 passes.
fn excess(a: &Tensor, b: &Tensor, atol: f64, rtol: f64) -> f64 {
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double));
    ((&a - &b).abs() / (b.abs() * rtol + atol)).max().double_value(&[])
}

/// `dist.log_prob(x)` in libtorch operations: for a mixture, `logsumexp_k(log π_k +
/// components.log_prob(x)_k)` written out here, since the library's own `log_prob` takes the
/// host loop (as a node with a graph) for small CPU problems.
fn reference_log_prob(dist: &dyn Distribution, x: &Tensor) -> Tensor {
    use tch_distributions::distributions::MixtureSameFamily;
    match dist.as_any().downcast_ref::<MixtureSameFamily>() {
        Some(m) => {
            let comp = m.components().log_prob(&x.unsqueeze(-2)).unwrap();
            (comp + m.mixture().log_probs().unwrap()).logsumexp(-1, false)
        }
        None => dist.log_prob(x).unwrap(),
    }
}

/// Autograd's loss and gradients of `-mean(log_prob(x))` (in libtorch operations,
/// [`reference_log_prob`]) for the given variables.
fn autograd(dist: &dyn Distribution, x: &Tensor, vars: &[(String, Tensor)]) -> (Tensor, Vec<Tensor>) {
    let loss = -reference_log_prob(dist, x).mean(x.kind());
    let inputs: Vec<Tensor> = vars.iter().map(|(_, t)| t.shallow_clone()).collect();
    let grads = Tensor::run_backward(&[&loss], &inputs, false, false);
    (loss.detach(), grads)
}

#[test]
fn gradients_equal_autograd_for_the_seed_mixtures() {
    let _g = common::seeded(11);
    let mut covered = vec![];
    for name in seed_models::NAMES {
        for (kind, atol, rtol) in [(Kind::Double, 1e-11, 1e-9), (Kind::Float, 2e-5, 2e-4)] {
            // (16, 32, 5000): three chunks of points (2048 each) in the closed form.
            for (k, d, n) in [(3i64, 4i64, 64i64), (2, 1, 10), (5, 3, 1000), (16, 32, 5000)] {
                let vs = nn::VarStore::new(Device::Cpu);
                let dist = build(&vs, name, k, d, kind);
                let nll = match MixtureNll::new(dist.as_ref()) {
                    Ok(nll) => nll,
                    Err(e) => {
                        assert!(e.to_string().starts_with("MixtureNll::new: expected"), "{name}: {e}");
                        continue;
                    }
                };
                perturb(&vs, 0.3);
                let x = Tensor::randn([n, d], (kind, Device::Cpu)) * 2.0;
                let (loss, grads) = nll.loss_and_grads(&x).unwrap();
                let (want_loss, want) = autograd(dist.as_ref(), &x, nll.variables());
                assert!(loss.size().is_empty() && loss.kind() == kind && !loss.requires_grad());
                assert!(excess(&loss, &want_loss, atol, rtol) < 1.0, "{name} {kind:?} loss {loss} vs {want_loss}");
                assert_eq!(grads.len(), want.len(), "{name}");
                for ((var, g), w) in nll.variables().iter().zip(&grads).zip(&want) {
                    assert_eq!(g.size(), w.size(), "{name} {}", var.0);
                    let e = excess(g, w, atol * 10.0, rtol * 10.0);
                    assert!(e < 1.0, "{name} {kind:?} K={k} d={d} {}: excess {e}\n{g}\n{w}", var.0);
                }
                covered.push(name);
            }
        }
    }
    covered.dedup();
    println!("closed form covers: {covered:?}");
    assert_eq!(covered, seed_models::NAMES.to_vec(), "all six seed models");
}

/// Diagonal components with broadcast parameters and an `Exp` scale: locations `[K, d]` with a
/// scale `[d]` shared by the components, or one constant location `[d]` with scales `[K, 1]`.
#[test]
fn diagonal_components_with_broadcast_parameters_equal_autograd() {
    use tch_distributions::bijectors::Exp;
    use tch_distributions::distributions::{Categorical, Independent, MixtureSameFamily, Normal};
    use tch_distributions::{Parameter, TransformedVariable};
    let _g = common::seeded(14);
    let f64s = (Kind::Double, Device::Cpu);
    for shared_loc in [false, true] {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        let loc = if shared_loc {
            Parameter::constant(&Tensor::randn([3], f64s)).unwrap()
        } else {
            Parameter::variable(&p, "loc", &Tensor::randn([4, 3], f64s)).unwrap()
        };
        // With a shared location, one scale per component ([K, 1]); else one scale shared by the
        // components ([d]).
        let scale_shape: &[i64] = if shared_loc { &[4, 1] } else { &[3] };
        let scale = TransformedVariable::new(&p, "scale", &(Tensor::rand(scale_shape, f64s) + 0.5), Exp).unwrap();
        let model = MixtureSameFamily::new(
            Categorical::new(Parameter::variable(&p, "logits", &Tensor::randn([4], f64s)).unwrap()).unwrap(),
            Independent::new(Normal::new(loc, scale).unwrap(), 1).unwrap(),
        )
        .unwrap();
        let nll = MixtureNll::new(&model).unwrap();
        let x = Tensor::randn([200, 3], f64s) * 1.5;
        let (loss, grads) = nll.loss_and_grads(&x).unwrap();
        let (want_loss, want) = autograd(&model, &x, nll.variables());
        assert!(excess(&loss, &want_loss, 1e-12, 1e-10) < 1.0);
        assert_eq!(grads.len(), if shared_loc { 2 } else { 3 });
        for ((name, _), (g, w)) in nll.variables().iter().zip(grads.iter().zip(&want)) {
            assert_eq!(g.size(), w.size(), "{name}");
            assert!(excess(g, w, 1e-11, 1e-9) < 1.0, "{name}: {g} vs {w}");
        }
    }
}

#[test]
fn backward_accumulates_like_autograd() {
    let _g = common::seeded(12);
    let vs = nn::VarStore::new(Device::Cpu);
    let dist = build(&vs, "learnable_mix_mvntril", 3, 4, Kind::Double);
    perturb(&vs, 0.3);
    let nll = MixtureNll::new(dist.as_ref()).unwrap();
    let x = Tensor::randn([50, 4], (Kind::Double, Device::Cpu));
    let (_, want) = autograd(dist.as_ref(), &x, nll.variables());
    let _ = nll.backward(&x).unwrap();
    let _ = nll.backward(&x).unwrap(); // accumulates, as autograd does
    for ((name, v), w) in nll.variables().iter().zip(&want) {
        assert!(excess(&v.grad(), &(w * 2.0), 1e-10, 1e-8) < 1.0, "{name}");
    }
}

#[test]
fn refuses_what_it_does_not_cover() {
    {
        use tch_distributions::distributions::{Independent, Laplace};
        let f = (Kind::Float, Device::Cpu);
        let laplace = Independent::new(Laplace::new(Tensor::zeros([3], f), Tensor::ones([3], f)).unwrap(), 1).unwrap();
        let e = MixtureNll::new(&laplace).err().expect("not Gaussian").to_string();
        assert!(
            e.contains("MixtureNll::new: expected a MixtureSameFamily, a MultivariateNormalTriL or an Independent(Normal, 1), got Independent"),
            "{e}"
        );
        let batched = Independent::new(
            tch_distributions::distributions::Normal::new(Tensor::zeros([2, 3], f), Tensor::ones([2, 3], f)).unwrap(),
            1,
        )
        .unwrap();
        let e = MixtureNll::new(&batched).err().expect("batch shape [2]").to_string();
        assert!(e.contains("expected a model of batch shape [], got [2]"), "{e}");
    }
    // Other component families are named.
    {
        use tch_distributions::distributions::{Categorical, Laplace, MixtureSameFamily};
        let f = (Kind::Float, Device::Cpu);
        let m = MixtureSameFamily::new(
            Categorical::new(Tensor::zeros([2], f)).unwrap(),
            Laplace::new(Tensor::zeros([2], f), Tensor::ones([2], f)).unwrap(),
        )
        .unwrap();
        let e = MixtureNll::new(&m).err().expect("Laplace components").to_string();
        assert!(e.contains("event shape [d], got []") || e.contains("got Laplace"), "{e}");
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let mix = build(&vs, "learnable_mix_mvntril", 3, 4, Kind::Float);
    let nll = MixtureNll::new(mix.as_ref()).unwrap();
    for (x, want) in [
        (Tensor::zeros([5, 3], (Kind::Float, Device::Cpu)), "expected points of shape [N, 4] with N >= 1, got [5, 3]"),
        (Tensor::zeros([0, 4], (Kind::Float, Device::Cpu)), "got [0, 4]"),
        (Tensor::zeros([2, 5, 4], (Kind::Float, Device::Cpu)), "got [2, 5, 4]"),
        (Tensor::zeros([5, 4], (Kind::Double, Device::Cpu)), "float64"),
    ] {
        let e = nll.loss_and_grads(&x).expect_err("refused").to_string();
        assert!(e.starts_with("MixtureNll.loss_and_grads:") && e.contains(want), "{e}");
    }
}

#[test]
fn adam_equals_libtorch_adam() {
    let _g = common::seeded(13);
    // A buffer of 13 elements takes the host loop, one of 20013 the tensor update.
    for ((kind, tol), big) in
        [(Kind::Double, 1e-12), (Kind::Float, 1e-5)].into_iter().flat_map(|t| [(t, false), (t, true)])
    {
        let vs_ref = nn::VarStore::new(Device::Cpu);
        let vs = nn::VarStore::new(Device::Cpu);
        let init = [
            Tensor::randn([3], (kind, Device::Cpu)),
            Tensor::randn([2, if big { 10_005 } else { 5 }], (kind, Device::Cpu)),
        ];
        let refs: Vec<Tensor> =
            init.iter().enumerate().map(|(i, t)| vs_ref.root().var_copy(&format!("v{i}"), t)).collect();
        let ours: Vec<Tensor> = init.iter().enumerate().map(|(i, t)| vs.root().var_copy(&format!("v{i}"), t)).collect();
        let (mut vs_ref, mut vs) = (vs_ref, vs);
        vs_ref.set_kind(kind);
        vs.set_kind(kind);
        assert!(refs.iter().chain(&ours).all(|t| t.kind() == kind));
        let mut opt_ref = nn::Adam::default().build(&vs_ref, 0.05).unwrap();
        let mut opt = Adam::new(&ours, 0.05).unwrap();
        for step in 0..200 {
            // A gradient that depends on the parameters (a quartic bowl), so errors would compound.
            let grads: Vec<Tensor> =
                refs.iter().map(|p| p.detach().pow_tensor_scalar(3) - 0.5 + step as f64 * 1e-3).collect();
            opt_ref.zero_grad();
            let loss = refs
                .iter()
                .zip(&grads)
                .map(|(p, g)| (p * g.detach()).sum(kind))
                .fold(Tensor::zeros([], (kind, Device::Cpu)), |a, b| a + b);
            loss.backward();
            opt_ref.step();
            opt.step(&grads).unwrap();
            for (a, b) in ours.iter().zip(&refs) {
                assert!(excess(a, b, tol, tol) < 1.0, "{kind:?} step {step}: {a} vs {b}");
            }
        }
        // The VarStore's own handles see the updates; dropping the optimiser keeps the values.
        let before: Vec<Tensor> = ours.iter().map(|v| v.detach().copy()).collect();
        let stored = vs.variables();
        for (i, v) in ours.iter().enumerate() {
            assert_eq!(stored[&format!("v{i}")].data_ptr(), v.data_ptr());
        }
        drop(opt);
        for (v, b) in ours.iter().zip(&before) {
            assert_eq!((v - b).abs().max().double_value(&[]), 0.0);
        }
        assert_ne!(ours[0].data_ptr(), ours[1].data_ptr());
        let (a, b) = (&ours[0], &refs[0]);
        assert!(excess(a, b, tol, tol) < 1.0);
    }
}

/// The host loop (small problems on the CPU) against the libtorch path of the closed form, for
/// every seed model, in float64 (to 1e-12) and float32 (to float32 rounding), and
/// `MixtureNll::step` against `loss_and_grads` then `Adam::step` on the libtorch path over 30
/// steps (so that errors compound).
#[test]
fn host_loop_equals_the_libtorch_path() {
    let _g = common::seeded(17);
    let mut covered = 0;
    for name in seed_models::NAMES {
        for (kind, atol, rtol) in [(Kind::Double, 1e-13, 1e-12), (Kind::Float, 1e-6, 2e-5)] {
            // (K=3, d=13, 3000 points: the wide loops, over several emptyings of their lane sums)
            for (k, d, n) in [(3i64, 4i64, 64i64), (2, 1, 7), (4, 6, 300), (3, 4, 5000), (3, 13, 3000)] {
                let (vs_host, mut vs_torch) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
                let (dist_host, dist_torch) = (build(&vs_host, name, k, d, kind), build(&vs_torch, name, k, d, kind));
                let Ok(host) = MixtureNll::new(dist_host.as_ref()) else { continue };
                let torch = MixtureNll::new(dist_torch.as_ref()).unwrap().host_kernel(false);
                perturb(&vs_host, 0.3);
                tch::no_grad(|| vs_torch.copy(&vs_host)).unwrap();
                let x = Tensor::randn([n, d], (kind, Device::Cpu)) * 2.0;
                let ((l_host, g_host), (l_torch, g_torch)) =
                    (host.loss_and_grads(&x).unwrap(), torch.loss_and_grads(&x).unwrap());
                assert!(l_host.size().is_empty() && l_host.kind() == kind && !l_host.requires_grad());
                assert!(excess(&l_host, &l_torch, atol, rtol) < 1.0, "{name} {kind:?}: {l_host} vs {l_torch}");
                for ((var, a), b) in host.variables().iter().zip(&g_host).zip(&g_torch) {
                    assert_eq!((a.size(), a.kind()), (b.size(), b.kind()), "{name} {}", var.0);
                    let e = excess(a, b, atol * 10.0, rtol * 10.0);
                    assert!(e < 1.0, "{name} {kind:?} K={k} d={d} {}: excess {e}\n{a}\n{b}", var.0);
                }
                let tensors =
                    |nll: &MixtureNll| nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect::<Vec<_>>();
                let (mut adam_host, mut adam_torch) =
                    (Adam::new(&tensors(&host), 0.05).unwrap(), Adam::new(&tensors(&torch), 0.05).unwrap());
                for step in 0..30 {
                    let loss = host.step(&x, &mut adam_host).unwrap();
                    let (want, grads) = torch.loss_and_grads(&x).unwrap();
                    adam_torch.step(&grads).unwrap();
                    assert!(
                        excess(&loss, &want, atol * 10.0, rtol * 10.0) < 1.0,
                        "{name} step {step}: {loss} vs {want}"
                    );
                }
                for ((var, a), (_, b)) in host.variables().iter().zip(torch.variables()) {
                    let e = excess(a, b, atol * 100.0, rtol * 100.0);
                    assert!(e < 1.0, "{name} {kind:?} K={k} d={d} {} after 30 steps: excess {e}", var);
                }
                covered += 1;
            }
        }
    }
    assert_eq!(covered, seed_models::NAMES.len() * 10, "every seed model at every size and dtype");
}

/// `log_prob` of the seed mixtures when no graph is needed (under `no_grad`: the host loop for
/// small problems on the CPU) against the same call with the graph (the libtorch path), for
/// points of shapes `[N, d]`, `[2, 3, d]`, `[d]` and `[0, d]`.
#[test]
fn log_prob_with_and_without_a_graph_equals_the_libtorch_path() {
    let _g = common::seeded(19);
    let mut covered = 0;
    for name in seed_models::NAMES {
        for (kind, atol, rtol) in [(Kind::Double, 1e-13, 1e-12), (Kind::Float, 1e-5, 1e-5)] {
            let vs = nn::VarStore::new(Device::Cpu);
            let (k, d) = (3i64, 4i64);
            let dist = build(&vs, name, k, d, kind);
            if !dist.type_name().starts_with("MixtureSameFamily") {
                continue;
            }
            perturb(&vs, 0.3);
            for shape in [vec![100, d], vec![2, 3, d], vec![d], vec![0, d]] {
                let x = Tensor::randn(shape.as_slice(), (kind, Device::Cpu)) * 2.0;
                let want = reference_log_prob(dist.as_ref(), &x).detach();
                let with_graph = dist.log_prob(&x).unwrap();
                assert!(with_graph.requires_grad() || shape[0] == 0, "{name}: the graph path records a graph");
                let without = tch::no_grad(|| dist.log_prob(&x)).unwrap();
                for got in [&without, &with_graph] {
                    assert_eq!((got.size(), got.kind()), (want.size(), kind), "{name} {shape:?}");
                    if got.numel() > 0 {
                        let e = excess(&got.detach(), &want, atol, rtol);
                        assert!(e < 1.0, "{name} {kind:?} {shape:?}: excess {e}");
                    }
                }
                assert!(!without.requires_grad());
            }
            covered += 1;
        }
    }
    assert!(covered >= 4, "the seed's mixtures in both dtypes, got {covered}");
}

/// The gradients (and gradients of gradients) of `Σ_n g_n log p(x_n)` with respect to `inputs`,
/// by `log_prob` (`reference`: the libtorch formula): `(first, second)`, `second` being
/// `∂(Σ first·v)/∂inputs` for a fixed direction `v`. `first` comes from a backward without
/// `create_graph` (the node's host backward), `second` from one with it (its graph fallback).
fn first_and_second(
    dist: &dyn Distribution,
    x: &Tensor,
    g: &Tensor,
    inputs: &[Tensor],
    reference: bool,
) -> (Vec<Tensor>, Vec<Tensor>) {
    let total = || {
        let lp = if reference { reference_log_prob(dist, x) } else { dist.log_prob(x).unwrap() };
        (lp * g).sum(x.kind())
    };
    let first = Tensor::run_backward(&[&total()], inputs, true, false);
    let with_graph = Tensor::run_backward(&[&total()], inputs, true, true);
    let dot = with_graph
        .iter()
        .map(|f| (f * f.ones_like().cumsum(-1, None::<Kind>)).sum(x.kind()))
        .fold(Tensor::zeros([], (x.kind(), Device::Cpu)), |a, b| a + b);
    let second = Tensor::run_backward(&[&dot], inputs, true, false);
    (first, second)
}

#[test]
fn log_prob_node_gradients_equal_autograd() {
    use tch_distributions::distributions::MixtureSameFamily;
    let _g = common::seeded(23);
    let mut covered = 0;
    for name in seed_models::NAMES {
        for (kind, atol, rtol) in [(Kind::Double, 1e-11, 1e-9), (Kind::Float, 2e-4, 2e-4)] {
            // (d = 13: the wide loops for the triangular scales)
            for (k, d) in [(3i64, 4i64), (4, 13)] {
                let vs = nn::VarStore::new(Device::Cpu);
                let dist = build(&vs, name, k, d, kind);
                if dist.as_any().downcast_ref::<MixtureSameFamily>().is_none() {
                    continue;
                }
                perturb(&vs, 0.3);
                // (5000 points: blocks of 1024 within each thread's range, and several emptyings
                // of the wide loops' lane sums)
                for shape in [vec![50, d], vec![2, 3, d], vec![5000, d]] {
                    let x = (Tensor::randn(shape.as_slice(), (kind, Device::Cpu)) * 2.0).set_requires_grad(true);
                    // Weights of each point, as a loss other than the mean gives (sum's backward
                    // hands the node an expanded, non-contiguous gradient: the first case).
                    let g = if shape[0] != 2 {
                        Tensor::ones(&shape[..shape.len() - 1], (kind, Device::Cpu))
                    } else {
                        Tensor::randn(&shape[..shape.len() - 1], (kind, Device::Cpu))
                    };
                    let mut inputs: Vec<Tensor> = vs.trainable_variables();
                    inputs.push(x.shallow_clone());
                    let (first, second) = first_and_second(dist.as_ref(), &x, &g, &inputs, false);
                    let (want_first, want_second) = first_and_second(dist.as_ref(), &x, &g, &inputs, true);
                    // (float32: the reference's own sums over 5000 points round at ~1e-4)
                    let loose = if kind == Kind::Float && shape[0] == 5000 { 10.0 } else { 1.0 };
                    for (i, (a, b)) in first.iter().zip(&want_first).chain(second.iter().zip(&want_second)).enumerate()
                    {
                        assert_eq!(a.size(), b.size(), "{name} {i}");
                        let e = excess(a, b, atol * loose, rtol * loose);
                        assert!(e < 1.0, "{name} {kind:?} {shape:?} gradient {i}: excess {e}");
                    }
                }
                covered += 1;
            }
        }
    }
    assert!(covered >= 8, "the seed's mixtures in both dtypes at both sizes, got {covered}");
}

#[test]
fn log_prob_node_takes_parameters_with_their_own_graph() {
    use tch_distributions::distributions::{
        Categorical, Independent, MixtureSameFamily, MultivariateNormalTriL, Normal,
    };
    use tch_distributions::Parameter;
    let _g = common::seeded(29);
    let f64s = (Kind::Double, Device::Cpu);
    let (k, d) = (3i64, 2i64);
    // A "network": the parameters are functions of one input vector h.
    let h = Tensor::randn([5], f64s).set_requires_grad(true);
    let w = Tensor::randn([5, k + k * d + k * d * d], f64s) * 0.3;
    let out = h.matmul(&w);
    let logits = out.narrow(0, 0, k);
    let loc = out.narrow(0, k, k * d).reshape([k, d]);
    let raw = out.narrow(0, k + k * d, k * d * d).reshape([k, d, d]);
    let scale_tril = raw.tril(-1) + (raw.diagonal(0, -2, -1).exp() + 0.5).diag_embed(0, -2, -1);
    let cat = || Categorical::new(Parameter::constant(&logits).unwrap()).unwrap();
    let models: Vec<Box<dyn Distribution>> = vec![
        Box::new(
            MixtureSameFamily::new(
                cat(),
                MultivariateNormalTriL::new(
                    Parameter::constant(&loc).unwrap(),
                    Parameter::constant(&scale_tril).unwrap(),
                )
                .unwrap(),
            )
            .unwrap(),
        ),
        Box::new(
            MixtureSameFamily::new(
                cat(),
                Independent::new(
                    Normal::new(
                        Parameter::constant(&loc).unwrap(),
                        Parameter::constant(&(scale_tril.diagonal(0, -2, -1).narrow(1, 0, 1))).unwrap(),
                    )
                    .unwrap(),
                    1,
                )
                .unwrap(),
            )
            .unwrap(),
        ),
    ];
    for model in &models {
        let x = Tensor::randn([40, d], f64s);
        let g = Tensor::randn([40], f64s);
        let (first, second) = first_and_second(model.as_ref(), &x, &g, &[h.shallow_clone()], false);
        let (want_first, want_second) = first_and_second(model.as_ref(), &x, &g, &[h.shallow_clone()], true);
        assert!(excess(&first[0], &want_first[0], 1e-11, 1e-9) < 1.0, "{}", model.type_name());
        assert!(excess(&second[0], &want_second[0], 1e-11, 1e-9) < 1.0, "{}", model.type_name());
    }
}

#[test]
fn step_refuses_an_adam_of_other_variables() {
    let vs = nn::VarStore::new(Device::Cpu);
    let dist = build(&vs, "learnable_mix_mvntril", 3, 2, Kind::Float);
    let nll = MixtureNll::new(dist.as_ref()).unwrap();
    let x = Tensor::randn([10, 2], (Kind::Float, Device::Cpu));
    let mut vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
    vars.reverse();
    let mut adam = Adam::new(&vars, 0.1).unwrap();
    let e = nll.step(&x, &mut adam).err().unwrap().to_string();
    assert!(e.starts_with("MixtureNll.step: expected the Adam of this model's variables"), "{e}");
}

#[test]
fn adam_refuses_bad_arguments() {
    let f = |s: &[i64]| Tensor::zeros(s, (Kind::Float, Device::Cpu));
    let msg = |r: anyhow::Result<Adam>| r.err().expect("refused").to_string();
    assert!(msg(Adam::new(&[], 0.1)).contains("expected at least one variable"));
    assert!(msg(Adam::new(&[f(&[2])], f64::NAN)).contains("learning rate"));
    let i = Tensor::zeros([2], (Kind::Int64, Device::Cpu));
    assert!(msg(Adam::new(&[f(&[2]), i], 0.1)).contains("got variable 1 int64"));
    let a = f(&[2]);
    assert!(msg(Adam::new(&[a.shallow_clone(), a.shallow_clone()], 0.1)).contains("given twice"));
    let mut opt = Adam::new(&[f(&[2]), f(&[3, 1])], 0.1).unwrap();
    let e = opt.step(&[f(&[2])]).err().unwrap().to_string();
    assert!(e.contains("Adam.step: expected 2 gradients"), "{e}");
    let e = opt.step(&[f(&[2]), f(&[3])]).err().unwrap().to_string();
    assert!(e.contains("expected gradient 1 of shape [3, 1]"), "{e}");
}

/// A model saved while `Adam` holds its variables in the flat buffer (views at offsets) comes
/// back with the values it had.
#[test]
fn saving_while_adam_holds_the_variables() {
    let _g = common::seeded(15);
    let name = "learnable_mix_mvntril";
    let vs = nn::VarStore::new(Device::Cpu);
    let dist = build(&vs, name, 3, 2, Kind::Float);
    let nll = MixtureNll::new(dist.as_ref()).unwrap();
    let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
    let mut adam = Adam::new(&vars, 0.05).unwrap();
    let x = Tensor::randn([100, 2], (Kind::Float, Device::Cpu));
    for _ in 0..10 {
        let (_, grads) = nll.loss_and_grads(&x).unwrap();
        adam.step(&grads).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("tchd-mixture-nll-{}", std::process::id()));
    tch_distributions::saved::save(&dir, &seed_models::spec(name, 3, 2).unwrap(), Kind::Float, &vs).unwrap();
    let loaded = tch_distributions::saved::load(&dir, Device::Cpu).unwrap();
    let (a, b) = (dist.log_prob(&x).unwrap(), loaded.distribution.log_prob(&x).unwrap());
    assert_eq!((a - b).abs().max().double_value(&[]), 0.0);
    let _ = std::fs::remove_dir_all(&dir);
    drop(adam);
}

/// On CUDA (where a GPU is present): the closed form and the flat Adam on the device give the
/// CPU's loss, gradients and updates (float64). Skipped, with a printed reason, elsewhere.
#[test]
fn cuda_closed_form_equals_cpu() {
    if !tch::Cuda::is_available() {
        println!("CUDA not available: cuda_closed_form_equals_cpu skipped");
        return;
    }
    let _g = common::seeded(16);
    let name = "learnable_mix_mvntril_fixed_first";
    let x = Tensor::randn([3000, 4], (Kind::Double, Device::Cpu));
    let mut results = vec![];
    for device in [Device::Cpu, Device::Cuda(0)] {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(device);
        let dist = spec::build_distribution(&vs.root(), &seed_models::spec(name, 3, 4).unwrap(), Kind::Double).unwrap();
        let nll = MixtureNll::new(dist.as_ref()).unwrap();
        let vars: Vec<Tensor> = nll.variables().iter().map(|(_, t)| t.shallow_clone()).collect();
        let mut adam = Adam::new(&vars, 0.05).unwrap();
        let xd = x.to_device(device);
        let mut losses = vec![];
        for _ in 0..20 {
            let (loss, grads) = nll.loss_and_grads(&xd).unwrap();
            assert!(grads.iter().all(|g| g.device() == device));
            adam.step(&grads).unwrap();
            losses.push(loss.to_device(Device::Cpu));
        }
        let params: Vec<Tensor> = vars.iter().map(|v| v.detach().to_device(Device::Cpu)).collect();
        results.push((Tensor::stack(&losses, 0), params));
    }
    let (cpu, gpu) = (&results[0], &results[1]);
    assert!(excess(&gpu.0, &cpu.0, 1e-10, 1e-9) < 1.0, "losses {} vs {}", gpu.0, cpu.0);
    for (g, c) in gpu.1.iter().zip(&cpu.1) {
        assert!(excess(g, c, 1e-9, 1e-8) < 1.0);
    }
}

#[test]
fn log_prob_node_reads_every_parameterisation() {
    use std::sync::Arc;
    use tch_distributions::bijectors::{Exp, FillScaleTriL, Sigmoid, Softplus};
    use tch_distributions::distributions::{
        Categorical, Independent, MixtureSameFamily, MultivariateNormalTriL, Normal,
    };
    use tch_distributions::{Parameter, TransformedVariable};
    let _g = common::seeded(31);
    let f64s = (Kind::Double, Device::Cpu);
    let (k, d) = (4i64, 3i64);
    let mut covered = 0;
    for case in 0..4 {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        let logits = Categorical::new(Parameter::variable(&p, "logits", &Tensor::randn([k], f64s)).unwrap()).unwrap();
        fn tv(
            p: &nn::Path,
            name: &str,
            init: &Tensor,
            b: impl tch_distributions::bijectors::Bijector + 'static,
        ) -> Parameter {
            Parameter::Transformed(TransformedVariable::new(p, name, init, b).unwrap())
        }
        let model = match case {
            // Diagonal: a constant loc shared by the components, one Exp scale per component.
            0 => MixtureSameFamily::new(
                logits,
                Independent::new(
                    Normal::new(
                        Parameter::constant(&Tensor::randn([d], f64s)).unwrap(),
                        tv(&p, "scale", &(Tensor::rand([k, 1], f64s) + 0.5), Exp),
                    )
                    .unwrap(),
                    1,
                )
                .unwrap(),
            ),
            // Diagonal: a Softplus scale shared by the components, a Sigmoid one read by autograd.
            1 | 2 => MixtureSameFamily::new(
                logits,
                Independent::new(
                    Normal::new(
                        Parameter::variable(&p, "loc", &Tensor::randn([k, d], f64s)).unwrap(),
                        if case == 1 {
                            tv(&p, "scale", &(Tensor::rand([d], f64s) + 0.5), Softplus)
                        } else {
                            tv(&p, "scale", &(Tensor::rand([k, d], f64s) * 0.5 + 0.3), Sigmoid::new())
                        },
                    )
                    .unwrap(),
                    1,
                )
                .unwrap(),
            ),
            // Triangular, FillScaleTriL with an Exp diagonal.
            _ => {
                let tril =
                    Tensor::eye(d, f64s).expand([k, d, d], false) * 1.5 + Tensor::randn([k, d, d], f64s).tril(-1) * 0.3;
                MixtureSameFamily::new(
                    logits,
                    MultivariateNormalTriL::new(
                        Parameter::variable(&p, "loc", &Tensor::randn([k, d], f64s)).unwrap(),
                        tv(&p, "scale_tril", &tril, FillScaleTriL::new(Arc::new(Exp), 1e-3)),
                    )
                    .unwrap(),
                )
            }
        }
        .unwrap();
        perturb(&vs, 0.2);
        let x = (Tensor::randn([30, d], f64s) * 1.5).set_requires_grad(true);
        let g = Tensor::randn([30], f64s);
        let mut inputs = vs.trainable_variables();
        inputs.push(x.shallow_clone());
        let (first, second) = first_and_second(&model, &x, &g, &inputs, false);
        let (want_first, want_second) = first_and_second(&model, &x, &g, &inputs, true);
        for (i, (a, b)) in first.iter().zip(&want_first).chain(second.iter().zip(&want_second)).enumerate() {
            assert_eq!(a.size(), b.size(), "case {case} gradient {i}");
            let e = excess(a, b, 1e-11, 1e-9);
            assert!(e < 1.0, "case {case} gradient {i}: excess {e}");
        }
        covered += 1;
    }
    assert_eq!(covered, 4);
}

#[test]
fn wide_log_prob_equals_the_libtorch_path() {
    use tch_distributions::bijectors::FillScaleTriL;
    use tch_distributions::distributions::{Categorical, MixtureSameFamily, MultivariateNormalTriL};
    use tch_distributions::{Parameter, TransformedVariable};
    let _g = common::seeded(37);
    for (kind, atol, rtol) in [(Kind::Double, 1e-12, 1e-12), (Kind::Float, 2e-5, 2e-5)] {
        for (k, d) in [(1i64, 9i64), (5, 32), (3, 13), (3, 4)] {
            let vs = nn::VarStore::new(Device::Cpu);
            let p = vs.root();
            let opts = (kind, Device::Cpu);
            let tril =
                Tensor::eye(d, opts).expand([k, d, d], false) * 1.3 + Tensor::randn([k, d, d], opts).tril(-1) * 0.2;
            let model = MixtureSameFamily::new(
                Categorical::new(Parameter::variable(&p, "logits", &Tensor::randn([k], opts)).unwrap()).unwrap(),
                MultivariateNormalTriL::new(
                    Parameter::variable(&p, "loc", &Tensor::randn([k, d], opts)).unwrap(),
                    Parameter::Transformed(
                        TransformedVariable::new(&p, "scale_tril", &tril, FillScaleTriL::default()).unwrap(),
                    ),
                )
                .unwrap(),
            )
            .unwrap();
            // Sizes around the loop's blocks of points (64 in float64, 128 in float32), and a
            // batch of points with two dimensions; at d = 4, more points than the small loop
            // takes (N·K·d(d+1) above 2^22).
            let shapes = if d == 4 {
                vec![vec![80_000, d]]
            } else {
                vec![vec![1, d], vec![127, d], vec![300, d], vec![3, 50, d]]
            };
            for shape in shapes {
                let x = Tensor::randn(shape.as_slice(), opts) * 1.5;
                let got = tch::no_grad(|| model.log_prob(&x)).unwrap();
                let want = tch::no_grad(|| reference_log_prob(&model, &x));
                assert_eq!((got.size(), got.kind()), (want.size(), kind));
                let e = excess(&got, &want, atol, rtol);
                assert!(e < 1.0, "{kind:?} K={k} d={d} {shape:?}: excess {e}");
            }
        }
    }
}
