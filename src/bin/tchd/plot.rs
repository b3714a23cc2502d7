//! The figure of `tchd plot` and `tchd fit --plot`: a model's density on a 2-D projection as a
//! heat-map, with the data drawn over it as points. SVG or PNG, chosen by the file's extension.
//!
//! The heat-map is either the model's density evaluated on a grid (when the data are 2-D, so the
//! projection is the whole density) or a 2-D histogram of samples drawn from the model (when the
//! data have more coordinates: the histogram estimates the 2-D marginal without integrating the
//! density); the legend says which.

use crate::data::write_atomically;
use anyhow::{anyhow, bail, ensure, Context, Result};
use plotters::prelude::*;
use std::path::Path;

/// Values on a regular grid of `nx` x `ny` cells over `x` x `y`, row-major from the lowest `y`.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The range of the first plotted coordinate.
    pub x: (f64, f64),
    /// The range of the second plotted coordinate.
    pub y: (f64, f64),
    /// Cells along x.
    pub nx: usize,
    /// Cells along y.
    pub ny: usize,
    /// One value per cell, `values[j * nx + i]` for column `i`, row `j`.
    pub values: Vec<f64>,
}

impl Grid {
    /// A grid of zeros.
    pub fn zeros(x: (f64, f64), y: (f64, f64), nx: usize, ny: usize) -> Grid {
        Grid { x, y, nx, ny, values: vec![0.0; nx * ny] }
    }

    /// Width and height of a cell.
    pub fn cell(&self) -> (f64, f64) {
        ((self.x.1 - self.x.0) / self.nx as f64, (self.y.1 - self.y.0) / self.ny as f64)
    }

    /// The centres of the cells, in the order of `values`.
    pub fn centres(&self) -> Vec<(f64, f64)> {
        let (dx, dy) = self.cell();
        (0..self.ny)
            .flat_map(|j| (0..self.nx).map(move |i| (i, j)))
            .map(|(i, j)| (self.x.0 + (i as f64 + 0.5) * dx, self.y.0 + (j as f64 + 0.5) * dy))
            .collect()
    }

    /// A normalised 2-D histogram of `points` (a density: the values integrate to the fraction
    /// of points inside the grid).
    pub fn histogram(x: (f64, f64), y: (f64, f64), nx: usize, ny: usize, points: &[(f64, f64)]) -> Grid {
        let mut g = Grid::zeros(x, y, nx, ny);
        let (dx, dy) = g.cell();
        for &(a, b) in points {
            let i = ((a - x.0) / dx).floor();
            let j = ((b - y.0) / dy).floor();
            if i >= 0.0 && j >= 0.0 && (i as usize) < nx && (j as usize) < ny {
                g.values[j as usize * nx + i as usize] += 1.0;
            }
        }
        let scale = 1.0 / (points.len().max(1) as f64 * dx * dy);
        g.values.iter_mut().for_each(|v| *v *= scale);
        g
    }
}

/// The range of `values` widened by `pad` of its length on each side (a unit range around a
/// single value).
pub fn padded_range(values: &[f64], pad: f64) -> (f64, f64) {
    let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let w = if hi > lo { hi - lo } else { 1.0 };
    (lo - pad * w, hi + pad * w)
}

/// What a figure shows.
pub struct Figure<'a> {
    /// The caption.
    pub title: String,
    /// Axis names of the two plotted coordinates.
    pub axes: (String, String),
    /// The model's density on the plotted plane.
    pub density: &'a Grid,
    /// The legend entry of the heat-map.
    pub density_label: String,
    /// The data, projected on the plotted plane.
    pub points: &'a [(f64, f64)],
    /// The legend entry of the points.
    pub points_label: String,
}

/// White through light blue to dark blue, for `t` in [0, 1].
fn ramp(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] =
        [(247.0, 251.0, 255.0), (198.0, 219.0, 239.0), (107.0, 174.0, 214.0), (33.0, 113.0, 181.0), (8.0, 48.0, 107.0)];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let k = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - k as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Colour levels of the heat-map; cells below the first level's lower edge stay blank.
const LEVELS: usize = 16;

/// A rectangle of the heat-map: lower-left corner, upper-right corner, colour level.
type Band = ((f64, f64), (f64, f64), usize);

