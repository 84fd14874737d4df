//! bondsim-report: a self-contained HTML page (plots as inline SVG, drawn with plotters) that
//! tells a run's or a sweep's story from its Parquet files.
//!
//! Every number comes from the dataset as a user would read it ([`dataset`]); nothing is taken
//! from engine internals. Text from configs (scenario names, run ids) is escaped.

pub mod dataset;
mod plots;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dataset::Table;
use plots::Series;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: cannot read the dataset: {message}")]
    Read { path: String, message: String },
    #[error("{0}: no bondsim dataset here (no metrics table); give the --out folder of a run or sweep")]
    NoDataset(String),
    #[error("drawing a plot failed: {0}")]
    Plot(String),
    #[error("{path}: {message}")]
    Write { path: String, message: String },
}

/// HTML-escapes text that comes from a config or a dataset.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One figure of the page.
struct Figure {
    title: String,
    caption: String,
    svg: String,
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = values.filter(|v| v.is_finite()).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// Rows of `t` grouped by the run they belong to.
fn runs(t: &Table) -> BTreeMap<String, Vec<usize>> {
    let mut by_run: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, run) in t.text("run").into_iter().enumerate() {
        by_run.entry(run.to_string()).or_default().push(i);
    }
    by_run
}

/// The report of the dataset in `root`, as one HTML page.
pub fn report(root: &Path) -> Result<String, ReportError> {
    let metrics = dataset::read(
        root,
        "metrics",
        &["tick", "population", "max_generation", "mean_loneliness", "mean_cortisol", "adult_secure_share"],
    )?;
    if metrics.rows == 0 {
        return Err(ReportError::NoDataset(root.display().to_string()));
    }
    let tick_years = dataset::tick_days(root).unwrap_or(7.0) / 365.25;
    let agents = dataset::read(
        root,
        "agents",
        &[
            "tick",
            "agent_id",
            "age_years",
            "birth_tick",
            "generation",
            "category_age1",
            "cortisol",
            "loneliness",
            "oxytocin",
            "dopamine",
            "bonds",
            "close_bonds",
        ],
    )?;
    let deaths = dataset::read(root, "deaths", &["close_bonds"])?;
    let events = dataset::read(root, "bond_events", &["event", "kind", "bond_age_ticks"])?;
    let network = dataset::read(root, "network", &["tick", "kind", "bond_age_ticks"])?;

    let run_rows = runs(&metrics);
    let mut figures = vec![
        population_over_time(&metrics, &run_rows, tick_years)?,
        generations_over_time(&metrics, &run_rows, tick_years)?,
        attachment_by_generation(&agents)?,
        stress_by_bonds(&agents)?,
        mortality_by_close_bonds(&agents, &deaths, tick_years)?,
        degree_distribution(&agents)?,
        bond_survival(&events, &network, tick_years)?,
        cohort_trajectories(&agents, tick_years)?,
    ];
    figures.extend(sweep_figures(&metrics, &run_rows)?);
    Ok(page(root, &metrics, &run_rows, &figures))
}

/// Writes the report to `output` (temporary name, then rename).
pub fn write_report(root: &Path, output: &Path) -> Result<usize, ReportError> {
    let html = report(root)?;
    let temp = output.with_extension("html.inprogress");
    let fail = |e: std::io::Error| ReportError::Write { path: output.display().to_string(), message: e.to_string() };
    std::fs::write(&temp, &html).map_err(fail)?;
    std::fs::rename(&temp, output).map_err(fail)?;
    Ok(html.matches("<figure").count())
}

