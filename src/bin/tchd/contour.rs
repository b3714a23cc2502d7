//! Contour lines of a density on a grid: marching squares, and the density levels that enclose
//! given fractions of the mass (highest-density regions).
//!
//! The grid's values are samples at its cell centres (`Grid::centres`). Marching squares walks
//! the squares between four neighbouring samples; a square whose corners lie on both sides of
//! the level (a corner is inside when its value is `>= level`) is crossed by the contour, which
//! cuts each crossed edge where the linear interpolation of its two end values equals the level.
//! The two ambiguous squares (diagonally opposite corners inside) are resolved by the mean of the
//! four corners, the value at the square's centre. Segments that share an edge are joined into
//! polylines, closed where the contour closes inside the grid.

use crate::plot::Grid;
use std::collections::HashMap;

/// One contour line: points in the grid's coordinates, in order along the line; a closed line
/// ends with its first point repeated.
pub type Line = Vec<(f64, f64)>;

/// The lines where the grid's values cross `level`.
pub fn contour_lines(g: &Grid, level: f64) -> Vec<Line> {
    let (nx, ny) = (g.nx, g.ny);
    if nx < 2 || ny < 2 || !level.is_finite() {
        return vec![];
    }
    let (dx, dy) = g.cell();
    let value = |i: usize, j: usize| g.values[j * nx + i];
    let node = |i: usize, j: usize| (g.x.0 + (i as f64 + 0.5) * dx, g.y.0 + (j as f64 + 0.5) * dy);
    // Edge ids: 2 * node + 0 for the edge from node (i, j) to (i + 1, j), + 1 for (i, j) to (i, j + 1).
    let h = |i: usize, j: usize| 2 * (j * nx + i);
    let v = |i: usize, j: usize| 2 * (j * nx + i) + 1;
    let mut at: HashMap<usize, (f64, f64)> = HashMap::new();
    let mut cut = |id: usize, (i0, j0): (usize, usize), (i1, j1): (usize, usize)| {
        at.entry(id).or_insert_with(|| {
            let (a, b) = (value(i0, j0), value(i1, j1));
            let t = if b != a { ((level - a) / (b - a)).clamp(0.0, 1.0) } else { 0.5 };
            let (p, q) = (node(i0, j0), node(i1, j1));
            (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
        });
        id
    };
    let mut segments: Vec<(usize, usize)> = Vec::new();
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            // Corners a (i, j), b (i + 1, j), c (i + 1, j + 1), d (i, j + 1), counter-clockwise.
            let corners = [value(i, j), value(i + 1, j), value(i + 1, j + 1), value(i, j + 1)];
            let case = corners.iter().enumerate().fold(0, |c, (k, &x)| c | (((x >= level) as usize) << k));
            if case == 0 || case == 15 {
                continue;
            }
            let bottom = || (h(i, j), (i, j), (i + 1, j));
            let right = || (v(i + 1, j), (i + 1, j), (i + 1, j + 1));
            let top = || (h(i, j + 1), (i, j + 1), (i + 1, j + 1));
            let left = || (v(i, j), (i, j), (i, j + 1));
            type Edge = (usize, (usize, usize), (usize, usize));
            let pairs: Vec<(Edge, Edge)> = match case {
                1 | 14 => vec![(left(), bottom())],
                2 | 13 => vec![(bottom(), right())],
                4 | 11 => vec![(right(), top())],
                8 | 7 => vec![(top(), left())],
                3 | 12 => vec![(left(), right())],
                6 | 9 => vec![(bottom(), top())],
                5 | 10 => {
                    // a and c on one side, b and d on the other: the centre decides which pair
                    // of opposite corners is joined through the square.
                    let centre_inside = corners.iter().sum::<f64>() / 4.0 >= level;
                    let ac_inside = case == 5;
                    if centre_inside == ac_inside {
                        // a and c joined: cut off b and d
                        vec![(bottom(), right()), (top(), left())]
                    } else {
                        // b and d joined: cut off a and c
                        vec![(left(), bottom()), (right(), top())]
                    }
                }
                _ => unreachable!("a case of four bits"),
            };
            for ((e0, p0, q0), (e1, p1, q1)) in pairs {
                segments.push((cut(e0, p0, q0), cut(e1, p1, q1)));
            }
        }
    }
    join(&segments).into_iter().map(|ids| ids.iter().map(|id| at[id]).collect()).collect()
}

/// Joins segments (pairs of edge ids; each id in at most two segments) into chains of ids; a
/// closed chain ends with its first id repeated.
fn join(segments: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut by_edge: HashMap<usize, Vec<usize>> = HashMap::new();
    for (k, &(a, b)) in segments.iter().enumerate() {
        by_edge.entry(a).or_default().push(k);
        by_edge.entry(b).or_default().push(k);
    }
    let mut used = vec![false; segments.len()];
    // The next unused segment at `edge`, and its other end.
    let next = |edge: usize, used: &mut Vec<bool>| -> Option<usize> {
        let k = *by_edge[&edge].iter().find(|&&k| !used[k])?;
        used[k] = true;
        let (a, b) = segments[k];
        Some(if a == edge { b } else { a })
    };
    let mut chains = Vec::new();
    for k in 0..segments.len() {
        if used[k] {
            continue;
        }
        used[k] = true;
        let (start, mut end) = segments[k];
        let mut forward = vec![start, end];
        while end != start {
            match next(end, &mut used) {
                Some(e) => {
                    forward.push(e);
                    end = e;
                }
                None => break,
            }
        }
        if end != start {
            // An open line (it leaves the grid): extend it backwards from its start too.
            let mut back = vec![];
            let mut s = start;
            while let Some(e) = next(s, &mut used) {
                back.push(e);
                s = e;
            }
            back.reverse();
            back.extend(forward);
            forward = back;
        }
        chains.push(forward);
    }
    chains
}

