//! The run's results drawn as SVG charts (plotters, SVG backend: text is left to the viewer's
//! fonts, so nothing here needs a font or a C library): `bench-throughput.svg`, executions per
//! second by worker processes for Actuate's distributed mode and Celery, with standalone mode's
//! single process as a dashed level; `bench-latency.svg`, the distribution (CDF) of queued →
//! running and queued → completed at 100 executions/s, distributed and standalone. A chart
//! whose figures the run did not measure is not drawn.

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::error::Error;
use std::path::Path;

const SIZE: (u32, u32) = (900, 540);
const FONT: &str = "sans-serif";
const DISTRIBUTED: RGBColor = RGBColor(31, 119, 180);
const STANDALONE: RGBColor = RGBColor(214, 39, 40);
const CELERY: RGBColor = RGBColor(44, 160, 44);

/// Whether the chart was drawn (false: the run has none of its figures).
type Drawn = Result<bool, Box<dyn Error>>;
type Draw = fn(&Value, &Path) -> Drawn;
/// A CDF to draw: its points (ms, share), colour, dashed or not, and legend.
type Series = (Vec<(f64, f64)>, RGBColor, bool, &'static str);

/// Writes both charts into `dir`, saying on stderr what was written.
pub(crate) fn write(report: &Value, dir: &Path) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("charts not written: {}: {e}", dir.display());
        return;
    }
    let charts: [(&str, Draw); 2] = [
        ("bench-throughput.svg", throughput),
        ("bench-latency.svg", latency),
    ];
    for (name, draw) in charts {
        let path = dir.join(name);
        match draw(report, &path) {
            Ok(true) => eprintln!("chart written to {}", path.display()),
            Ok(false) => {
                // Not left from an earlier run beside this run's JSON.
                let _ = std::fs::remove_file(&path);
                eprintln!("{name} not drawn: the run has none of its figures");
            }
            Err(e) => eprintln!("{name} not drawn: {e}"),
        }
    }
}

/// (worker processes, median per second) of a section keyed by worker count.
fn by_workers(section: &Value) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = section
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(w, v)| Some((w.parse().ok()?, v["median_per_second"].as_f64()?)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

/// Draws the legend in the lower right corner and writes the file.
fn legend_and_present<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    root: &DrawingArea<SVGBackend<'a>, Shift>,
) -> Drawn {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(true)
}

fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 24, y)], color.stroke_width(3))
}

