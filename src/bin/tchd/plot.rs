//! The figure of `tchd plot` and `tchd fit --plot`: a model's density on a 2-D projection as a
//! heat-map, with the data drawn over it as points. SVG or PNG, chosen by the file's extension.
//!
//! The heat-map is either the model's density evaluated on a fine grid (when the data are 2-D,
//! so the projection is the whole density) or a 2-D histogram of samples drawn from the model
//! (when the data have more coordinates: the histogram estimates the 2-D marginal without
//! integrating the density); the legend says which. The density is drawn smooth: each pixel of
//! the plotting area is coloured by the bilinear interpolation of the grid (about one grid point
//! per two pixels), as one raster image (embedded as a PNG in SVG files), with contour lines
//! (`contour.rs`) over it. The histogram is drawn as its cells.

use crate::contour::Line;
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
    /// Cells along x (or sample points: the values are samples at the cell centres).
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

    /// The value at `(x, y)` by bilinear interpolation between the four nearest cell centres,
    /// clamped to the outermost centres at the borders.
    pub fn interpolate(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = self.cell();
        let locate = |u: f64, n: usize| {
            let u = u.clamp(0.0, (n - 1) as f64);
            let k = (u.floor() as usize).min(n.saturating_sub(2));
            (k, u - k as f64)
        };
        let (i, fx) = locate((x - self.x.0) / dx - 0.5, self.nx);
        let (j, fy) = locate((y - self.y.0) / dy - 0.5, self.ny);
        let at = |i: usize, j: usize| self.values[j.min(self.ny - 1) * self.nx + i.min(self.nx - 1)];
        let low = at(i, j) * (1.0 - fx) + at(i + 1, j) * fx;
        let high = at(i, j + 1) * (1.0 - fx) + at(i + 1, j + 1) * fx;
        low * (1.0 - fy) + high * fy
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
    /// Draw the density smooth (interpolated per pixel) rather than as its grid's cells.
    pub smooth: bool,
    /// Contour lines over the heat-map, and their legend entry (drawn with a smooth heat-map).
    pub contours: Option<(&'a [Line], String)>,
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

/// The colour of contour lines.
const CONTOUR: RGBColor = RGBColor(20, 20, 20);

/// The heat-map as `w` x `h` RGB pixels (rows from the top), each pixel the ramp's colour of
/// `sqrt(value / max)` at its centre, the value interpolated bilinearly; `lines` (in the grid's
/// coordinates) are drawn over it anti-aliased, 1 pixel wide, in [`CONTOUR`].
fn raster(g: &Grid, lines: &[Line], w: u32, h: u32) -> Vec<u8> {
    let (wu, hu) = (w as usize, h as usize);
    let top = g.values.iter().cloned().fold(0.0, f64::max);
    // Pixel (px, py) has its centre at continuous pixel coordinates (px, py).
    let to_pixel = |(x, y): (f64, f64)| {
        ((x - g.x.0) / (g.x.1 - g.x.0) * w as f64 - 0.5, (g.y.1 - y) / (g.y.1 - g.y.0) * h as f64 - 0.5)
    };
    let mut coverage = vec![0f32; wu * hu];
    for line in lines {
        for pair in line.windows(2) {
            stroke(&mut coverage, wu, hu, to_pixel(pair[0]), to_pixel(pair[1]));
        }
    }
    let mut buf = Vec::with_capacity(wu * hu * 3);
    for py in 0..hu {
        let y = g.y.1 - (py as f64 + 0.5) / h as f64 * (g.y.1 - g.y.0);
        for px in 0..wu {
            let x = g.x.0 + (px as f64 + 0.5) / w as f64 * (g.x.1 - g.x.0);
            let t = if top > 0.0 { (g.interpolate(x, y).max(0.0) / top).sqrt() } else { 0.0 };
            let (RGBColor(r, gr, b), RGBColor(cr, cg, cb)) = (ramp(t), CONTOUR);
            let a = f64::from(coverage[py * wu + px]) * 0.9;
            let mix = |bg: u8, fg: u8| (f64::from(bg) * (1.0 - a) + f64::from(fg) * a).round() as u8;
            buf.extend_from_slice(&[mix(r, cr), mix(gr, cg), mix(b, cb)]);
        }
    }
    buf
}

/// Adds the segment from `p` to `q` (continuous pixel coordinates, pixel centres at integers) to
/// `coverage` (`w` x `h`, rows from the top) by Xiaolin Wu's anti-aliased line: along the major
/// axis one step per pixel, the coverage split between the two pixels straddling the line. Each
/// pixel keeps the largest coverage any segment gives it, so joints of a polyline do not darken.
fn stroke(coverage: &mut [f32], w: usize, h: usize, p: (f64, f64), q: (f64, f64)) {
    let steep = (q.1 - p.1).abs() > (q.0 - p.0).abs();
    // (major, minor) coordinates
    let (mut a, mut b) = if steep { ((p.1, p.0), (q.1, q.0)) } else { (p, q) };
    if a.0 > b.0 {
        std::mem::swap(&mut a, &mut b);
    }
    let grad = if b.0 > a.0 { (b.1 - a.1) / (b.0 - a.0) } else { 0.0 };
    let mut put = |major: i64, minor: i64, c: f64| {
        let (x, y) = if steep { (minor, major) } else { (major, minor) };
        if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
            let cell = &mut coverage[y as usize * w + x as usize];
            *cell = cell.max(c as f32);
        }
    };
    let (start, end) = (a.0.round() as i64, b.0.round() as i64);
    for m in start..=end {
        let minor = a.1 + grad * (m as f64 - a.0);
        let (k, f) = (minor.floor(), minor - minor.floor());
        put(m, k as i64, 1.0 - f);
        put(m, k as i64 + 1, f);
    }
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
    let heat = if fig.smooth {
        let (w, h) = chart.plotting_area().dim_in_pixel();
        let lines = fig.contours.as_ref().map(|c| c.0).unwrap_or(&[]);
        let image = BitMapElement::with_owned_buffer((g.x.0, g.y.1), (w, h), raster(g, lines, w, h))
            .ok_or_else(|| anyhow!("plot: a raster of {w} x {h} pixels does not fit its buffer"))?;
        chart.draw_series(std::iter::once(image)).map_err(err)?
    } else {
        chart
            .draw_series(
                bands(g).into_iter().map(|(a, b, l)| Rectangle::new([a, b], ramp(l as f64 / LEVELS as f64).filled())),
            )
            .map_err(err)?
    };
    heat.label(fig.density_label.as_str())
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ramp(0.6).filled()));
    if let (Some((_, label)), true) = (&fig.contours, fig.smooth) {
        // The lines are in the raster (plotters' 1-pixel lines drop pixels of short segments);
        // an empty series carries their legend entry.
        let style = ShapeStyle { color: CONTOUR.to_rgba(), filled: false, stroke_width: 1 };
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], style));
    }
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