fn page(root: &Path, metrics: &Table, run_rows: &BTreeMap<String, Vec<usize>>, figures: &[Figure]) -> String {
    let scenarios: BTreeSet<&str> = metrics.text("scenario").into_iter().filter(|s| !s.is_empty()).collect();
    let run_list: Vec<String> = run_rows.keys().map(|r| escape(r)).collect();
    let mut html = String::new();
    html.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>bondsim report</title>\n");
    html.push_str(
        "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;color:#222}\
         figure{display:inline-block;margin:0 1em 2em 0;vertical-align:top;width:660px}\
         figcaption{font-size:0.9em;color:#555}h1{margin-bottom:0.2em}.meta{color:#555}</style>\n</head>\n<body>\n",
    );
    html.push_str("<h1>bondsim report</h1>\n");
    html.push_str(&format!(
        "<p class=\"meta\">Dataset: {} &middot; {} run{}: {}{}</p>\n",
        escape(&root.display().to_string()),
        run_rows.len(),
        if run_rows.len() == 1 { "" } else { "s" },
        run_list.join(", "),
        if scenarios.is_empty() {
            String::new()
        } else {
            format!(" &middot; scenarios: {}", scenarios.iter().map(|s| escape(s)).collect::<Vec<_>>().join(", "))
        }
    ));
    for f in figures {
        html.push_str(&format!(
            "<figure class=\"plot\"><h2>{}</h2>\n{}\n<figcaption>{}</figcaption></figure>\n",
            escape(&f.title),
            f.svg,
            escape(&f.caption)
        ));
    }
    // A check a browser runs: each figure's SVG must have laid out with a visible size and
    // drawn marks; the body's data attributes carry the count for tests.
    html.push_str(
        "<script>\nwindow.addEventListener('load', () => {\n  const figs = [...document.querySelectorAll('figure.plot')];\n  \
         const ok = figs.filter(f => { const s = f.querySelector('svg'); if (!s) return false;\n    \
         const b = s.getBBox(); return b.width > 0 && b.height > 0 && s.querySelectorAll('polyline,rect,circle,path,line').length > 2; });\n  \
         document.body.dataset.plotsTotal = figs.length;\n  document.body.dataset.plotsRendered = ok.length;\n});\n</script>\n",
    );
    html.push_str("</body></html>\n");
    html
}

fn population_over_time(m: &Table, run_rows: &BTreeMap<String, Vec<usize>>, dt: f64) -> Result<Figure, ReportError> {
    let (tick, pop) = (m.num("tick"), m.num("population"));
    let series: Vec<Series> = run_rows
        .iter()
        .map(|(run, rows)| Series::new(run, rows.iter().map(|&i| (tick[i] * dt, pop[i])).collect()))
        .collect();
    Ok(Figure {
        title: "Population over time".into(),
        caption: "Living agents at the end of each tick, one line per run (metrics.population).".into(),
        svg: plots::lines("Population", "years", "agents", &series, run_rows.len() <= 8)?,
    })
}

fn generations_over_time(m: &Table, run_rows: &BTreeMap<String, Vec<usize>>, dt: f64) -> Result<Figure, ReportError> {
    let (tick, generation) = (m.num("tick"), m.num("max_generation"));
    let series: Vec<Series> = run_rows
        .iter()
        .map(|(run, rows)| Series::new(run, rows.iter().map(|&i| (tick[i] * dt, generation[i])).collect()))
        .collect();
    Ok(Figure {
        title: "Generations over time".into(),
        caption: "Highest generation alive (founders are generation 0), one line per run (metrics.max_generation)."
            .into(),
        svg: plots::lines("Generations", "years", "highest generation alive", &series, run_rows.len() <= 8)?,
    })
}

const CATEGORIES: [&str; 4] = ["secure", "anxious", "avoidant", "disorganised"];

fn attachment_by_generation(a: &Table) -> Result<Figure, ReportError> {
    // One count per agent: its category at age 1, by generation.
    let (ids, gens, runs) = (a.num("agent_id"), a.num("generation"), a.text("run"));
    let cats = a.text("category_age1");
    let mut seen = BTreeSet::new();
    let mut counts: BTreeMap<u32, [f64; 4]> = BTreeMap::new();
    for i in 0..a.rows {
        let Some(c) = CATEGORIES.iter().position(|c| *c == cats[i]) else { continue };
        if seen.insert((runs[i], ids[i] as u64)) {
            counts.entry(gens[i] as u32).or_insert([0.0; 4])[c] += 1.0;
        }
    }
    let groups: Vec<String> = counts.keys().map(|g| format!("gen {g}")).collect();
    let series: Vec<(String, Vec<f64>)> = CATEGORIES
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let shares =
                counts.values().map(|row| 100.0 * row[c] / row.iter().sum::<f64>().max(1.0)).collect::<Vec<f64>>();
            (name.to_string(), shares)
        })
        .collect();
    Ok(Figure {
        title: "Attachment at age 1 by generation".into(),
        caption: "Share of each infant category, measured at age 1 (agents.category_age1), one count per agent.".into(),
        svg: plots::bars("Infant attachment by generation", &groups, &series, "% of infants")?,
    })
}

