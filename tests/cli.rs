//! End-to-end tests of the `tchd` program (feature `cli`): fit → eval → sample → plot on the
//! shipped data set (`data/mixture2d.csv`, 600 points of a known 3-component 2-D Gaussian
//! mixture), judged against that mixture; and bad inputs, each of which must end with a non-zero
//! exit and a clear message on stderr, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(dead_code)]
#[path = "../src/bin/tchd/data.rs"]
mod data;

const CSV: &str = "data/mixture2d.csv";
const NPY: &str = "data/mixture2d.npy";

/// The mixture that generated the shipped data (data/make_mixture2d.py): weights, locations and
/// lower-triangular scales `[[a, 0], [b, c]]`.
const WEIGHTS: [f64; 3] = [0.5, 0.3, 0.2];
const LOCS: [[f64; 2]; 3] = [[0.0, 0.0], [4.0, 3.0], [-3.0, 4.0]];
const TRILS: [[f64; 3]; 3] = [[1.0, 0.0, 1.0], [1.2, 0.6, 0.8], [0.7, -0.5, 1.0]];

/// log density of the true mixture at `x`, in closed form (2-D forward substitution).
fn true_log_prob(x: [f64; 2]) -> f64 {
    let terms: Vec<f64> = (0..3)
        .map(|k| {
            let [a, b, c] = TRILS[k];
            let z0 = (x[0] - LOCS[k][0]) / a;
            let z1 = (x[1] - LOCS[k][1] - b * z0) / c;
            WEIGHTS[k].ln() - 0.5 * (z0 * z0 + z1 * z1) - (a * c).ln() - (2.0 * std::f64::consts::PI).ln()
        })
        .collect();
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tchd-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tchd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tchd")).args(args).current_dir(root()).output().expect("running tchd")
}

/// Runs `tchd` and requires success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = tchd(args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tchd {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "tchd {args:?} panicked:\n{stderr}");
    stdout.to_string()
}

/// Runs `tchd` and requires failure without a panic, with `needle` in stderr.
fn fails(args: &[&str], needle: &str) {
    let out = tchd(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "tchd {args:?} succeeded, expected an error containing {needle:?}");
    assert!(!stderr.contains("panicked"), "tchd {args:?} panicked:\n{stderr}");
    assert!(stderr.contains(needle), "tchd {args:?}: expected {needle:?} in stderr, got:\n{stderr}");
}

