//! `tchd eval`, `tchd sample` and `tchd plot`: what is done with a saved model.

use crate::contour::{contour_lines, mass_levels, Line};
use crate::data::{read_points, write_points, Points, Precision};
use crate::fit::{device_label, kind_label};
use crate::plot::{is_svg, padded_range, write_figure, Figure, Grid};
use crate::{EvalArgs, PlotArgs, SampleArgs};
use anyhow::{ensure, Context, Result};
use std::path::Path;
use tch_distributions::distributions::Distribution;
use tch_distributions::saved;

/// Checks that `dist` takes vectors of `cols` values (no batch dimensions).
fn check_event(op: &str, dist: &dyn Distribution, cols: usize, data: &Path) -> Result<()> {
    let (event, batch) = (dist.event_shape(), dist.batch_shape());
    ensure!(batch.is_empty(), "{op}: expected a model without batch dimensions, got batch shape {batch:?}");
    ensure!(
        event == [cols as i64],
        "{op}: the model takes points of event shape {event:?}, but {} has {cols} values per point",
        data.display()
    );
    Ok(())
}

/// Runs `tchd eval`.
pub fn eval(a: &EvalArgs) -> Result<()> {
    let device = a.compute.device()?;
    let s = saved::load(&a.model_dir, device)?;
    let points = read_points(&a.data)?;
    check_event("eval", s.distribution.as_ref(), points.cols, &a.data)?;
    let x = points.to_tensor(s.kind, device);
    let lp = tch::no_grad(|| s.distribution.log_prob(&x))?;
    let lp = Points::from_tensor(&lp.reshape([-1, 1]))?;
    let mean = lp.values.iter().sum::<f64>() / lp.rows as f64;
    println!(
        "{}: mean log_prob {mean:.4} per point over {} points (NLL per point {:.4}; {}, {})",
        a.data.display(),
        lp.rows,
        -mean,
        kind_label(s.kind),
        device_label(device)
    );
    if let Some(out) = &a.out {
        let lp = Points { header: Some(vec!["log_prob".to_string()]), ..lp };
        write_points(out, &lp, Precision::of(s.kind))?;
        println!("log_prob of every point written to {}", out.display());
    }
    Ok(())
}

/// Runs `tchd sample`.
pub fn sample(a: &SampleArgs) -> Result<()> {
    ensure!(a.n > 0, "sample: expected -n of at least 1, got {}", a.n);
    let device = a.compute.device()?;
    let s = saved::load(&a.model_dir, device)?;
    let event = s.distribution.event_shape();
    ensure!(
        event.len() == 1 && s.distribution.batch_shape().is_empty(),
        "sample: expected a model of vectors (event shape [d], no batch), got event shape {event:?}"
    );
    tch::manual_seed(a.seed);
    let x = s.distribution.sample(&[a.n])?;
    let points = Points::from_tensor(&x)?;
    write_points(&a.out, &points, Precision::of(s.kind))?;
    println!("{} points of {} values written to {}", points.rows, points.cols, a.out.display());
    Ok(())
}

/// Runs `tchd plot`.
pub fn plot(a: &PlotArgs) -> Result<()> {
    is_svg(&a.out)?;
    let device = a.compute.device()?;
    let s = saved::load(&a.model_dir, device)?;
    let points = read_points(&a.data)?;
    check_event("plot", s.distribution.as_ref(), points.cols, &a.data)?;
    write_plot(s.distribution.as_ref(), &points, a.dims, a.samples, a.seed, &a.out)?;
    println!("plot written to {}", a.out.display());
    Ok(())
}

/// Points of the density grid along x and y (2-D data): about one per two pixels of the
/// plotting area of the 720 x 600 figure (its ~650 x 520 pixels are interpolated from them).
const GRID: (usize, usize) = (330, 265);
/// Cells per axis of the sample histogram (more coordinates).
const HISTOGRAM: usize = 50;
/// Grid points per `log_prob` call.
const BATCH: usize = 16384;
/// The contour lines enclose these fractions of the density's mass in view.
const MASS: [f64; 4] = [0.25, 0.5, 0.75, 0.95];

