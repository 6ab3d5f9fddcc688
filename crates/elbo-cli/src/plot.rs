//! Figures as SVG (plotters' SVG backend; no bitmap, no font files: text is
//! left to the viewer's sans-serif).
//!
//! A [`Figure`] is a title, axis labels and layers (lines, points, shaded
//! bands, error bars, bars) drawn in order; [`Figure::to_svg`] renders it to
//! a string that a run writes to a file and the report inlines.

use anyhow::{anyhow, ensure};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Colours used across figures (colour-blind safe, after Okabe & Ito).
pub mod colour {
    use plotters::style::RGBColor;
    /// Blue.
    pub const BLUE: RGBColor = RGBColor(0, 114, 178);
    /// Bluish green.
    pub const GREEN: RGBColor = RGBColor(0, 158, 115);
    /// Vermilion.
    pub const RED: RGBColor = RGBColor(213, 94, 0);
    /// Grey.
    pub const GREY: RGBColor = RGBColor(120, 120, 120);
    /// Black.
    pub const BLACK: RGBColor = RGBColor(0, 0, 0);
    /// Orange.
    pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
    /// Reddish purple.
    pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
    /// Sky blue.
    pub const SKY: RGBColor = RGBColor(86, 180, 233);
    /// Yellow.
    pub const YELLOW: RGBColor = RGBColor(240, 228, 66);

    /// The i-th colour of a cycle for categories (components, classes).
    pub fn cycle(i: usize) -> RGBColor {
        const C: [RGBColor; 8] = [BLUE, RED, GREEN, ORANGE, PURPLE, SKY, BLACK, YELLOW];
        C[i % C.len()]
    }
}

/// One thing drawn on a figure.
#[derive(Debug, Clone)]
pub enum Layer {
    /// A polyline through the points.
    Line {
        /// (x, y) in order.
        points: Vec<(f64, f64)>,
        /// Colour.
        colour: RGBColor,
        /// Legend entry.
        label: Option<String>,
    },
    /// Unconnected markers.
    Points {
        /// (x, y).
        points: Vec<(f64, f64)>,
        /// Colour.
        colour: RGBColor,
        /// Legend entry.
        label: Option<String>,
    },
    /// Small translucent markers for many points (a scatter of data).
    Scatter {
        /// (x, y).
        points: Vec<(f64, f64)>,
        /// Colour.
        colour: RGBColor,
        /// Opacity in [0, 1].
        opacity: f64,
        /// Legend entry.
        label: Option<String>,
    },
    /// The region between two curves over the same x.
    Band {
        /// x, increasing.
        x: Vec<f64>,
        /// The lower curve.
        lower: Vec<f64>,
        /// The upper curve.
        upper: Vec<f64>,
        /// Colour.
        colour: RGBColor,
        /// Opacity in [0, 1].
        opacity: f64,
        /// Legend entry.
        label: Option<String>,
    },
    /// Markers with vertical bars y ± half_width.
    ErrorBars {
        /// (x, y, half width).
        points: Vec<(f64, f64, f64)>,
        /// Colour.
        colour: RGBColor,
        /// Legend entry.
        label: Option<String>,
    },
    /// A closed polygon (an ellipse), filled with `opacity` and outlined.
    Polygon {
        /// The vertices, in order (the last is joined to the first).
        points: Vec<(f64, f64)>,
        /// Colour of the outline and the fill.
        colour: RGBColor,
        /// Opacity of the fill in [0, 1] (0: outline only).
        opacity: f64,
        /// Legend entry.
        label: Option<String>,
    },
    /// Bars from 0 to a height over [x0, x1].
    Bars {
        /// (x0, x1, height).
        bars: Vec<(f64, f64, f64)>,
        /// Colour.
        colour: RGBColor,
        /// Legend entry.
        label: Option<String>,
    },
}

