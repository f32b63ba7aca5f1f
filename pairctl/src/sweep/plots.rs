//! The plots of a policy sweep, each drawn twice: a PNG to look at and an
//! SVG to put in a document. plotters draws them without system libraries;
//! its text goes through ab_glyph with the DejaVu Sans vendored in
//! `pairctl/assets`, so a plot looks the same on every machine.

use plotters::coord::ranged1d::AsRangedCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// One policy's deaths (all cities summed) in each seed.
pub struct PolicyDeaths {
    pub policy: String,
    pub deaths: Vec<f64>,
}

/// One policy's total cost (CNY) and total deaths, per seed (same length).
pub struct PolicyCostDeaths {
    pub policy: String,
    pub cost_cny: Vec<f64>,
    pub deaths: Vec<f64>,
}

/// One city's course under one policy and seed: per day (days since the scenario start, may be negative),
/// active patients and treatment capacity (patients), and the days aid arrived (fractional days).
pub struct CityCurve {
    pub city: String,
    pub days: Vec<i64>,
    pub active: Vec<i64>,
    pub capacity: Vec<i64>,
    pub arrivals: Vec<f64>,
}

/// Draws every plot into `dir` and returns the files written (PNG and SVG of each):
/// - `deaths_by_policy.{png,svg}`: one column per policy, each seed a dot, the mean as a short bar and a 95% interval (mean ± 1.96·sd/√n; just the dot when n = 1) as a whisker; y axis "deaths (all cities)".
/// - `cost_vs_deaths.{png,svg}`: x = cost in million CNY, y = deaths, one colour and marker per policy with a legend; each seed a point.
/// - `cities_<policy>.{png,svg}`: a grid of small panels (4 columns), one per city in the given order, active patients (line) and capacity (line, another colour) against the day, with each arrival marked by a short vertical tick or dot on the x axis; panel caption = city name. `policy` in the file name sanitised to [a-z0-9_-] (e.g. "delay:3" -> "delay-3").
///
/// Every axis labelled (with units), every chart titled. Errors are returned as a String naming the file.
pub fn draw_all(
    dir: &Path,
    deaths: &[PolicyDeaths],
    cost: &[PolicyCostDeaths],
    cities: &[(String, Vec<CityCurve>)],
) -> Result<Vec<PathBuf>, String> {
    register_font()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    render(dir, "deaths_by_policy", &DeathsPlot(deaths), &mut written)?;
    render(dir, "cost_vs_deaths", &CostPlot(cost), &mut written)?;
    // Two labels may sanitise alike ("delay:3", "delay-3"): neither plot
    // may silently overwrite the other.
    let mut stems = HashSet::new();
    for (policy, curves) in cities {
        let mut stem = format!("cities_{}", sanitise(policy));
        for k in 2.. {
            if stems.insert(stem.clone()) {
                break;
            }
            stem = format!("cities_{}_{k}", sanitise(policy));
        }
        render(dir, &stem, &CitiesPlot { policy, curves }, &mut written)?;
    }
    Ok(written)
}

/// The font every text of a plot is written in; ab_glyph has none of its own.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() -> Result<(), String> {
    static ONCE: Once = Once::new();
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    ONCE.call_once(|| {
        let ok = plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS);
        REGISTERED.store(ok.is_ok(), Ordering::SeqCst);
    });
    match REGISTERED.load(Ordering::SeqCst) {
        true => Ok(()),
        false => Err("pairctl/assets/DejaVuSans.ttf: not a font ab_glyph can read".into()),
    }
}

