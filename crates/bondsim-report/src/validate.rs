//! The stylized facts of the science brief (F1–F14), measured on a dataset the way the studies
//! measured people: infant classes at age 1, adult classes in adulthood, correlations,
//! concordances, hazard ratios. Computed from the Parquet files only, per run, then summarised
//! over runs (replicates) with a 95 % interval.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::ReportError;
use crate::dataset::{self, Table};

/// One fact: what it measures, its target and tolerance, and the simulated value per run.
#[derive(Debug, Clone)]
pub struct Fact {
    pub id: &'static str,
    pub measure: &'static str,
    pub target: &'static str,
    /// Allowed range of the value.
    pub low: f64,
    pub high: f64,
    pub source: &'static str,
    pub per_run: Vec<f64>,
}

impl Fact {
    pub fn mean(&self) -> f64 {
        let v: Vec<f64> = self.per_run.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
    }

    /// 95 % interval of the mean over runs (normal approximation); the value itself for one run.
    pub fn interval(&self) -> (f64, f64) {
        let v: Vec<f64> = self.per_run.iter().copied().filter(|x| x.is_finite()).collect();
        let m = self.mean();
        if v.len() < 2 {
            return (m, m);
        }
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
        let half = 1.96 * (var / v.len() as f64).sqrt();
        (m - half, m + half)
    }

    pub fn pass(&self) -> bool {
        let m = self.mean();
        m.is_finite() && m >= self.low && m <= self.high
    }
}