impl Layer {
    /// Every (x, y) the layer needs to be visible.
    fn extent(&self) -> Vec<(f64, f64)> {
        match self {
            Layer::Line { points, .. }
            | Layer::Points { points, .. }
            | Layer::Scatter { points, .. }
            | Layer::Polygon { points, .. } => points.clone(),
            Layer::Band {
                x, lower, upper, ..
            } => x
                .iter()
                .zip(lower)
                .map(|(&a, &b)| (a, b))
                .chain(x.iter().zip(upper).map(|(&a, &b)| (a, b)))
                .collect(),
            Layer::ErrorBars { points, .. } => points
                .iter()
                .flat_map(|&(x, y, e)| [(x, y - e), (x, y + e)])
                .collect(),
            Layer::Bars { bars, .. } => bars
                .iter()
                .flat_map(|&(a, b, h)| [(a, 0.0), (b, h)])
                .collect(),
        }
    }

    fn label(&self) -> Option<&str> {
        match self {
            Layer::Line { label, .. }
            | Layer::Points { label, .. }
            | Layer::Band { label, .. }
            | Layer::ErrorBars { label, .. }
            | Layer::Polygon { label, .. }
            | Layer::Scatter { label, .. }
            | Layer::Bars { label, .. } => label.as_deref(),
        }
    }
}

/// A figure: title, axis labels, layers.
#[derive(Debug, Clone)]
pub struct Figure {
    title: String,
    x_label: String,
    y_label: String,
    layers: Vec<Layer>,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    y_log10: bool,
    legend_lower_right: bool,
    size: (u32, u32),
    caption_size: u32,
}