/// A plot drawn the same way on either backend.
trait Plot {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Writes `plot` as `<stem>.png` and `<stem>.svg` and records both.
fn render(
    dir: &Path,
    stem: &str,
    plot: &impl Plot,
    written: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let size = plot.size();
    finish(BitMapBackend::new(&png, size), plot, &png)?;
    finish(SVGBackend::new(&svg, size), plot, &svg)?;
    written.extend([png, svg]);
    Ok(())
}

fn finish<DB: DrawingBackend>(backend: DB, plot: &impl Plot, path: &Path) -> Result<(), String> {
    let root = backend.into_drawing_area();
    let drawn = root
        .fill(&WHITE)
        .map_err(err)
        .and_then(|()| plot.draw(&root));
    drawn
        .and_then(|()| root.present().map_err(err))
        .map_err(|e| format!("{}: {e}", path.display()))
}

type Chart<'a, DB, X, Y> = ChartContext<'a, DB, Cartesian2d<X, Y>>;

/// A titled chart with room for its axes' labels, in proportion to the
/// title's size `px` (20 a whole plot, 15 a city's panel).
fn chart<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    px: u32,
    (x, y): (X, Y),
) -> Result<Chart<'a, DB, X::CoordDescType, Y::CoordDescType>, String> {
    ChartBuilder::on(area)
        .caption(title, font(px))
        .margin(px * 4 / 5)
        .x_label_area_size(px * 5 / 2)
        .y_label_area_size(px * 4)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn font(px: u32) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, f64::from(px), FontStyle::Normal)
}

/// Tableau's ten colours: distinct from each other, and for most readers
/// with a colour deficiency.
#[rustfmt::skip]
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40),
    RGBColor(148, 103, 189), RGBColor(140, 86, 75), RGBColor(227, 119, 194),
    RGBColor(127, 127, 127), RGBColor(188, 189, 34), RGBColor(23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Draws policy `i`'s points and legend entry. The marker (dot, triangle,
/// cross, ring) changes with a period of four against the colours' ten, so
/// two policies ten apart still differ.
fn draw_policy<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB, RangedCoordf64, RangedCoordf64>,
    i: usize,
    points: Vec<(f64, f64)>,
    label: &str,
) -> Result<(), String> {
    let (filled, stroke) = (colour(i).filled(), colour(i).stroke_width(2));
    let series = points.into_iter();
    // The same shape on the points and in the legend.
    macro_rules! shape {
        ($marker:ident, $size:expr, $style:expr) => {
            chart
                .draw_series(series.map(|p| $marker::new(p, $size, $style)))
                .map_err(err)?
                .legend(move |p| $marker::new(p, $size, $style))
        };
    }
    let anno = match i % 4 {
        0 => shape!(Circle, 5, filled),
        1 => shape!(TriangleMarker, 6, filled),
        2 => shape!(Cross, 5, stroke),
        _ => shape!(Circle, 5, stroke),
    };
    anno.label(label);
    Ok(())
}

/// An axis range that covers `values` with a little room; never empty,
/// so all-zero or missing data still gets an axis.
fn span(values: impl IntoIterator<Item = f64>, from_zero: bool) -> Range<f64> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .unwrap_or((0.0, 0.0));
    let lo = if from_zero { lo.min(0.0) } else { lo };
    // Flat data gets a little over one unit, so the top tick's label isn't
    // pushed against the title.
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        (hi.abs() * 0.5).max(1.05)
    };
    let start = if from_zero && lo >= 0.0 {
        0.0
    } else {
        lo - pad
    };
    start..hi + pad
}

/// Whole numbers without decimals (days, patients, deaths); a finer tick
/// keeps one so neighbours stay distinct.
fn whole(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The mean of a policy's seeds and its 95% interval (normal approximation).
struct Summary {
    mean: f64,
    half_width: f64,
}

impl Summary {
    fn lo(&self) -> f64 {
        self.mean - self.half_width
    }

    fn hi(&self) -> f64 {
        self.mean + self.half_width
    }
}

fn summarise(xs: &[f64]) -> Option<Summary> {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let half_width = 1.96 * var.sqrt() / n.sqrt();
    (!xs.is_empty()).then_some(Summary { mean, half_width })
}

/// The deaths plot's x unit: a column is `SLOT` wide. plotters labels
/// chosen ticks (the columns' centres) only on an integer axis, so the
/// dots' offsets are in thousandths of a column.
const SLOT: i32 = 1000;

/// Within a column the seeds' dots stand left of the centre, spread so
/// equal values don't hide each other, and the mean and interval right of
/// it, so that neither covers the other however many seeds there are.
fn jitter(k: usize, n: usize) -> i32 {
    let spread = match n {
        0 | 1 => 0.0,
        _ => (k as f64 / (n - 1) as f64 - 0.5) * 0.2,
    };
    ((spread - 0.14) * f64::from(SLOT)) as i32
}

const SUMMARY_AT: i32 = SLOT * 3 / 20;

struct DeathsPlot<'a>(&'a [PolicyDeaths]);