/// plotters-svg 0.3.7 embeds images as `data:png;base64,...`, which is not a media type
/// (`image/png` is); viewers that check it show nothing. The SVG with that prefix corrected.
fn fix_image_mime(svg: &str) -> String {
    svg.replace("href=\"data:png;base64,", "href=\"data:image/png;base64,")
}

/// Draws `fig` to `path`: SVG for `.svg`, PNG for `.png` (text drawn with a system sans-serif
/// font found through fontconfig). Written atomically.
pub fn write_figure(path: &Path, fig: &Figure) -> Result<()> {
    ensure!(fig.density.nx > 0 && fig.density.ny > 0, "plot: expected a non-empty grid");
    if is_svg(path)? {
        let mut text = String::new();
        draw(SVGBackend::with_string(&mut text, SIZE).into_drawing_area(), fig)
            .with_context(|| format!("plot: writing {}", path.display()))?;
        return write_atomically(path, fix_image_mime(&text).as_bytes());
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

    /// Bilinear interpolation reproduces a function linear in x and y exactly inside the centres
    /// and clamps outside them.
    #[test]
    fn interpolation_is_exact_for_bilinear_functions() {
        let mut g = Grid::zeros((0.0, 4.0), (0.0, 2.0), 4, 2);
        let f = |x: f64, y: f64| 1.0 + 2.0 * x - 3.0 * y + 0.5 * x * y;
        g.values = g.centres().into_iter().map(|(x, y)| f(x, y)).collect();
        for (x, y) in [(0.5, 0.5), (1.2, 0.9), (3.5, 1.5), (2.0, 1.0)] {
            assert!((g.interpolate(x, y) - f(x, y)).abs() < 1e-12, "({x}, {y})");
        }
        assert!((g.interpolate(-1.0, 0.0) - f(0.5, 0.5)).abs() < 1e-12);
        assert!((g.interpolate(9.0, 9.0) - f(3.5, 1.5)).abs() < 1e-12);
    }

    /// Wu's line: a horizontal segment through pixel centres covers its row fully; a 45-degree
    /// one between centres splits each column's coverage over two pixels, summing to 1.
    #[test]
    fn stroke_covers_one_pixel_per_step() {
        let (w, h) = (8, 6);
        let mut c = vec![0f32; w * h];
        stroke(&mut c, w, h, (1.0, 2.0), (5.0, 2.0));
        for x in 0..w {
            assert_eq!(c[2 * w + x], if (1..=5).contains(&x) { 1.0 } else { 0.0 }, "x {x}");
        }
        assert_eq!(c.iter().sum::<f32>(), 5.0);
        let mut c = vec![0f32; w * h];
        stroke(&mut c, w, h, (0.0, 0.5), (4.0, 4.5));
        for x in 0..=4 {
            let col: f32 = (0..h).map(|y| c[y * w + x]).sum();
            assert!((col - 1.0).abs() < 1e-6, "column {x}: {col}");
        }
        // Off the raster: nothing drawn, no panic.
        let mut c = vec![0f32; w * h];
        stroke(&mut c, w, h, (-10.0, -3.0), (-2.0, 40.0));
        assert_eq!(c.iter().sum::<f32>(), 0.0);
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