/// The number after `prefix` on the first stdout line that contains it.
fn number_after(stdout: &str, prefix: &str) -> f64 {
    let line = stdout.lines().find(|l| l.contains(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in:\n{stdout}"));
    let rest = &line[line.find(prefix).unwrap() + prefix.len()..];
    let word = rest.split_whitespace().next().unwrap();
    word.trim_end_matches([',', ';']).parse().unwrap_or_else(|_| panic!("not a number after {prefix:?}: {line}"))
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn shipped_data_csv_and_npy_agree() {
    let csv = data::read_points(root().join(CSV)).unwrap();
    let npy = data::read_points(root().join(NPY)).unwrap();
    assert_eq!((csv.rows, csv.cols), (600, 2));
    assert_eq!(csv.header, Some(vec!["x0".to_string(), "x1".to_string()]));
    // NumPy wrote the .npy from the CSV read back: the values are identical.
    assert_eq!(csv.values, npy.values);
}

/// A float32 .npy file laid out by hand after NumPy's format description (version 1.0).
#[test]
fn reads_float32_npy_written_by_hand() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
    bytes.extend_from_slice(h.as_bytes());
    for x in [1.5f32, -2.0, 0.25, 3.0, 4.0, -5.5] {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let path = scratch("hand-npy").join("hand.npy");
    std::fs::write(&path, &bytes).unwrap();
    let p = data::read_points(&path).unwrap();
    assert_eq!((p.rows, p.cols), (2, 3));
    assert_eq!(p.values, vec![1.5, -2.0, 0.25, 3.0, 4.0, -5.5]);
}

#[test]
fn fit_eval_sample_plot_on_shipped_data() {
    let dir = scratch("pipeline");
    let model = dir.join("model");
    let fit_svg = dir.join("fit.svg");
    let stdout = ok(&[
        "fit",
        "--model",
        "learnable_mix_mvntril",
        "--components",
        "3",
        "--data",
        CSV,
        "--steps",
        "600",
        "--lr",
        "0.05",
        "--out",
        path_str(&model),
        "--plot",
        path_str(&fit_svg),
    ]);
    println!("{stdout}");

    // The truth's mean NLL over all 600 points (3.757); sampling noise of a 120-point held-out
    // mean is about 0.09 (the log-density's spread is 0.95), so 0.3 is a margin of > 3 sd.
    let points = data::read_points(root().join(CSV)).unwrap();
    let true_lp: Vec<f64> = points.values.chunks(2).map(|p| true_log_prob([p[0], p[1]])).collect();
    let true_nll = -true_lp.iter().sum::<f64>() / true_lp.len() as f64;
    let held_out = number_after(&stdout, "held-out NLL per point:");
    assert!((held_out - true_nll).abs() < 0.3, "held-out NLL {held_out} vs the truth's {true_nll}");

    // eval on every point (CSV and the same points as .npy): within 0.1 of the truth's NLL on the
    // same points (a model of the truth's family fitted to 480 of them).
    let logp = dir.join("logp.csv");
    let ev = ok(&["eval", "--model-dir", path_str(&model), "--data", CSV, "--out", path_str(&logp)]);
    let mean_lp = number_after(&ev, "mean log_prob");
    assert!((-mean_lp - true_nll).abs() < 0.1, "NLL {} vs the truth's {true_nll}", -mean_lp);
    let ev_npy = ok(&["eval", "--model-dir", path_str(&model), "--data", NPY]);
    assert!((number_after(&ev_npy, "mean log_prob") - mean_lp).abs() < 1e-4, "{ev_npy} vs {ev}");
    let per_point = data::read_points(&logp).unwrap();
    assert_eq!((per_point.rows, per_point.cols), (600, 1));
    assert_eq!(per_point.header, Some(vec!["log_prob".to_string()]));
    let mean_written = per_point.values.iter().sum::<f64>() / 600.0;
    assert!((mean_written - mean_lp).abs() < 1e-3, "{mean_written} vs printed {mean_lp}");

    // sample: shape, and the sample mean close to the data's. Per coordinate the data's sd is at
    // most 2.7, so the sample mean (5000 draws) has sd 0.04 and the fitted mean (480 training
    // points) differs from the full data's by sd 0.06: 0.3 is > 4 sd.
    let samples = dir.join("samples.npy");
    ok(&["sample", "--model-dir", path_str(&model), "-n", "5000", "--seed", "3", "--out", path_str(&samples)]);
    let s = data::read_points(&samples).unwrap();
    assert_eq!((s.rows, s.cols), (5000, 2));
    let means =
        |p: &data::Points| (0..p.cols).map(|j| p.column(j).iter().sum::<f64>() / p.rows as f64).collect::<Vec<_>>();
    for (j, (a, b)) in means(&s).iter().zip(means(&points)).enumerate() {
        assert!((a - b).abs() < 0.3, "coordinate {j}: sample mean {a} vs data mean {b}");
    }
    let samples_csv = dir.join("samples.csv");
    ok(&["sample", "--model-dir", path_str(&model), "-n", "7", "--out", path_str(&samples_csv)]);
    let s = data::read_points(&samples_csv).unwrap();
    assert_eq!((s.rows, s.cols), (7, 2));

    // plot: the SVG of `fit --plot`, and a PNG.
    let svg = std::fs::read_to_string(&fit_svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("data (600 points)") && svg.contains("model density"));
    // The smooth heat-map is one embedded PNG (with its media type), the contours in its legend.
    assert_eq!(svg.matches("href=\"data:image/png;base64,").count(), 1, "the heat-map image");
    assert!(svg.contains("contours: 25, 50, 75, 95% of the mass in view"), "the contours' legend");
    let png = dir.join("fig.png");
    ok(&["plot", "--model-dir", path_str(&model), "--data", CSV, "--dims", "1,0", "--out", path_str(&png)]);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5000, "{} bytes", bytes.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// With more than two coordinates the plot shows a histogram of model samples, and says so.
#[test]
fn plot_of_three_coordinates_uses_samples() {
    let dir = scratch("three");
    let points = data::read_points(root().join(CSV)).unwrap();
    let mut text = String::from("a,b,c\n");
    for p in points.values.chunks(2) {
        text.push_str(&format!("{},{},{}\n", p[0], p[1], p[0] - 0.5 * p[1]));
    }
    let csv3 = dir.join("three.csv");
    std::fs::write(&csv3, text).unwrap();
    let model = dir.join("model");
    ok(&[
        "fit",
        "--model",
        "learnable_mix_mvn_scaled_identity",
        "--components",
        "2",
        "--data",
        path_str(&csv3),
        "--steps",
        "50",
        "--dtype",
        "float64",
        "--out",
        path_str(&model),
    ]);
    let svg = dir.join("fig.svg");
    ok(&["plot", "--model-dir", path_str(&model), "--data", path_str(&csv3), "--dims", "0,2", "--out", path_str(&svg)]);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("histogram of 20000 samples") && svg.contains("2-D marginal"), "legend/title missing");
    assert!(!svg.contains("<image") && !svg.contains("contours:"), "the histogram is drawn as cells, without contours");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Arguments of a short `tchd fit` saving to `out`.
fn fit_args<'a>(out: &'a str, model: &'a str, data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["fit", "--model", model, "--data", data, "--steps", "5", "--out", out];
    args.extend_from_slice(extra);
    args
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = scratch("bad");
    let out = dir.join("model");
    let out = path_str(&out);
    let model = "learnable_mvn_diag";
    fails(&fit_args(out, model, "no/such/file.csv", &[]), "no/such/file.csv");
    fails(&fit_args(out, model, "data/points.txt", &[]), "expected a file name ending in .csv or .npy");

    let ragged = dir.join("ragged.csv");
    std::fs::write(&ragged, "x,y\n1,2\n3,4,5\n").unwrap();
    fails(
        &fit_args(out, model, path_str(&ragged), &[]),
        "ragged.csv:3: expected 2 values (as the header on line 1 has), got 3",
    );
    let bad_value = dir.join("bad_value.csv");
    std::fs::write(&bad_value, "1,2\n3,x4\n").unwrap();
    fails(&fit_args(out, model, path_str(&bad_value), &[]), "bad_value.csv:2: column 2: expected a number, got \"x4\"");
    let not_npy = dir.join("not.npy");
    std::fs::write(&not_npy, "1,2\n").unwrap();
    fails(&fit_args(out, model, path_str(&not_npy), &[]), "expected a .npy file");

    fails(&fit_args(out, model, CSV, &["--event-size", "3"]), "--event-size 3 disagrees with the data");
    fails(&fit_args(out, "learnable_mvn_full", CSV, &[]), "invalid value 'learnable_mvn_full' for '--model");
    fails(&fit_args(out, model, CSV, &["--valid-fraction", "1.5"]), "expected --valid-fraction in [0, 1)");
    // Flows: an unknown model, no layers, bad hidden sizes, a bad activation, --standardize on a seed model.
    fails(&fit_args(out, "flowz", CSV, &[]), "invalid value 'flowz' for '--model");
    fails(&fit_args(out, "maf", CSV, &["--layers", "0"]), "fit: expected --layers of at least 1, got 0");
    fails(&fit_args(out, "maf", CSV, &["--hidden", "64,x"]), "expected positive integers separated by commas");
    fails(&fit_args(out, "realnvp", CSV, &["--activation", "relux"]), "unknown activation \"relux\"");
    fails(&fit_args(out, model, CSV, &["--standardize"]), "--standardize applies to the flows");
    if tch::Cuda::is_available() {
        println!("CUDA is available: the `--device cuda` error is not exercised here");
    } else {
        fails(
            &fit_args(out, model, CSV, &["--device", "cuda"]),
            "--device cuda: CUDA is not available on this machine",
        );
        fails(
            &["sample", "--model-dir", out, "-n", "3", "--out", path_str(&dir.join("x.csv")), "--device", "cuda"],
            "--device cuda: CUDA is not available",
        );
    }
    fails(&["eval", "--model-dir", path_str(&dir.join("missing")), "--data", CSV], "missing");

    // A model of 2-D points asked about 3-D points.
    ok(&fit_args(out, model, CSV, &[]));
    let three = dir.join("three.csv");
    std::fs::write(&three, "1,2,3\n4,5,6\n").unwrap();
    fails(&["eval", "--model-dir", out, "--data", path_str(&three)], "has 3 values per point");
    let (svg, pdf, csv) = (dir.join("f.svg"), dir.join("f.pdf"), dir.join("x.csv"));
    let (svg, pdf, csv) = (path_str(&svg), path_str(&pdf), path_str(&csv));
    fails(&["plot", "--model-dir", out, "--data", CSV, "--dims", "0,5", "--out", svg], "coordinate 5 does not exist");
    fails(&["plot", "--model-dir", out, "--data", CSV, "--out", pdf], "expected a file name ending in .svg or .png");
    fails(&["sample", "--model-dir", out, "-n", "0", "--out", csv], "expected -n of at least 1");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `tchd` and requires success; returns (stdout, stderr).
fn ok_with_stderr(args: &[&str]) -> (String, String) {
    let out = tchd(args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tchd {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "tchd {args:?} panicked:\n{stderr}");
    (stdout.to_string(), stderr.to_string())
}

/// The loss of the progress report at step 0 (stderr lines `step      0/N  loss X ...`).
fn step0_loss(stderr: &str) -> f64 {
    let line = stderr
        .lines()
        .find(|l| {
            l.trim_start().starts_with("step") && l.split_whitespace().nth(1).is_some_and(|w| w.starts_with("0/"))
        })
        .unwrap_or_else(|| panic!("no step-0 report in:\n{stderr}"));
    number_after(line, "loss")
}

/// `saved::load` of a `tchd fit` directory and the shipped points as a tensor of its dtype.
fn load_with_points(dir: &Path) -> (tch_distributions::saved::Saved, data::Points, tch::Tensor) {
    let saved = tch_distributions::saved::load(dir, tch::Device::Cpu).unwrap();
    let points = data::read_points(root().join(CSV)).unwrap();
    let x = points.to_tensor(saved.kind, tch::Device::Cpu);
    (saved, points, x)
}

/// The standardisation `tchd fit` folded into a saved flow: (mean, sd) of its Shift and Scale.
fn standardization(spec: &serde_json::Value) -> Option<(Vec<f64>, Vec<f64>)> {
    let member = spec["bijector"]["bijectors"].as_array()?.iter().find(|b| b["name"] == "standardization")?.clone();
    let v = |k: usize, key: &str| -> Vec<f64> {
        member["bijectors"][k][key].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    };
    assert_eq!(
        (member["bijectors"][0]["type"].as_str(), member["bijectors"][1]["type"].as_str()),
        (Some("Shift"), Some("Scale"))
    );
    Some((v(0, "shift"), v(1, "scale")))
}

/// `tchd fit --model <flow>` for a few steps (2 layers of 16, 16 units, standardised by default),
/// then `eval`, `sample` and `plot` on the saved model. Checks:
/// * at step 0 the flow is its base (zero-initialised last layers), so with the standardisation
///   the model is the Gaussian of the training points' mean and sd: its loss is
///   `d/2 log(2 pi) + d/2 + sum(log sd)` in closed form (1e-3; `check_identity_start`);
/// * the saved model's log_prob equals the flow without the standardisation at
///   `(x - mean) / sd` minus `sum(log sd)`, the affine map's log-det (1e-4, float32);
/// * `eval`'s printed mean equals the library's mean log_prob of the loaded model on the same
///   points to the printed 4 decimals (6e-5);
/// * `sample` writes [n, 2] finite values; `plot` writes a PNG.
fn flow_pipeline(model: &str, check_identity_start: bool) {
    let dir = scratch(&format!("flow-{model}"));
    let out = dir.join("model");
    let out = path_str(&out);
    let args = [
        "fit",
        "--model",
        model,
        "--data",
        CSV,
        "--steps",
        "10",
        "--eval-every",
        "5",
        "--layers",
        "2",
        "--hidden",
        "16,16",
        "--threads",
        "1",
        "--out",
        out,
    ];
    let (stdout, stderr) = ok_with_stderr(&args);
    println!("{stdout}");
    assert!(stdout.contains(&format!("fitting {model} (2 layers, hidden [16, 16], relu")), "{stdout}");
    assert!(stdout.contains("standardised"), "{stdout}");

    let (saved, points, x) = load_with_points(Path::new(out));
    let (mean, sd) = standardization(&saved.spec).expect("a standardisation member in the saved flow");
    let d = points.cols as f64;
    if check_identity_start {
        // The standardisation is of the training split, whose Gaussian NLL is the closed form.
        let want = d / 2.0 * (2.0 * std::f64::consts::PI).ln() + d / 2.0 + sd.iter().map(|s| s.ln()).sum::<f64>();
        let got = step0_loss(&stderr);
        assert!((got - want).abs() < 1e-3, "{model}: step-0 loss {got} vs the training Gaussian's NLL {want}");
    }

    // The saved model against its flow without the standardisation, the same weights.
    let mut inner_spec = saved.spec.clone();
    inner_spec["bijector"]["bijectors"].as_array_mut().unwrap().retain(|b| b["name"] != "standardization");
    let mut vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let inner = tch_distributions::spec::build_distribution(&vs.root(), &inner_spec, saved.kind).unwrap();
    vs.copy(&saved.vs).unwrap();
    let m = tch::Tensor::from_slice(&mean).to_kind(saved.kind);
    let s = tch::Tensor::from_slice(&sd).to_kind(saved.kind);
    let log_det: f64 = sd.iter().map(|v| v.ln()).sum();
    let (lp, lp_inner) = tch::no_grad(|| {
        (saved.distribution.log_prob(&x).unwrap(), inner.log_prob(&((&x - &m) / &s)).unwrap() - log_det)
    });
    let err = (&lp - &lp_inner).abs().max().double_value(&[]);
    assert!(err < 1e-4, "{model}: saved log_prob vs the flow at standardised points - log-det: max error {err}");

    // eval prints the library's mean log_prob.
    let ev = ok(&["eval", "--model-dir", out, "--data", CSV, "--threads", "1"]);
    let printed = number_after(&ev, "mean log_prob");
    let library = lp.mean(tch::Kind::Double).double_value(&[]);
    assert!((printed - library).abs() < 6e-5, "{model}: eval printed {printed}, the library's mean log_prob {library}");
    assert!((number_after(&ev, "(NLL per point") + printed).abs() < 1e-9, "{ev}");

    let samples = dir.join("samples.csv");
    ok(&["sample", "--model-dir", out, "-n", "50", "--seed", "1", "--threads", "1", "--out", path_str(&samples)]);
    let s = data::read_points(&samples).unwrap();
    assert_eq!((s.rows, s.cols), (50, 2));
    assert!(s.values.iter().all(|v| v.is_finite()), "{model}: non-finite samples");

    let png = dir.join("flow.png");
    ok(&["plot", "--model-dir", out, "--data", CSV, "--threads", "1", "--out", path_str(&png)]);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5000, "{model}: {} bytes", bytes.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flow_maf_fit_eval_sample_plot() {
    flow_pipeline("maf", true);
}

#[test]
fn flow_iaf_fit_eval_sample_plot() {
    flow_pipeline("iaf", true);
}

#[test]
fn flow_realnvp_fit_eval_sample_plot() {
    flow_pipeline("realnvp", true);
}

/// NSF: the spline flow starts at the identity too (zero last layers, unit slopes).
#[test]
fn flow_nsf_fit_eval_sample_plot() {
    flow_pipeline("nsf", true);
}

/// `--standardize false`: no standardisation in the saved flow, and at step 0 the model is the
/// standard normal on the raw points: with every point for training (`--valid-fraction 0`) the
/// loss is `log(2 pi) + mean(|x|^2) / 2` over the shipped points (1e-3).
#[test]
fn flow_without_standardization() {
    let dir = scratch("flow-raw");
    let out = dir.join("model");
    let out = path_str(&out);
    let (_, stderr) = ok_with_stderr(&[
        "fit",
        "--model",
        "maf",
        "--data",
        CSV,
        "--steps",
        "3",
        "--layers",
        "1",
        "--hidden",
        "8",
        "--standardize",
        "false",
        "--valid-fraction",
        "0",
        "--threads",
        "1",
        "--out",
        out,
    ]);
    let (saved, points, _) = load_with_points(Path::new(out));
    assert!(standardization(&saved.spec).is_none(), "a standardisation member with --standardize false");
    let half_sq = points.values.iter().map(|v| v * v).sum::<f64>() / 2.0 / points.rows as f64;
    let want = (2.0 * std::f64::consts::PI).ln() + half_sq;
    let got = step0_loss(&stderr);
    assert!((got - want).abs() < 1e-3, "step-0 loss {got} vs the standard normal's NLL {want}");
    let _ = std::fs::remove_dir_all(&dir);
}