impl Plot for DeathsPlot<'_> {
    fn size(&self) -> (u32, u32) {
        ((150 * self.0.len() as u32 + 200).max(720), 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let summaries: Vec<_> = self.0.iter().map(|p| summarise(&p.deaths)).collect();
        let bounds = summaries.iter().flatten().flat_map(|s| [s.lo(), s.hi()]);
        let seeds = self.0.iter().flat_map(|p| p.deaths.iter().copied());
        let y = span(seeds.chain(bounds), true);
        let columns = self.0.len().max(1) as i32;
        let x = (-SLOT / 2..columns * SLOT - SLOT / 2)
            .with_key_points((0..columns).map(|i| i * SLOT).collect());
        let name = |x: &i32| {
            self.0
                .get((x / SLOT) as usize)
                .map_or("", |p| &p.policy)
                .to_string()
        };
        let title = "Deaths by policy: a dot per seed, bar = mean, whisker = 95% interval";
        let mut chart = chart(root, title, 20, (x, y))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("policy")
            .y_desc("deaths (all cities)")
            .x_label_formatter(&name)
            .y_label_formatter(&whole)
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        for (i, (policy, summary)) in self.0.iter().zip(&summaries).enumerate() {
            let at = i as i32 * SLOT;
            let n = policy.deaths.len();
            let dots = policy.deaths.iter().enumerate();
            let dots = dots.map(|(k, &d)| (at + jitter(k, n), d));
            if let Some(s) = summary {
                chart
                    .draw_series(summary_marks(at + SUMMARY_AT, s))
                    .map_err(err)?;
            }
            chart
                .draw_series(dots.map(|p| Circle::new(p, 4, colour(i).mix(0.7).filled())))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// The mean as a short bar and, when there is spread, the interval as a
/// whisker with caps.
fn summary_marks(x: i32, s: &Summary) -> Vec<PathElement<(i32, f64)>> {
    let (bar, cap, thin) = (SLOT / 10, SLOT / 20, BLACK.stroke_width(1));
    let mean = vec![(x - bar, s.mean), (x + bar, s.mean)];
    let mut marks = vec![PathElement::new(mean, BLACK.stroke_width(3))];
    if s.half_width > 0.0 {
        marks.push(PathElement::new(vec![(x, s.lo()), (x, s.hi())], thin));
        for y in [s.lo(), s.hi()] {
            marks.push(PathElement::new(vec![(x - cap, y), (x + cap, y)], thin));
        }
    }
    marks
}

struct CostPlot<'a>(&'a [PolicyCostDeaths]);

impl Plot for CostPlot<'_> {
    fn size(&self) -> (u32, u32) {
        (860, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let millions =
            |p: &PolicyCostDeaths| p.cost_cny.iter().map(|c| c / 1e6).collect::<Vec<_>>();
        let x = span(self.0.iter().flat_map(millions), true);
        let y = span(self.0.iter().flat_map(|p| p.deaths.iter().copied()), true);
        // Room above the points for the legend (about 20 px a policy of
        // the plot's 430), so it covers none of them.
        let legend = ((20 * self.0.len() + 16) as f64 / 430.0).min(0.6);
        let y = y.start..y.end + (y.end - y.start) * legend / (1.0 - legend);
        let title = "Cost against deaths: a point per policy and seed";
        let mut chart = chart(root, title, 20, (x, y))?;
        chart
            .configure_mesh()
            .x_desc("total cost (million CNY)")
            .y_desc("deaths (all cities)")
            .y_label_formatter(&whole)
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()
            .map_err(err)?;
        for (i, policy) in self.0.iter().enumerate() {
            let deaths = policy.deaths.iter().copied();
            let points = millions(policy).into_iter().zip(deaths).collect();
            draw_policy(&mut chart, i, points, &policy.policy)?;
        }
        if !self.0.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(font(14))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

const ACTIVE: RGBColor = PALETTE[3];
const CAPACITY: RGBColor = PALETTE[0];
const ARRIVAL: RGBColor = RGBColor(0, 0, 0);
const PANEL: (u32, u32) = (340, 260);
const HEADER: u32 = 76;

struct CitiesPlot<'a> {
    policy: &'a str,
    curves: &'a [CityCurve],
}

impl CitiesPlot<'_> {
    fn grid(&self) -> (usize, usize) {
        // Fewer cities than four take fewer columns rather than leave
        // empty panels.
        let cols = self.curves.len().clamp(1, 4);
        (self.curves.len().div_ceil(cols).max(1), cols)
    }

    fn title(&self) -> String {
        format!(
            "Active patients and capacity by city, policy {}",
            self.policy
        )
    }
}

impl Plot for CitiesPlot<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        // Wide enough for the title (about 11 px a character) and the key
        // however few the panels.
        let title = 11 * self.title().chars().count() as u32 + 40;
        let width = (PANEL.0 * cols as u32).max(720).max(title);
        (width, HEADER + PANEL.1 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = root
            .margin(8, 0, 0, 0)
            .titled(&self.title(), font(20))
            .map_err(err)?;
        let (key, grid) = body.split_vertically(HEADER - 40);
        draw_key(&key)?;
        if self.curves.is_empty() {
            let style = font(16).into_text_style(&grid);
            return grid
                .draw(&Text::new("(no cities)", (20, 20), style))
                .map_err(err);
        }
        for (panel, curve) in grid.split_evenly(self.grid()).iter().zip(self.curves) {
            draw_city(panel, curve)?;
        }
        Ok(())
    }
}

/// One legend for all panels: each panel keeps its room for the curves.
fn draw_key<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<(), String> {
    let items = [
        (ACTIVE, "active patients"),
        (CAPACITY, "treatment capacity"),
        (ARRIVAL, "aid arrival (tick on the x axis)"),
    ];
    let mut x = 20;
    for (i, (colour, label)) in items.into_iter().enumerate() {
        let line = match i {
            2 => PathElement::new(vec![(x + 10, 6), (x + 10, 18)], colour.stroke_width(2)),
            _ => PathElement::new(vec![(x, 12), (x + 24, 12)], colour.stroke_width(3)),
        };
        area.draw(&line).map_err(err)?;
        let style = font(14).into_text_style(area);
        area.draw(&Text::new(label, (x + 30, 7), style))
            .map_err(err)?;
        x += 40 + 8 * label.len() as i32;
    }
    Ok(())
}

fn draw_city<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    curve: &CityCurve,
) -> Result<(), String> {
    let days = || curve.days.iter().map(|&d| d as f64);
    let x = span(days().chain(curve.arrivals.iter().copied()), false);
    let patients = curve.active.iter().chain(&curve.capacity);
    let y = span(patients.map(|&v| v as f64), true);
    let tick = (y.end - y.start) * 0.06;
    let y0 = y.start;
    let mut chart = chart(area, &curve.city, 15, (x, y))?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_desc("day (since start)")
        .y_desc("patients")
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .label_style(font(11))
        .axis_desc_style(font(12))
        .draw()
        .map_err(err)?;
    for (values, colour) in [(&curve.active, ACTIVE), (&curve.capacity, CAPACITY)] {
        let points = days().zip(values.iter().map(|&v| v as f64));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(err)?;
    }
    let tick = |&a: &f64| PathElement::new(vec![(a, y0), (a, y0 + tick)], ARRIVAL.stroke_width(2));
    chart
        .draw_series(curve.arrivals.iter().map(tick))
        .map_err(err)?;
    Ok(())
}

/// A policy label as a file name: lower case, [a-z0-9_-] only.
pub(crate) fn sanitise(policy: &str) -> String {
    let keep = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-');
    let name = policy.to_ascii_lowercase().replace(|c| !keep(c), "-");
    match name.is_empty() {
        true => "unnamed".into(),
        false => name,
    }
}

#[cfg(test)]
#[path = "plots_tests.rs"]
mod tests;