fn throughput(r: &Value, path: &Path) -> Drawn {
    let actuate = by_workers(&r["throughput"]);
    let celery = by_workers(&r["celery"]);
    let standalone = r["standalone"]["throughput"]["median_per_second"].as_f64();
    if actuate.is_empty() && celery.is_empty() && standalone.is_none() {
        return Ok(false);
    }
    let all = actuate.iter().chain(&celery);
    let max_workers = all.clone().map(|p| p.0).fold(1.0, f64::max);
    let top = all.map(|p| p.1).chain(standalone).fold(1.0, f64::max) * 1.2;
    let x = 0.5..max_workers + 0.5;

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Throughput of a one-step Python action (median of repetitions)",
            (FONT, 22),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x.clone(), 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(2 * max_workers as usize + 2)
        // Whole numbers of processes only.
        .x_label_formatter(&|w| {
            if w.fract() == 0.0 {
                format!("{w:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("worker processes (Celery: prefork processes)")
        .y_desc("executions per second")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .draw()?;
    for (points, color, label) in [
        (
            &actuate,
            DISTRIBUTED,
            "Actuate, distributed (API + workers)",
        ),
        (&celery, CELERY, "Celery 5"),
    ] {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(
                LineSeries::new(points.iter().copied(), color.stroke_width(3)).point_size(5),
            )?
            .label(label)
            .legend(legend_line(color));
        chart.draw_series(points.iter().map(|&(w, rate)| {
            let style = (FONT, 14).into_font().color(&color);
            let above = style.pos(Pos::new(HPos::Center, VPos::Bottom));
            Text::new(format!("{rate:.0}"), (w, rate + top * 0.015), above)
        }))?;
    }
    if let Some(rate) = standalone {
        let level = [(x.start, rate), (x.end, rate)];
        chart
            .draw_series(DashedLineSeries::new(
                level,
                10,
                6,
                STANDALONE.stroke_width(2),
            ))?
            .label(format!("Actuate standalone, one process: {rate:.0}/s"))
            .legend(legend_line(STANDALONE));
    }
    legend_and_present(&mut chart, &root)
}

/// (ms, fraction) points of a `[[q, ms], ...]` quantile list, for a CDF on a log axis.
fn cdf(quantiles: &Value) -> Vec<(f64, f64)> {
    quantiles
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p[1].as_f64()?.max(0.01), p[0].as_f64()?)))
        .collect()
}

/// A log axis labelled at 1, 2 and 5 times each power of ten, with light lines at the other
/// multiples.
fn log_axis(low: f64, high: f64) -> WithKeyPoints<LogCoord<f64>> {
    let decades = (low.log10().floor() as i32)..=(high.log10().ceil() as i32);
    let at = |multiples: &'static [f64]| {
        decades
            .clone()
            .flat_map(move |d| multiples.iter().map(move |m| m * 10f64.powi(d)))
            .filter(|x| (low..=high).contains(x))
    };
    (low..high)
        .log_scale()
        .with_key_points(at(&[1.0, 2.0, 5.0]).collect())
        .with_light_points(at(&[3.0, 4.0, 6.0, 7.0, 8.0, 9.0]))
}

/// The CDFs the run measured: (points, colour, dashed, label); queued → completed dashed and
/// lighter than queued → running.
fn latency_series(r: &Value) -> Vec<Series> {
    let light = |c: RGBColor| RGBColor(c.0 / 2 + 128, c.1 / 2 + 128, c.2 / 2 + 128);
    let (distributed, standalone) = (&r["latency"], &r["standalone"]["latency"]);
    [
        (
            distributed,
            DISTRIBUTED,
            "running",
            "distributed, queued → running",
        ),
        (
            distributed,
            light(DISTRIBUTED),
            "completed",
            "distributed, queued → completed",
        ),
        (
            standalone,
            STANDALONE,
            "running",
            "standalone, queued → running",
        ),
        (
            standalone,
            light(STANDALONE),
            "completed",
            "standalone, queued → completed",
        ),
    ]
    .into_iter()
    .filter_map(|(data, color, to, label)| {
        let points = cdf(&data[format!("queued_to_{to}_quantiles_ms")]);
        (!points.is_empty()).then_some((points, color, to == "completed", label))
    })
    .collect()
}

fn latency(r: &Value, path: &Path) -> Drawn {
    let series = latency_series(r);
    if series.is_empty() {
        return Ok(false);
    }
    let values = || series.iter().flat_map(|s| s.0.iter().map(|p| p.0));
    let low = values().fold(f64::INFINITY, f64::min) * 0.8;
    let high = values().fold(0.0, f64::max) * 1.25;

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Latency at 100 executions/s: share of executions within a time",
            (FONT, 22),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(log_axis(low, high), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|ms| {
            let digits = if *ms < 1.0 { 1 } else { 0 };
            format!("{ms:.digits$}")
        })
        .y_label_formatter(&|q| format!("{:.0}%", q * 100.0))
        .x_desc("milliseconds after the execute (log scale)")
        .y_desc("executions")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .draw()?;
    for (points, color, dashed, label) in series {
        let drawn = if dashed {
            chart.draw_series(DashedLineSeries::new(points, 8, 5, color.stroke_width(2)))?
        } else {
            chart.draw_series(LineSeries::new(points, color.stroke_width(3)))?
        };
        drawn.label(label).legend(legend_line(color));
    }
    legend_and_present(&mut chart, &root)
}