/// Writes the fact table as Parquet (one row per measure, every replicate's value in
/// `per_run`), with `metadata` (the config, the master seed) as key-value metadata; to a
/// temporary name, then renamed, so that a crash never leaves a file that looks whole.
pub fn write_parquet(facts: &[Fact], path: &Path, metadata: &[(&str, String)]) -> Result<(), ReportError> {
    use std::sync::Arc;

    use arrow_array::builder::{Float64Builder, ListBuilder};
    use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;

    let fail = |message: String| ReportError::Write { path: path.display().to_string(), message };
    let finite = |x: f64| x.is_finite().then_some(x);
    let text = |f: fn(&Fact) -> &str| Arc::new(StringArray::from_iter_values(facts.iter().map(f))) as ArrayRef;
    let real =
        |f: &dyn Fn(&Fact) -> f64| Arc::new(facts.iter().map(|x| finite(f(x))).collect::<Float64Array>()) as ArrayRef;
    let mut per_run = ListBuilder::new(Float64Builder::new()).with_field(Field::new("item", DataType::Float64, true));
    for f in facts {
        per_run.append_value(f.per_run.iter().map(|v| finite(*v)));
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("fact", text(|f| f.id)),
        ("measure", text(|f| f.measure)),
        ("target", text(|f| f.target)),
        ("low", real(&|f| f.low)),
        ("high", real(&|f| f.high)),
        ("value", real(&|f| f.mean())),
        ("interval_low", real(&|f| f.interval().0)),
        ("interval_high", real(&|f| f.interval().1)),
        ("runs", Arc::new(facts.iter().map(|f| f.per_run.len() as u32).collect::<UInt32Array>())),
        ("per_run", Arc::new(per_run.finish())),
        ("pass", Arc::new(facts.iter().map(|f| Some(f.pass())).collect::<BooleanArray>())),
        ("source", text(|f| f.source)),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| {
                let nullable = matches!(*name, "low" | "high" | "value" | "interval_low" | "interval_high");
                Field::new(*name, array.data_type().clone(), nullable)
            })
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect())
        .map_err(|e| fail(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(metadata.iter().map(|(k, v)| KeyValue::new((*k).into(), v.clone())).collect()))
        .build();
    let temp = path.with_extension("parquet.tmp");
    let file = std::fs::File::create(&temp).map_err(|e| fail(e.to_string()))?;
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| fail(e.to_string()))?;
    writer.write(&batch).map_err(|e| fail(e.to_string()))?;
    writer.close().map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&temp, path).map_err(|e| fail(e.to_string()))
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 3 {
        return f64::NAN;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

fn share(hits: usize, total: usize) -> f64 {
    if total == 0 { f64::NAN } else { hits as f64 / total as f64 }
}

/// Everything one run's facts need, read once.
struct Data {
    agents: Table,
    births: Table,
    deaths: Table,
    events: Table,
    network: Table,
    tick_years: f64,
}

fn rows_by_run(t: &Table) -> BTreeMap<String, Vec<usize>> {
    let mut by: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in t.text("run").into_iter().enumerate() {
        by.entry(r.to_string()).or_default().push(i);
    }
    by
}

/// Measures every fact on the dataset under `root`.
pub fn measure(root: &Path) -> Result<Vec<Fact>, ReportError> {
    let d = Data {
        agents: dataset::read(
            root,
            "agents",
            &["tick", "agent_id", "age_years", "birth_tick", "category", "category_age1", "close_bonds"],
        )?,
        births: dataset::read(
            root,
            "births",
            &["tick", "child_id", "mother_id", "father_id", "mother_sensitivity", "mother_category", "mother_cortisol"],
        )?,
        deaths: dataset::read(root, "deaths", &["tick", "agent_id", "age_years", "close_bonds"])?,
        events: dataset::read(root, "bond_events", &["tick", "event", "agent_a", "agent_b", "kind", "bond_age_ticks"])?,
        network: dataset::read(root, "network", &["tick", "agent_a", "agent_b", "kind", "bond_age_ticks"])?,
        tick_years: dataset::tick_days(root).unwrap_or(7.0) / 365.25,
    };
    if d.agents.rows == 0 {
        return Err(ReportError::NoDataset(root.display().to_string()));
    }
    let runs: Vec<String> = rows_by_run(&d.agents).into_keys().collect();
    let (a_runs, b_runs, d_runs, e_runs, n_runs) = (
        rows_by_run(&d.agents),
        rows_by_run(&d.births),
        rows_by_run(&d.deaths),
        rows_by_run(&d.events),
        rows_by_run(&d.network),
    );
    let empty = Vec::new();
    let mut facts = fact_table();
    for run in &runs {
        let rows = Rows {
            agents: a_runs.get(run).unwrap_or(&empty),
            births: b_runs.get(run).unwrap_or(&empty),
            deaths: d_runs.get(run).unwrap_or(&empty),
            events: e_runs.get(run).unwrap_or(&empty),
            network: n_runs.get(run).unwrap_or(&empty),
        };
        let values = measure_run(&d, &rows);
        for (fact, value) in facts.iter_mut().zip(values) {
            fact.per_run.push(value);
        }
    }
    Ok(facts)
}

struct Rows<'a> {
    agents: &'a [usize],
    births: &'a [usize],
    deaths: &'a [usize],
    events: &'a [usize],
    network: &'a [usize],
}