/// `dist`'s density at the centres of grid `g` on coordinates `dims` of 2-D points, evaluated in
/// batches of [`BATCH`] points; non-finite values count as 0 and are reported on stderr.
fn density_on_grid(dist: &dyn Distribution, g: &mut Grid, dims: [usize; 2]) -> Result<()> {
    let centres = g.centres();
    let mut values = Vec::with_capacity(centres.len());
    for chunk in centres.chunks(BATCH) {
        let mut flat = Vec::with_capacity(chunk.len() * 2);
        for &(x, y) in chunk {
            let mut p = [0.0; 2];
            p[dims[0]] = x;
            p[dims[1]] = y;
            flat.extend_from_slice(&p);
        }
        let grid = Points::new(flat, chunk.len(), 2)?.to_tensor(dist.dtype(), dist.device());
        let lp = tch::no_grad(|| dist.log_prob(&grid)).context("plot: evaluating the density on the grid")?;
        values.extend(Points::from_tensor(&lp.exp().reshape([-1, 1]))?.values);
    }
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        eprintln!("plot: the density is not finite at {bad} of {} grid points; they are drawn as 0", values.len());
        values.iter_mut().filter(|v| !v.is_finite()).for_each(|v| *v = 0.0);
    }
    g.values = values;
    Ok(())
}

/// Draws `dist`'s density on coordinates `dims` with `points` over it to `path` (.svg or .png).
/// With 2-D points the density is evaluated on a fine grid, drawn smooth, with contour lines
/// enclosing [`MASS`] of the mass in view; with more coordinates a 2-D histogram of `samples`
/// draws (seeded with `seed`) stands for the marginal, and the legend says so.
pub fn write_plot(
    dist: &dyn Distribution,
    points: &Points,
    dims: [usize; 2],
    samples: i64,
    seed: i64,
    path: &Path,
) -> Result<()> {
    let d = points.cols;
    ensure!(d >= 2, "plot: expected points of at least 2 coordinates, got {d}");
    ensure!(dims[0] != dims[1], "plot: expected two different coordinates in --dims, got {},{}", dims[0], dims[1]);
    for &k in &dims {
        ensure!(k < d, "plot: --dims {},{}: coordinate {k} does not exist (the points have {d})", dims[0], dims[1]);
    }
    let (xs, ys) = (points.column(dims[0]), points.column(dims[1]));
    let (xr, yr) = (padded_range(&xs, 0.1), padded_range(&ys, 0.1));
    let mut contours: Vec<Line> = vec![];
    let (density, density_label) = if d == 2 {
        let mut g = Grid::zeros(xr, yr, GRID.0, GRID.1);
        density_on_grid(dist, &mut g, dims)?;
        for level in mass_levels(&g, &MASS).unwrap_or_default() {
            contours.extend(contour_lines(&g, level));
        }
        (g, "model density".to_string())
    } else {
        ensure!(samples > 0, "plot: expected a positive number of samples, got {samples}");
        tch::manual_seed(seed);
        let draws = Points::from_tensor(&dist.sample(&[samples])?)?;
        let pairs: Vec<(f64, f64)> = draws.column(dims[0]).into_iter().zip(draws.column(dims[1])).collect();
        let g = Grid::histogram(xr, yr, HISTOGRAM, HISTOGRAM, &pairs);
        (g, format!("model: histogram of {samples} samples"))
    };
    let name = |k: usize| match &points.header {
        Some(h) if h.len() == d => h[k].clone(),
        _ => format!("x{k}"),
    };
    let what = if d == 2 { "density" } else { "2-D marginal (from samples)" };
    let fig = Figure {
        title: format!("{}: {what} and data", dist.name()),
        axes: (name(dims[0]), name(dims[1])),
        density: &density,
        density_label,
        smooth: d == 2,
        contours: (d == 2).then(|| {
            let pct: Vec<String> = MASS.iter().map(|p| format!("{}", (p * 100.0).round())).collect();
            (&contours[..], format!("contours: {}% of the mass in view", pct.join(", ")))
        }),
        points: &xs.into_iter().zip(ys).collect::<Vec<_>>(),
        points_label: format!("data ({} points)", points.rows),
    };
    write_figure(path, &fig)
}
