//! The three kinds of chart the report draws, as SVG strings, with plotters.

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::ReportError;

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: &str, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.to_string(),
            points: points.into_iter().filter(|(x, y)| x.is_finite() && y.is_finite()).collect(),
        }
    }
}

const SIZE: (u32, u32) = (640, 400);

fn fail<E: std::fmt::Debug>(e: E) -> ReportError {
    ReportError::Plot(format!("{e:?}"))
}

/// The range of `values`, padded; a flat or empty range becomes a unit one.
fn range(values: impl Iterator<Item = f64>, from_zero: bool) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if from_zero {
        lo = lo.min(0.0);
    }
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    (if from_zero && lo >= 0.0 { lo } else { lo - pad })..hi + pad
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draws one chart into an SVG string: a white page, a titled frame over `xs` × `ys`, then
/// whatever `draw` adds, then the legend.
fn svg_chart(
    title: &str,
    xs: std::ops::Range<f64>,
    ys: std::ops::Range<f64>,
    legend: bool,
    draw: impl FnOnce(&mut Chart) -> Result<(), ReportError>,
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xs, ys)
            .map_err(fail)?;
        draw(&mut chart)?;
        if legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(fail)?;
        }
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

fn color(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Lines, one per series.
pub fn lines(title: &str, x: &str, y: &str, series: &[Series], legend: bool) -> Result<String, ReportError> {
    let xs = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)), false);
    let ys = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)), true);
    svg_chart(title, xs, ys, legend && !series.is_empty(), |chart| {
        chart.configure_mesh().x_desc(x).y_desc(y).draw().map_err(fail)?;
        for (i, s) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
                .map_err(fail)?
                .label(&s.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            if s.points.len() <= 12 {
                chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(fail)?;
            }
        }
        Ok(())
    })
}

/// Grouped bars: one group per label, one bar per series.
pub fn bars(title: &str, groups: &[String], series: &[(String, Vec<f64>)], y: &str) -> Result<String, ReportError> {
    let ys = range(series.iter().flat_map(|s| s.1.iter().copied()), true);
    let n = series.len().max(1) as f64;
    let xs = -0.5f64..(groups.len() as f64 - 0.5).max(0.5);
    svg_chart(title, xs, ys, true, |chart| {
        let labels = groups.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(groups.len().max(1))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc(y)
            .draw()
            .map_err(fail)?;
        for (s, (name, values)) in series.iter().enumerate() {
            let c = color(s);
            let width = 0.8 / n;
            chart
                .draw_series(values.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(g, v)| {
                    let x0 = g as f64 - 0.4 + s as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.9, *v)], c.filled())
                }))
                .map_err(fail)?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        Ok(())
    })
}

/// Points with vertical range bars: per series, (x, mean, low, high).
pub fn error_bars(
    title: &str,
    x: &str,
    y: &str,
    series: &BTreeMap<String, Vec<(f64, f64, f64, f64)>>,
) -> Result<String, ReportError> {
    let xs = range(series.values().flatten().map(|p| p.0), false);
    let ys = range(series.values().flatten().flat_map(|p| [p.2, p.3]), false);
    svg_chart(title, xs, ys, true, |chart| {
        chart.configure_mesh().x_desc(x).y_desc(y).draw().map_err(fail)?;
        for (i, (name, points)) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(
                    points.iter().map(|&(x, m, lo, hi)| ErrorBar::new_vertical(x, lo, m, hi, c.stroke_width(2), 8)),
                )
                .map_err(fail)?;
            chart
                .draw_series(LineSeries::new(points.iter().map(|&(x, m, _, _)| (x, m)), c.stroke_width(1)))
                .map_err(fail)?
                .label(if name.is_empty() { "all runs" } else { name })
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            chart.draw_series(points.iter().map(|&(x, m, _, _)| Circle::new((x, m), 4, c.filled()))).map_err(fail)?;
        }
        Ok(())
    })
}