fn last_snapshot_adults(a: &Table) -> Vec<usize> {
    let last = a.num("tick").iter().cloned().fold(f64::NAN, f64::max);
    let (tick, age) = (a.num("tick"), a.num("age_years"));
    (0..a.rows).filter(|&i| tick[i] == last && age[i] >= 18.0).collect()
}

fn stress_by_bonds(a: &Table) -> Result<Figure, ReportError> {
    let rows = last_snapshot_adults(a);
    let (bonds, cortisol, lonely) = (a.num("bonds"), a.num("cortisol"), a.num("loneliness"));
    let close = a.num("close_bonds");
    let by = |key: &[f64], value: &[f64]| {
        let mut groups: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
        for &i in &rows {
            groups.entry(key[i] as u32).or_default().push(value[i]);
        }
        groups.into_iter().filter(|(_, v)| v.len() >= 5).map(|(k, v)| (f64::from(k), mean(v.into_iter()))).collect()
    };
    let series = vec![
        Series::new("cortisol by close bonds", by(close, cortisol)),
        Series::new("loneliness by close bonds", by(close, lonely)),
        Series::new("cortisol by all bonds", by(bonds, cortisol)),
        Series::new("loneliness by all bonds", by(bonds, lonely)),
    ];
    Ok(Figure {
        title: "Stress and loneliness against bonds".into(),
        caption: "Adults at the last snapshot: mean cortisol and loneliness by number of bonds and of close bonds \
                  (groups of at least 5 agents)."
            .into(),
        svg: plots::lines("Cortisol and loneliness", "number of bonds", "level (0-1)", &series, true)?,
    })
}

fn mortality_by_close_bonds(a: &Table, d: &Table, dt: f64) -> Result<Figure, ReportError> {
    // Deaths per person-year, by close bonds: deaths from the deaths table; person-years from the
    // snapshots (each snapshot row stands for one snapshot interval of life).
    let ticks: BTreeSet<i64> = a.num("tick").iter().map(|t| *t as i64).collect();
    let interval_years = ticks.iter().zip(ticks.iter().skip(1)).map(|(x, y)| y - x).min().unwrap_or(52) as f64 * dt;
    let (close, age) = (a.num("close_bonds"), a.num("age_years"));
    let mut exposure: BTreeMap<u32, f64> = BTreeMap::new();
    for i in (0..a.rows).filter(|&i| age[i] >= 18.0) {
        *exposure.entry((close[i] as u32).min(6)).or_default() += interval_years;
    }
    let mut deaths: BTreeMap<u32, f64> = BTreeMap::new();
    for &c in d.num("close_bonds") {
        *deaths.entry((c as u32).min(6)).or_default() += 1.0;
    }
    let points: Vec<(f64, f64)> = exposure
        .iter()
        .filter(|(_, years)| **years >= 50.0)
        .map(|(k, years)| (f64::from(*k), 1000.0 * deaths.get(k).copied().unwrap_or(0.0) / years))
        .collect();
    Ok(Figure {
        title: "Mortality against close bonds".into(),
        caption: "Deaths per 1,000 person-years by the number of close bonds (6 = 6 or more): deaths from the deaths \
                  table, person-years of adults from the snapshots. Ages differ between groups; this is not age-adjusted."
            .into(),
        svg: plots::lines("Mortality", "close bonds", "deaths per 1,000 person-years", &[Series::new("all runs", points)], false)?,
    })
}