impl Figure {
    /// An empty figure.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            layers: Vec::new(),
            x_range: None,
            y_range: None,
            y_log10: false,
            legend_lower_right: false,
            size: (640, 420),
            caption_size: 18,
        }
    }

    /// Add a layer (drawn after the previous ones).
    pub fn layer(mut self, layer: Layer) -> Self {
        self.layers.push(layer);
        self
    }

    /// Fix the x range instead of fitting it to the layers.
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    /// Fix the y range instead of fitting it to the layers.
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// A logarithmic y axis: the layers' y values are log10 of the
    /// quantity, and the tick labels show the quantity (1, 10, 100, 1e3 …).
    pub fn log10_y(mut self) -> Self {
        self.y_log10 = true;
        self
    }

    /// Put the legend in the lower right corner (default: upper left).
    pub fn legend_lower_right(mut self) -> Self {
        self.legend_lower_right = true;
        self
    }

    /// The ranges: given, or the layers' extent padded by 5 %.
    fn ranges(&self) -> anyhow::Result<((f64, f64), (f64, f64))> {
        let pts: Vec<(f64, f64)> = self
            .layers
            .iter()
            .flat_map(Layer::extent)
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let fit = |vals: Vec<f64>| -> Option<(f64, f64)> {
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !lo.is_finite() {
                return None;
            }
            let pad = if hi > lo {
                0.05 * (hi - lo)
            } else {
                0.5 * lo.abs().max(1.0)
            };
            Some((lo - pad, hi + pad))
        };
        let x = self
            .x_range
            .or_else(|| fit(pts.iter().map(|p| p.0).collect()));
        let y = self
            .y_range
            .or_else(|| fit(pts.iter().map(|p| p.1).collect()));
        match (x, y) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(anyhow!(
                "figure `{}` has no finite values to plot",
                self.title
            )),
        }
    }

    /// Render to an SVG document.
    pub fn to_svg(&self) -> anyhow::Result<String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size).into_drawing_area();
            root.fill(&WHITE)?;
            self.draw_on(&root)?;
            root.present()?;
        }
        Ok(svg)
    }

    /// Draw the figure on `root` (the whole document, or one panel of
    /// [`small_multiples`]).
    fn draw_on(&self, root: &DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()> {
        let ((x0, x1), (y0, y1)) = self.ranges()?;
        ensure!(
            x1 > x0 && y1 > y0,
            "figure `{}` has an empty range",
            self.title
        );
        {
            let mut chart = ChartBuilder::on(root)
                .caption(&self.title, ("sans-serif", self.caption_size))
                .margin(12)
                .x_label_area_size(42)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..x1, y0..y1)?;
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .light_line_style(WHITE.mix(0.0))
                .label_style(("sans-serif", 12));
            if self.y_log10 {
                // One tick per decade (plotters may add half decades; those
                // stay unlabelled).
                let decades = (y1.floor() - y0.ceil()) as usize + 1;
                mesh.y_labels(decades.max(2))
                    .y_label_formatter(&pow10_label);
            }
            mesh.draw()?;
            for layer in &self.layers {
                let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
                let label = layer.label().map(str::to_string);
                match layer {
                    Layer::Line { points, colour, .. } => {
                        let c = *colour;
                        let a = chart.draw_series(LineSeries::new(
                            points.iter().copied().filter(finite),
                            c.stroke_width(2),
                        ))?;
                        if let Some(l) = label {
                            a.label(l).legend(move |(x, y)| {
                                PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                            });
                        }
                    }
                    Layer::Points { points, colour, .. } => {
                        let c = *colour;
                        let a = chart.draw_series(
                            points
                                .iter()
                                .copied()
                                .filter(finite)
                                .map(|p| Circle::new(p, 3, c.filled())),
                        )?;
                        if let Some(l) = label {
                            a.label(l)
                                .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
                        }
                    }
                    Layer::Band {
                        x,
                        lower,
                        upper,
                        colour,
                        opacity,
                        ..
                    } => {
                        let c = colour.mix(*opacity);
                        let outline: Vec<(f64, f64)> = x
                            .iter()
                            .zip(upper)
                            .map(|(&a, &b)| (a, b))
                            .chain(x.iter().zip(lower).rev().map(|(&a, &b)| (a, b)))
                            .filter(finite)
                            .collect();
                        let a = chart
                            .draw_series(std::iter::once(Polygon::new(outline, c.filled())))?;
                        if let Some(l) = label {
                            a.label(l).legend(move |(x, y)| {
                                Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.filled())
                            });
                        }
                    }
                    Layer::ErrorBars { points, colour, .. } => {
                        let c = *colour;
                        let ok: Vec<(f64, f64, f64)> = points
                            .iter()
                            .copied()
                            .filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite())
                            .collect();
                        chart.draw_series(ok.iter().map(|&(x, y, e)| {
                            PathElement::new(vec![(x, y - e), (x, y + e)], c.mix(0.5))
                        }))?;
                        let a = chart.draw_series(
                            ok.iter()
                                .map(|&(x, y, _)| Circle::new((x, y), 2, c.filled())),
                        )?;
                        if let Some(l) = label {
                            a.label(l)
                                .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
                        }
                    }
                    Layer::Scatter {
                        points,
                        colour,
                        opacity,
                        ..
                    } => {
                        let c = colour.mix(opacity.clamp(0.0, 1.0));
                        let a = chart.draw_series(
                            points
                                .iter()
                                .copied()
                                .filter(finite)
                                .map(|p| Circle::new(p, 2, c.filled())),
                        )?;
                        if let Some(l) = label {
                            a.label(l)
                                .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
                        }
                    }
                    Layer::Polygon {
                        points,
                        colour,
                        opacity,
                        ..
                    } => {
                        let c = *colour;
                        let ok: Vec<(f64, f64)> = points.iter().copied().filter(finite).collect();
                        if *opacity > 0.0 {
                            chart.draw_series(std::iter::once(Polygon::new(
                                ok.clone(),
                                c.mix(opacity.clamp(0.0, 1.0)).filled(),
                            )))?;
                        }
                        let mut closed = ok;
                        if let Some(&first) = closed.first() {
                            closed.push(first);
                        }
                        let a = chart.draw_series(std::iter::once(PathElement::new(
                            closed,
                            c.stroke_width(2),
                        )))?;
                        if let Some(l) = label {
                            a.label(l).legend(move |(x, y)| {
                                Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.mix(0.5).filled())
                            });
                        }
                    }
                    Layer::Bars { bars, colour, .. } => {
                        let c = *colour;
                        let a = chart.draw_series(
                            bars.iter()
                                .filter(|b| b.0.is_finite() && b.1.is_finite() && b.2.is_finite())
                                .map(|&(a, b, h)| {
                                    Rectangle::new([(a, 0.0), (b, h)], c.mix(0.7).filled())
                                }),
                        )?;
                        if let Some(l) = label {
                            a.label(l).legend(move |(x, y)| {
                                Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.mix(0.7).filled())
                            });
                        }
                    }
                }
            }
            if self.layers.iter().any(|l| l.label().is_some()) {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .label_font(("sans-serif", 12))
                    .position(if self.legend_lower_right {
                        SeriesLabelPosition::LowerRight
                    } else {
                        SeriesLabelPosition::UpperLeft
                    })
                    .draw()?;
            }
        }
        Ok(())
    }
}