fn fact_table() -> Vec<Fact> {
    let f =
        |id, measure, target, low, high, source| Fact { id, measure, target, low, high, source, per_run: Vec::new() };
    vec![
        f("F1", "infants secure at age 1 (share)", "0.65 ± 0.06", 0.59, 0.71, "van IJzendoorn et al. 1999"),
        f("F1", "infants avoidant at age 1 (share)", "0.20 ± 0.06", 0.14, 0.26, "van IJzendoorn et al. 1999"),
        f(
            "F1",
            "infants resistant (anxious) at age 1 (share)",
            "0.10 ± 0.06",
            0.04,
            0.16,
            "van IJzendoorn et al. 1999",
        ),
        f("F1", "infants disorganised at age 1 (share)", "0.15 ± 0.06", 0.09, 0.21, "van IJzendoorn et al. 1999"),
        f(
            "F2",
            "disorganisation, high-risk / low-risk caregiving (ratio)",
            ">= 2",
            2.0,
            f64::INFINITY,
            "van IJzendoorn et al. 1999",
        ),
        f(
            "F3",
            "adults secure (share of 3 classes)",
            "0.58 ± 0.06",
            0.52,
            0.64,
            "Bakermans-Kranenburg & van IJzendoorn 2009",
        ),
        f(
            "F3",
            "adults dismissing (share of 3 classes)",
            "0.23 ± 0.06",
            0.17,
            0.29,
            "Bakermans-Kranenburg & van IJzendoorn 2009",
        ),
        f(
            "F3",
            "adults preoccupied (share of 3 classes)",
            "0.19 ± 0.06",
            0.13,
            0.25,
            "Bakermans-Kranenburg & van IJzendoorn 2009",
        ),
        f(
            "F4",
            "r(mother's sensitivity at birth, infant secure at 1)",
            "0.24 (0.15 to 0.35)",
            0.15,
            0.35,
            "De Wolff & van IJzendoorn 1997",
        ),
        f(
            "F5",
            "mother and infant concordant, secure vs insecure (share)",
            "0.75 (0.65 to 0.82)",
            0.65,
            0.82,
            "van IJzendoorn 1995",
        ),
        f("F6", "r(mother secure, infant secure)", "0.31 (0.20 to 0.40)", 0.20, 0.40, "Verhage et al. 2016"),
        f(
            "F7",
            "share of transmission through sensitivity",
            "0.20 (0.10 to 0.35)",
            0.10,
            0.35,
            "van IJzendoorn 1995; Pederson 1998",
        ),
        f(
            "F8",
            "same secure/insecure class at 1 and about 20 (share)",
            "0.72 (0.60 to 0.80)",
            0.60,
            0.80,
            "Waters et al. 2000",
        ),
        f(
            "F8",
            "stability 1 to 20, parental loss or separation / none (ratio)",
            "< 1",
            0.0,
            1.0 - 1e-9,
            "Waters et al. 2000",
        ),
        f("F9", "r(secure at 1, secure at about 20)", "0.39 (0.25 to 0.45)", 0.25, 0.45, "Fraley 2002"),
        f("F10", "insecure infants secure as adults (share)", "0.10 to 0.25", 0.10, 0.25, "Roisman et al. 2002"),
        f(
            "F11",
            "support clique per adult (close bonds)",
            "about 5 (3 to 7)",
            3.0,
            7.0,
            "Zhou et al. 2005; Hill & Dunbar 2003",
        ),
        f(
            "F11",
            "sympathy group per adult (close bonds and friends)",
            "about 15 (10 to 20)",
            10.0,
            20.0,
            "Zhou et al. 2005; Hill & Dunbar 2003",
        ),
        f("F11", "sympathy group / support clique (ratio)", "2.5 to 4", 2.5, 4.0, "Zhou et al. 2005"),
        f("F12", "clustering of the friendship network", "0.20 to 0.45", 0.20, 0.45, "Coleman high-school network"),
        f("F12", "confidants per adult (partner and close friends)", "2 to 3", 2.0, 3.0, "McPherson et al. 2006"),
        f(
            "F13",
            "break-up hazard at 15-25 years / at 0-2 years of a couple",
            "< 1/3",
            0.0,
            1.0 / 3.0,
            "Rosenfeld 2014",
        ),
        f(
            "F14",
            "death rate ratio, isolated / integrated adults (age-stratified)",
            "> 1",
            1.0,
            f64::INFINITY,
            "Holt-Lunstad et al. 2010, 2015",
        ),
    ]
}