fn degree_distribution(a: &Table) -> Result<Figure, ReportError> {
    let rows = last_snapshot_adults(a);
    let histogram = |column: &[f64]| {
        let mut h: BTreeMap<u32, f64> = BTreeMap::new();
        for &i in &rows {
            *h.entry(column[i] as u32).or_default() += 1.0;
        }
        let n = rows.len().max(1) as f64;
        h.into_iter().map(|(k, v)| (f64::from(k), 100.0 * v / n)).collect::<Vec<_>>()
    };
    let series = vec![
        Series::new("all bonds (sympathy group)", histogram(a.num("bonds"))),
        Series::new("close bonds (support clique)", histogram(a.num("close_bonds"))),
    ];
    let mean_bonds = mean(rows.iter().map(|&i| a.num("bonds")[i]));
    let mean_close = mean(rows.iter().map(|&i| a.num("close_bonds")[i]));
    Ok(Figure {
        title: "Degree distribution and layer sizes".into(),
        caption: format!(
            "Adults at the last snapshot: share with each number of bonds. Mean layer sizes: {mean_close:.1} close bonds, \
             {mean_bonds:.1} bonds in all."
        ),
        svg: plots::lines("Degree distribution", "bonds", "% of adults", &series, true)?,
    })
}

fn bond_survival(events: &Table, network: &Table, dt: f64) -> Result<Figure, ReportError> {
    // Kaplan-Meier by kind: ended bonds are events at their age; bonds alive at the last
    // snapshot are censored at theirs.
    let mut durations: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    let (event, kind, age) = (events.text("event"), events.text("kind"), events.num("bond_age_ticks"));
    for i in 0..events.rows {
        if matches!(event[i], "broken" | "separated" | "bereaved" | "lost") {
            durations.entry(kind[i].to_string()).or_default().push((age[i] * dt, true));
        }
    }
    let last = network.num("tick").iter().cloned().fold(f64::NAN, f64::max);
    let (ntick, nkind, nage) = (network.num("tick"), network.text("kind"), network.num("bond_age_ticks"));
    for i in (0..network.rows).filter(|&i| ntick[i] == last) {
        durations.entry(nkind[i].to_string()).or_default().push((nage[i] * dt, false));
    }
    let series: Vec<Series> = durations
        .into_iter()
        .filter(|(_, d)| d.len() >= 10)
        .map(|(kind, mut d)| {
            d.sort_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)));
            let mut at_risk = d.len() as f64;
            let mut survival = 1.0;
            let mut points = vec![(0.0, 1.0)];
            for (t, ended) in d {
                // The tail where fewer than 10 bonds remain at risk says little: stop there.
                if at_risk < 10.0 {
                    break;
                }
                if ended {
                    survival *= 1.0 - 1.0 / at_risk;
                    points.push((t, survival));
                }
                at_risk -= 1.0;
            }
            Series::new(&kind, points)
        })
        .collect();
    Ok(Figure {
        title: "Bond survival by kind".into(),
        caption: "Kaplan-Meier survival of bonds by kind: ends (broken, separated, bereaved, lost) from bond_events, \
                  bonds alive at the last network snapshot censored; each curve stops where fewer than 10 bonds remain at risk."
            .into(),
        svg: plots::lines("Bond survival", "bond age (years)", "share surviving", &series, true)?,
    })
}