/// Several figures in a grid of `cols` columns under one title (small
/// multiples, e.g. a fit at several iterations: PRML Fig 10.6).
pub fn small_multiples(title: &str, panels: &[Figure], cols: usize) -> anyhow::Result<String> {
    ensure!(!panels.is_empty(), "figure `{title}` has no panels");
    let cols = cols.clamp(1, panels.len());
    let rows = panels.len().div_ceil(cols);
    let (w, h) = (340, 320);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w * cols as u32, h * rows as u32 + 40))
            .into_drawing_area();
        root.fill(&WHITE)?;
        let body = root.titled(title, ("sans-serif", 18))?;
        let areas = body.split_evenly((rows, cols));
        for (panel, area) in panels.iter().zip(&areas) {
            let mut p = panel.clone();
            p.caption_size = 14;
            p.draw_on(area)?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The contour at `radius` standard deviations of a 2-D Gaussian with
/// `mean` and covariance [[a, b], [b, c]], as a closed polygon of `n`
/// points (x = mean + radius L u, L L^T = Σ, u on the unit circle). `None`
/// when the covariance is not positive definite.
pub fn ellipse(mean: (f64, f64), cov: [f64; 3], radius: f64, n: usize) -> Option<Vec<(f64, f64)>> {
    let [a, b, c] = cov;
    if a.is_nan() || a <= 0.0 {
        return None;
    }
    let l11 = a.sqrt();
    let l21 = b / l11;
    let rest = c - l21 * l21;
    if rest.is_nan() || rest <= 0.0 || !rest.is_finite() {
        return None;
    }
    let l22 = rest.sqrt();
    Some(
        (0..n)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / n as f64;
                let (u, v) = (t.cos(), t.sin());
                (
                    mean.0 + radius * l11 * u,
                    mean.1 + radius * (l21 * u + l22 * v),
                )
            })
            .collect(),
    )
}

/// The tick label of a log10 axis at `v`: 10^v, written 0.01, 0.1, 1, 10,
/// 100, 1000, then 1e4 …; ticks between powers are left unlabelled.
fn pow10_label(v: &f64) -> String {
    let r = v.round();
    if (v - r).abs() < 1e-9 {
        match r as i32 {
            e @ -2..=3 => format!("{}", 10f64.powi(e)),
            e => format!("1e{e}"),
        }
    } else {
        String::new()
    }
}