/// For each fraction `p` in `fractions` (in `(0, 1]`), the density level `t` whose region
/// `{value >= t}` holds at least `p` of the grid's mass (`sum(values) * cell area`), the highest
/// such level: the boundary of the smallest region with that mass (a highest-density region).
/// `None` for a grid without positive mass.
pub fn mass_levels(g: &Grid, fractions: &[f64]) -> Option<Vec<f64>> {
    let mut v: Vec<f64> = g.values.iter().cloned().filter(|x| x.is_finite() && *x > 0.0).collect();
    let total: f64 = v.iter().sum();
    if total <= 0.0 {
        return None;
    }
    v.sort_by(|a, b| b.total_cmp(a));
    Some(
        fractions
            .iter()
            .map(|&p| {
                let mut acc = 0.0;
                for &x in &v {
                    acc += x;
                    if acc >= p * total {
                        return x;
                    }
                }
                *v.last().unwrap()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid of `f(x, y)` at the cell centres of `n` x `n` cells over `[-w, w]^2`.
    fn grid(n: usize, w: f64, f: impl Fn(f64, f64) -> f64) -> Grid {
        let mut g = Grid::zeros((-w, w), (-w, w), n, n);
        g.values = g.centres().into_iter().map(|(x, y)| f(x, y)).collect();
        g
    }

    /// The contour of a radial function at a level is the circle of the level's radius: one
    /// closed line, every point within the interpolation error of the circle (the function is
    /// linear across a square to O(h^2): 1e-3 of the radius at h = 0.04), and the polygon's area
    /// (shoelace) within 0.5% of pi r^2.
    #[test]
    fn contour_of_a_gaussian_is_its_circle() {
        let g = grid(200, 4.0, |x, y| (-(x * x + y * y) / 2.0).exp());
        for r in [0.5f64, 1.0, 2.5] {
            let level = (-r * r / 2.0).exp();
            let lines = contour_lines(&g, level);
            assert_eq!(lines.len(), 1, "r {r}: {} lines", lines.len());
            let line = &lines[0];
            assert_eq!(line.first(), line.last(), "r {r}: the line is not closed");
            for &(x, y) in line {
                let d = (x * x + y * y).sqrt();
                assert!((d - r).abs() < 1e-3 * r.max(1.0), "r {r}: point at distance {d}");
            }
            let area: f64 = line.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum::<f64>().abs() / 2.0;
            let want = std::f64::consts::PI * r * r;
            assert!((area / want - 1.0).abs() < 5e-3, "r {r}: area {area} vs {want}");
        }
    }

    /// Exact cut points on a 2 x 2 grid (nodes at 0.5 and 1.5): values 0, 1 / 1, 3 at level 0.5
    /// cut the bottom edge at x = 1 and the left edge at y = 1, one open segment.
    #[test]
    fn cuts_edges_by_linear_interpolation() {
        let g = Grid { x: (0.0, 2.0), y: (0.0, 2.0), nx: 2, ny: 2, values: vec![0.0, 1.0, 1.0, 3.0] };
        let lines = contour_lines(&g, 0.5);
        assert_eq!(lines.len(), 1);
        let mut pts = lines[0].clone();
        pts.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(pts, vec![(0.5, 1.0), (1.0, 0.5)]);
        assert!(contour_lines(&g, 5.0).is_empty() && contour_lines(&g, -1.0).is_empty());
    }

    /// The saddle square: diagonal corners high; the centre (mean 0.5) above the level 0.4 joins
    /// the high corners (two segments cutting off the low corners), below the level 0.6 it
    /// separates them.
    #[test]
    fn saddles_follow_the_centre() {
        let g = Grid { x: (0.0, 2.0), y: (0.0, 2.0), nx: 2, ny: 2, values: vec![1.0, 0.0, 0.0, 1.0] };
        // values: a (0.5, 0.5) = 1, b (1.5, 0.5) = 0, d (0.5, 1.5) = 0, c (1.5, 1.5) = 1
        for (level, cut_off_low) in [(0.4, true), (0.6, false)] {
            let lines = contour_lines(&g, level);
            assert_eq!(lines.len(), 2, "level {level}");
            for l in &lines {
                let mid = ((l[0].0 + l[1].0) / 2.0, (l[0].1 + l[1].1) / 2.0);
                // Each segment cuts off one corner; find which: the low corners are (1.5, 0.5)
                // and (0.5, 1.5), on the anti-diagonal x - y = +-1.
                let near_low = (mid.0 - mid.1).abs() > 0.1;
                assert_eq!(near_low, cut_off_low, "level {level}: segment {l:?}");
            }
        }
    }

    /// For the standard 2-D normal the region holding mass p is the disc of r^2 = -2 ln(1 - p),
    /// whose boundary density is (1 - p) / (2 pi): within 1% on a fine grid over [-7, 7]^2.
    #[test]
    fn mass_levels_of_the_standard_normal() {
        let two_pi = 2.0 * std::f64::consts::PI;
        let g = grid(400, 7.0, |x, y| (-(x * x + y * y) / 2.0).exp() / two_pi);
        let ps = [0.25, 0.5, 0.75, 0.95];
        let levels = mass_levels(&g, &ps).unwrap();
        for (p, t) in ps.iter().zip(levels) {
            let want = (1.0 - p) / two_pi;
            assert!((t / want - 1.0).abs() < 1e-2, "p {p}: level {t} vs {want}");
        }
        assert!(mass_levels(&Grid::zeros((0.0, 1.0), (0.0, 1.0), 3, 3), &ps).is_none());
    }
}