/// The agents born in the run whose mother or father died, or whose parents separated, before
/// they were 18: the negative life events of Waters et al. (2000) that the output shows.
fn negative_life_events(d: &Data, r: &Rows) -> BTreeSet<u64> {
    let eighteen = 18.0 / d.tick_years;
    let (dtick, dead) = (d.deaths.num("tick"), d.deaths.num("agent_id"));
    let died: BTreeMap<u64, f64> = r.deaths.iter().map(|&i| (dead[i] as u64, dtick[i])).collect();
    let e = &d.events;
    let (etick, event, ea, eb) = (e.num("tick"), e.text("event"), e.num("agent_a"), e.num("agent_b"));
    let mut separated: BTreeMap<(u64, u64), Vec<f64>> = BTreeMap::new();
    for &i in r.events.iter().filter(|&&i| event[i] == "separated") {
        let (a, b) = (ea[i] as u64, eb[i] as u64);
        separated.entry((a.min(b), a.max(b))).or_default().push(etick[i]);
    }
    let b = &d.births;
    let (btick, child, mother, father) = (b.num("tick"), b.num("child_id"), b.num("mother_id"), b.num("father_id"));
    r.births
        .iter()
        .copied()
        .filter(|&i| {
            let childhood = btick[i]..btick[i] + eighteen;
            let parents: Vec<u64> =
                [mother[i], father[i]].into_iter().filter(|p| p.is_finite()).map(|p| p as u64).collect();
            let lost = parents.iter().any(|p| died.get(p).is_some_and(|t| childhood.contains(t)));
            let split = parents.len() == 2 && {
                let key = (parents[0].min(parents[1]), parents[0].max(parents[1]));
                separated.get(&key).is_some_and(|ts| ts.iter().any(|t| childhood.contains(t)))
            };
            lost || split
        })
        .map(|i| child[i] as u64)
        .collect()
}