/// The heat-map as rectangles `((x0, y0), (x1, y1), level)`, `level` in `1..=LEVELS`: each cell's
/// level is `ceil(LEVELS * sqrt(value / max))` (the square root shows the tails as well as the
/// modes), and runs of equal level along a row are merged into one rectangle (small SVG files).
fn bands(g: &Grid) -> Vec<Band> {
    let top = g.values.iter().cloned().fold(0.0, f64::max);
    let (dx, dy) = g.cell();
    let level = |v: f64| if top > 0.0 { ((v / top).sqrt() * LEVELS as f64).ceil() as usize } else { 0 };
    let mut out = Vec::new();
    for j in 0..g.ny {
        let y0 = g.y.0 + j as f64 * dy;
        let mut i = 0;
        while i < g.nx {
            let l = level(g.values[j * g.nx + i]);
            let start = i;
            while i < g.nx && level(g.values[j * g.nx + i]) == l {
                i += 1;
            }
            if l > 1 {
                out.push(((g.x.0 + start as f64 * dx, y0), (g.x.0 + i as f64 * dx, y0 + dy), l.min(LEVELS)));
            }
        }
    }
    out
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, fig: &Figure) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| {
        let text = e.to_string();
        let hint = if text.contains("font") || text.contains("Font") {
            " (text is drawn with a sans-serif system font found through fontconfig: install one, e.g. Debian's fonts-dejavu-core)"
        } else {
            ""
        };
        anyhow!("drawing failed: {text}{hint}")
    };
    root.fill(&WHITE).map_err(err)?;
    let g = fig.density;
    let mut chart = ChartBuilder::on(&root)
        .caption(&fig.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(g.x.0..g.x.1, g.y.0..g.y.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(fig.axes.0.as_str())
        .y_desc(fig.axes.1.as_str())
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            bands(g).into_iter().map(|(a, b, l)| Rectangle::new([a, b], ramp(l as f64 / LEVELS as f64).filled())),
        )
        .map_err(err)?
        .label(fig.density_label.as_str())
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ramp(0.6).filled()));
    chart
        .draw_series(fig.points.iter().map(|&p| Circle::new(p, 2, RGBColor(220, 40, 30).filled())))
        .map_err(err)?
        .label(fig.points_label.as_str())
        .legend(|(x, y)| Circle::new((x + 6, y), 3, RGBColor(220, 40, 30).filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Pixel size of figures.
const SIZE: (u32, u32) = (720, 600);

/// The figure format of `path` by its extension: `Ok(true)` for SVG, `Ok(false)` for PNG.
pub fn is_svg(path: &Path) -> Result<bool> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("svg") => Ok(true),
        Some("png") => Ok(false),
        _ => bail!("plot: expected a file name ending in .svg or .png, got {}", path.display()),
    }
}

/// Draws `fig` to `path`: SVG for `.svg`, PNG for `.png` (text drawn with a system sans-serif
/// font found through fontconfig). Written atomically.
pub fn write_figure(path: &Path, fig: &Figure) -> Result<()> {
    ensure!(fig.density.nx > 0 && fig.density.ny > 0, "plot: expected a non-empty grid");
    if is_svg(path)? {
        let mut text = String::new();
        draw(SVGBackend::with_string(&mut text, SIZE).into_drawing_area(), fig)
            .with_context(|| format!("plot: writing {}", path.display()))?;
        return write_atomically(path, text.as_bytes());
    }
    // The PNG encoder picks the format from the extension, so the temporary name ends in .png.
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{}-{name}", std::process::id()));
    let result = draw(BitMapBackend::new(&tmp, SIZE).into_drawing_area(), fig)
        .and_then(|_| std::fs::rename(&tmp, path).map_err(anyhow::Error::from));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("plot: writing {}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_a_density() {
        let pts: Vec<(f64, f64)> =
            (0..1000).map(|i| ((i % 10) as f64 / 10.0 + 0.05, (i / 100) as f64 / 10.0 + 0.05)).collect();
        let g = Grid::histogram((0.0, 1.0), (0.0, 1.0), 5, 5, &pts);
        let (dx, dy) = g.cell();
        let mass: f64 = g.values.iter().sum::<f64>() * dx * dy;
        assert!((mass - 1.0).abs() < 1e-12, "{mass}");
        assert!(g.values.iter().all(|&v| (v - 1.0).abs() < 1e-12), "{:?}", g.values);
    }

    #[test]
    fn ramp_ends() {
        assert_eq!(ramp(0.0), RGBColor(247, 251, 255));
        assert_eq!(ramp(1.0), RGBColor(8, 48, 107));
    }

    #[test]
    fn bands_merge_runs_and_skip_the_lowest_level() {
        // One row: 0, 1, 1, 0.0001 of the top; the two top cells become one rectangle.
        let g = Grid { x: (0.0, 4.0), y: (0.0, 1.0), nx: 4, ny: 1, values: vec![0.0, 2.0, 2.0, 0.0002] };
        assert_eq!(bands(&g), vec![((1.0, 0.0), (3.0, 1.0), LEVELS)]);
    }
}