/// The bound against the iteration (1-based).
pub fn bound_trace(title: &str, trace: &[f64]) -> Figure {
    Figure::new(title, "iteration", "lower bound")
        .layer(Layer::Line {
            points: trace
                .iter()
                .enumerate()
                .map(|(i, &b)| ((i + 1) as f64, b))
                .collect(),
            colour: colour::BLUE,
            label: None,
        })
        .layer(Layer::Points {
            points: trace
                .iter()
                .enumerate()
                .map(|(i, &b)| ((i + 1) as f64, b))
                .collect(),
            colour: colour::BLUE,
            label: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_renders_to_svg() {
        let f = Figure::new("t", "x", "y")
            .layer(Layer::Band {
                x: vec![0.0, 1.0],
                lower: vec![-1.0, -1.0],
                upper: vec![1.0, 2.0],
                colour: colour::BLUE,
                opacity: 0.2,
                label: Some("±1 sd".into()),
            })
            .layer(Layer::Line {
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                colour: colour::RED,
                label: Some("mean".into()),
            })
            .layer(Layer::Points {
                points: vec![(0.5, f64::NAN), (0.5, 0.5)],
                colour: colour::BLACK,
                label: None,
            })
            .layer(Layer::ErrorBars {
                points: vec![(0.2, 0.1, 0.3)],
                colour: colour::GREEN,
                label: None,
            })
            .layer(Layer::Scatter {
                points: vec![(0.3, 0.2)],
                colour: colour::GREY,
                opacity: 0.5,
                label: Some("data".into()),
            })
            .layer(Layer::Bars {
                bars: vec![(0.0, 0.1, 0.4)],
                colour: colour::RED,
                label: None,
            });
        let svg = f.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("</svg>") && svg.contains("mean"));
        let svg = bound_trace("bound", &[-3.0]).to_svg().unwrap();
        assert!(svg.contains("iteration"));
    }

    #[test]
    fn ellipses_and_small_multiples() {
        // A unit circle for the identity; radius 2 doubles it.
        let e = ellipse((1.0, -1.0), [1.0, 0.0, 1.0], 2.0, 8).unwrap();
        for (x, y) in &e {
            assert!(((x - 1.0).powi(2) + (y + 1.0).powi(2) - 4.0).abs() < 1e-12);
        }
        // Every point of the 1-sd contour has Mahalanobis distance 1.
        let (a, b, c) = (2.0, 0.6, 0.5);
        let det = a * c - b * b;
        for (x, y) in ellipse((0.0, 0.0), [a, b, c], 1.0, 16).unwrap() {
            let m = (c * x * x - 2.0 * b * x * y + a * y * y) / det;
            assert!((m - 1.0).abs() < 1e-12, "{m}");
        }
        assert!(ellipse((0.0, 0.0), [1.0, 1.0, 1.0], 1.0, 8).is_none());
        assert!(ellipse((0.0, 0.0), [f64::NAN, 0.0, 1.0], 1.0, 8).is_none());
        let panel = |t: &str| {
            Figure::new(t, "x", "y").layer(Layer::Polygon {
                points: ellipse((0.0, 0.0), [1.0, 0.3, 1.0], 1.0, 40).unwrap(),
                colour: colour::RED,
                opacity: 0.4,
                label: Some("k = 1".into()),
            })
        };
        let svg = small_multiples("grid", &[panel("a"), panel("b"), panel("c")], 2).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("grid"));
        assert_eq!(svg.matches("<polygon").count(), 3, "{svg}");
        assert!(small_multiples("none", &[], 2).is_err());
    }

    #[test]
    fn log_axes_label_powers_of_ten() {
        assert_eq!(pow10_label(&0.0), "1");
        assert_eq!(pow10_label(&-1.0), "0.1");
        assert_eq!(pow10_label(&3.0), "1000");
        assert_eq!(pow10_label(&4.0), "1e4");
        assert_eq!(pow10_label(&-5.0), "1e-5");
        assert_eq!(pow10_label(&0.5), "");
        let svg = Figure::new("log", "i", "E[alpha]")
            .log10_y()
            .layer(Layer::Points {
                points: vec![(0.0, -1.0), (1.0, 4.0)],
                colour: colour::ORANGE,
                label: None,
            })
            .to_svg()
            .unwrap();
        assert!(svg.contains("1e4") && svg.contains("0.1"), "{svg}");
    }

    #[test]
    fn a_figure_with_nothing_finite_is_an_error() {
        let f = Figure::new("empty", "x", "y").layer(Layer::Points {
            points: vec![(f64::NAN, 1.0)],
            colour: colour::BLUE,
            label: None,
        });
        assert!(
            f.to_svg()
                .unwrap_err()
                .to_string()
                .contains("no finite values")
        );
    }
}