fn measure_run(d: &Data, r: &Rows) -> Vec<f64> {
    let a = &d.agents;
    let (tick, id, age, birth) = (a.num("tick"), a.num("agent_id"), a.num("age_years"), a.num("birth_tick"));
    let (category, at1) = (a.text("category"), a.text("category_age1"));
    let close = a.num("close_bonds");
    let last = r.agents.iter().map(|&i| tick[i]).fold(f64::NAN, f64::max);
    let interval = {
        let ticks: std::collections::BTreeSet<i64> = r.agents.iter().map(|&i| tick[i] as i64).collect();
        ticks.iter().zip(ticks.iter().skip(1)).map(|(x, y)| y - x).min().unwrap_or(52) as f64 * d.tick_years
    };

    // Each born agent's category at 1, and at about 20.
    let mut infant: BTreeMap<u64, &str> = BTreeMap::new();
    let mut at20: BTreeMap<u64, &str> = BTreeMap::new();
    for &i in r.agents {
        if birth[i] >= 0.0 && !at1[i].is_empty() {
            infant.insert(id[i] as u64, at1[i]);
        }
        if birth[i] >= 0.0 && (19.0..21.0).contains(&age[i]) {
            at20.entry(id[i] as u64).or_insert(category[i]);
        }
    }
    let count = |c: &str| infant.values().filter(|v| **v == c).count();
    let n_inf = infant.len();
    let f1 = [
        share(count("secure"), n_inf),
        share(count("avoidant"), n_inf),
        share(count("anxious"), n_inf),
        share(count("disorganised"), n_inf),
    ];

    // F2: infants of mothers with cortisol at birth in the top fifth vs the rest.
    let b = &d.births;
    let (child, cortisol, sensitivity, mcat) =
        (b.num("child_id"), b.num("mother_cortisol"), b.num("mother_sensitivity"), b.text("mother_category"));
    let observed: Vec<usize> = r.births.iter().copied().filter(|&i| infant.contains_key(&(child[i] as u64))).collect();
    let mut cort: Vec<f64> = observed.iter().map(|&i| cortisol[i]).collect();
    cort.sort_by(f64::total_cmp);
    let cut = cort.get(cort.len() * 4 / 5).copied().unwrap_or(f64::INFINITY);
    let disorg = |high: bool| {
        let group: Vec<usize> = observed.iter().copied().filter(|&i| (cortisol[i] >= cut) == high).collect();
        share(group.iter().filter(|&&i| infant[&(child[i] as u64)] == "disorganised").count(), group.len())
    };
    let f2 = disorg(true) / disorg(false);

    // F3: adults at the last snapshot, three classes (disorganised left out, as unresolved).
    let adults: Vec<usize> = r.agents.iter().copied().filter(|&i| tick[i] == last && age[i] >= 18.0).collect();
    let classes = |c: &str| adults.iter().filter(|&&i| category[i] == c).count();
    let three = classes("secure") + classes("avoidant") + classes("anxious");
    let f3 = [share(classes("secure"), three), share(classes("avoidant"), three), share(classes("anxious"), three)];

    // F4-F7: dyads of mother (at the birth) and infant (at 1).
    let (mut sens, mut parent_secure, mut child_secure) = (Vec::new(), Vec::new(), Vec::new());
    for &i in &observed {
        sens.push(sensitivity[i]);
        parent_secure.push(f64::from(u8::from(mcat[i] == "secure")));
        child_secure.push(f64::from(u8::from(infant[&(child[i] as u64)] == "secure")));
    }
    let f4 = pearson(&sens, &child_secure);
    let concordant = parent_secure.iter().zip(&child_secure).filter(|(p, c)| p == c).count();
    let f5 = share(concordant, parent_secure.len());
    let f6 = pearson(&parent_secure, &child_secure);
    let (r_ps, r_sc) = (pearson(&parent_secure, &sens), f4);
    let beta_sc = (r_sc - r_ps * f6) / (1.0 - r_ps * r_ps);
    let f7 = r_ps * beta_sc / f6;

    // F8-F9: security at 1 and at about 20.
    let pairs: Vec<(u64, f64, f64)> = at20
        .iter()
        .filter_map(|(k, later)| {
            infant
                .get(k)
                .map(|early| (*k, f64::from(u8::from(*early == "secure")), f64::from(u8::from(*later == "secure"))))
        })
        .collect();
    let f8 = share(pairs.iter().filter(|(_, x, y)| x == y).count(), pairs.len());
    let (xs, ys): (Vec<f64>, Vec<f64>) = pairs.iter().map(|(_, x, y)| (*x, *y)).unzip();
    let f9 = pearson(&xs, &ys);
    let f8_events = {
        let troubled = negative_life_events(d, r);
        let same = |with: bool| {
            let group: Vec<&(u64, f64, f64)> = pairs.iter().filter(|(k, _, _)| troubled.contains(k) == with).collect();
            share(group.iter().filter(|(_, x, y)| x == y).count(), group.len())
        };
        same(true) / same(false)
    };

    // F10: insecure infants who are adults now, secure now.
    let insecure_adults: Vec<usize> =
        adults.iter().copied().filter(|&i| !at1[i].is_empty() && at1[i] != "secure").collect();
    let f10 = share(insecure_adults.iter().filter(|&&i| category[i] == "secure").count(), insecure_adults.len());

    // F11-F12: the network at the last snapshot.
    let n = &d.network;
    let (ntick, na, nb, nkind, nage) =
        (n.num("tick"), n.num("agent_a"), n.num("agent_b"), n.text("kind"), n.num("bond_age_ticks"));
    let adult_ids: BTreeSet<u64> = adults.iter().map(|&i| id[i] as u64).collect();
    let mut clique: BTreeMap<u64, f64> = BTreeMap::new();
    let mut sympathy: BTreeMap<u64, f64> = BTreeMap::new();
    let mut confidants: BTreeMap<u64, f64> = BTreeMap::new();
    let mut friends: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for &i in r.network.iter().filter(|&&i| ntick[i] == last) {
        let (x, y) = (na[i] as u64, nb[i] as u64);
        let k = nkind[i];
        for (me, other) in [(x, y), (y, x)] {
            if matches!(k, "parent_child" | "romantic" | "close_friend") {
                *clique.entry(me).or_default() += 1.0;
            }
            if k != "acquaintance" {
                *sympathy.entry(me).or_default() += 1.0;
            }
            if matches!(k, "romantic" | "close_friend") {
                *confidants.entry(me).or_default() += 1.0;
            }
            if matches!(k, "romantic" | "close_friend" | "friend") {
                friends.entry(me).or_default().insert(other);
            }
        }
    }
    let per_adult = |m: &BTreeMap<u64, f64>| {
        adult_ids.iter().map(|k| m.get(k).copied().unwrap_or(0.0)).sum::<f64>() / adult_ids.len().max(1) as f64
    };
    let (f11a, f11b) = (per_adult(&clique), per_adult(&sympathy));
    let clustering = {
        let mut total = 0.0;
        for neighbours in friends.values() {
            let k = neighbours.len();
            if k < 2 {
                continue;
            }
            let list: Vec<&u64> = neighbours.iter().collect();
            let mut links = 0usize;
            for (p, u) in list.iter().enumerate() {
                for v in &list[p + 1..] {
                    if friends.get(u).is_some_and(|s| s.contains(v)) {
                        links += 1;
                    }
                }
            }
            total += links as f64 / (k * (k - 1) / 2) as f64;
        }
        total / friends.len().max(1) as f64
    };
    let f12b = per_adult(&confidants);

    // F13: separations per couple-year by the couple's age; exposure from the snapshots.
    let (event, ekind, eage) = (d.events.text("event"), d.events.text("kind"), d.events.num("bond_age_ticks"));
    let band = |years: f64| {
        if years < 2.0 {
            Some(0)
        } else if (15.0..25.0).contains(&years) {
            Some(1)
        } else {
            None
        }
    };
    let mut separations = [0.0f64; 2];
    for &i in r.events {
        if event[i] == "separated"
            && ekind[i] == "romantic"
            && let Some(b) = band(eage[i] * d.tick_years)
        {
            separations[b] += 1.0;
        }
    }
    let mut exposure = [0.0f64; 2];
    for &i in r.network {
        if nkind[i] == "romantic"
            && let Some(b) = band(nage[i] * d.tick_years)
        {
            exposure[b] += interval;
        }
    }
    let f13 = (separations[1] / exposure[1]) / (separations[0] / exposure[0]);

    // F14: Mantel-Haenszel rate ratio of death, isolated (no close bond) vs integrated adults,
    // over 10-year age bands; person-time from the snapshots, deaths with their state at death.
    let mut time: BTreeMap<(u32, bool), f64> = BTreeMap::new();
    for &i in r.agents.iter().filter(|&&i| age[i] >= 18.0) {
        *time.entry(((age[i] / 10.0) as u32, close[i] == 0.0)).or_default() += interval;
    }
    let mut died: BTreeMap<(u32, bool), f64> = BTreeMap::new();
    let (dage, dclose) = (d.deaths.num("age_years"), d.deaths.num("close_bonds"));
    for &i in r.deaths.iter().filter(|&&i| dage[i] >= 18.0) {
        *died.entry(((dage[i] / 10.0) as u32, dclose[i] == 0.0)).or_default() += 1.0;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for band in time.keys().map(|(b, _)| *b).collect::<std::collections::BTreeSet<_>>() {
        let (t1, t0) =
            (time.get(&(band, true)).copied().unwrap_or(0.0), time.get(&(band, false)).copied().unwrap_or(0.0));
        let (d1, d0) =
            (died.get(&(band, true)).copied().unwrap_or(0.0), died.get(&(band, false)).copied().unwrap_or(0.0));
        let total = t1 + t0;
        if t1 > 0.0 && t0 > 0.0 {
            num += d1 * t0 / total;
            den += d0 * t1 / total;
        }
    }
    let f14 = num / den;

    vec![
        f1[0],
        f1[1],
        f1[2],
        f1[3],
        f2,
        f3[0],
        f3[1],
        f3[2],
        f4,
        f5,
        f6,
        f7,
        f8,
        f8_events,
        f9,
        f10,
        f11a,
        f11b,
        f11b / f11a,
        clustering,
        f12b,
        f13,
        f14,
    ]
}