fn cohort_trajectories(a: &Table, dt: f64) -> Result<Figure, ReportError> {
    // Agents born during the run, by decade of birth: mean oxytocin and dopamine by year of age.
    let (birth, age, ot, da) = (a.num("birth_tick"), a.num("age_years"), a.num("oxytocin"), a.num("dopamine"));
    let mut cohorts: BTreeMap<(i64, u32), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for i in (0..a.rows).filter(|&i| birth[i] >= 0.0) {
        let decade = ((birth[i] * dt) / 10.0).floor() as i64 * 10;
        let entry = cohorts.entry((decade, age[i].floor() as u32)).or_default();
        entry.0.push(ot[i]);
        entry.1.push(da[i]);
    }
    let decades: BTreeSet<i64> = cohorts.keys().map(|(d, _)| *d).collect();
    let mut series = Vec::new();
    for decade in decades.iter().take(4) {
        let rows: Vec<_> = cohorts.iter().filter(|((d, _), v)| d == decade && v.0.len() >= 5).collect();
        series.push(Series::new(
            &format!("oxytocin, born years {decade}-{}", decade + 9),
            rows.iter().map(|((_, a), v)| (f64::from(*a), mean(v.0.iter().copied()))).collect(),
        ));
        series.push(Series::new(
            &format!("dopamine, born years {decade}-{}", decade + 9),
            rows.iter().map(|((_, a), v)| (f64::from(*a), mean(v.1.iter().copied()))).collect(),
        ));
    }
    Ok(Figure {
        title: "Oxytocin and dopamine of birth cohorts".into(),
        caption: "Agents born during the run, by decade of birth: mean oxytocin and tonic dopamine by year of age \
                  (cohort-age cells of at least 5 snapshots)."
            .into(),
        svg: plots::lines("Cohort trajectories", "age (years)", "level (0-1)", &series, true)?,
    })
}

/// For a sweep: each outcome at the last tick against each swept parameter, replicate mean with
/// the replicates' range; and by scenario when there are several.
fn sweep_figures(m: &Table, run_rows: &BTreeMap<String, Vec<usize>>) -> Result<Vec<Figure>, ReportError> {
    let params: Vec<String> = m
        .columns
        .keys()
        .filter(|k| !["run", "scenario", "replicate"].contains(&k.as_str()) && m.num(k).is_empty())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let outcomes = [
        ("population", "population"),
        ("mean_loneliness", "mean loneliness"),
        ("mean_cortisol", "mean cortisol"),
        ("adult_secure_share", "adults secure (share)"),
    ];
    // The last row of each run.
    let last: Vec<usize> = run_rows
        .values()
        .filter_map(|rows| rows.iter().max_by(|&&x, &&y| m.num("tick")[x].total_cmp(&m.num("tick")[y])).copied())
        .collect();
    let mut figures = Vec::new();
    for param in &params {
        let values = m.text(param);
        let scenarios = m.text("scenario");
        let mut series = Vec::new();
        for (column, label) in outcomes {
            let y = m.num(column);
            let mut by: BTreeMap<(String, i64), Vec<f64>> = BTreeMap::new();
            for &i in &last {
                let Ok(x) = values[i].parse::<f64>() else { continue };
                by.entry((scenarios[i].to_string(), (x * 1e9) as i64)).or_default().push(y[i]);
            }
            let mut points: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
            for ((scenario, x), ys) in by {
                let lo = ys.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                points.entry(scenario).or_default().push((x as f64 / 1e9, mean(ys.into_iter()), lo, hi));
            }
            series.push((label, points));
        }
        for (label, points) in series {
            figures.push(Figure {
                title: format!("{label} against {param}"),
                caption: format!(
                    "Sweep: {label} at the last tick of each run against the swept parameter {param}; dots are replicate \
                     means, bars the replicates' range."
                ),
                svg: plots::error_bars(&format!("{label} vs {param}"), param, label, &points)?,
            });
        }
    }
    let scenarios: BTreeSet<&str> = m.text("scenario").into_iter().filter(|s| !s.is_empty()).collect();
    if params.is_empty() && scenarios.len() > 1 {
        let s_text = m.text("scenario");
        let groups: Vec<String> = scenarios.iter().map(|s| s.to_string()).collect();
        let series: Vec<(String, Vec<f64>)> = outcomes[1..]
            .iter()
            .map(|(column, label)| {
                let y = m.num(column);
                (
                    label.to_string(),
                    groups.iter().map(|g| mean(last.iter().filter(|&&i| s_text[i] == g).map(|&i| y[i]))).collect(),
                )
            })
            .collect();
        figures.push(Figure {
            title: "Outcomes by scenario".into(),
            caption: "Sweep: mean over replicates at the last tick, by scenario.".into(),
            svg: plots::bars("Outcomes by scenario", &groups, &series, "level (0-1)")?,
        });
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_text_is_escaped() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
