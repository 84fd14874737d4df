"""Analyst questions across tables of a sweep, answered by polars, pandas and DuckDB alike."""

import subprocess

import duckdb
import networkx as nx
import pandas as pd
import polars as pl
import pytest

from conftest import bondsim_bin

SWEEP = """
[experiment]
name = "analysts"
seed = 8

[population]
founders = 400

[time]
years = 15.0

[record]
agents_every_ticks = 52

[sweep]
replicates = 2

[[sweep.scenarios]]
name = "connected"

[[sweep.scenarios]]
name = "isolated"
set = { "model.contact.weekly_social_hours" = 8.0 }
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    config = tmp / "sweep.toml"
    config.write_text(SWEEP)
    out = tmp / "out"
    subprocess.run([bondsim_bin(), "sweep", "run", str(config), "--out", str(out), "--quiet"], check=True)
    return out


def scan(out, table):
    return f"read_parquet('{out}/{table}/**/*.parquet', hive_partitioning = true)"


def pl_read(out, table):
    return pl.read_parquet(out / table / "**" / "*.parquet", hive_partitioning=True)


def pd_read(out, table):
    return pd.read_parquet(out / table)


def test_the_sweep_reads_as_one_table_with_its_keys_as_columns(sweep):
    runs = duckdb.execute(f"select count(distinct run), count(distinct scenario), count(distinct replicate) from {scan(sweep, 'metrics')}").fetchone()
    assert runs == (4, 2, 2)
    assert set(pl_read(sweep, "agents")["scenario"].unique()) == {"connected", "isolated"}
    assert set(pd_read(sweep, "deaths")["scenario"].astype(str).unique()) <= {"connected", "isolated"}


def test_attachment_class_by_generation(sweep):
    sql = f"""select generation, category_age1::varchar as category, count(*) as n
              from (select distinct run, agent_id, generation, category_age1 from {scan(sweep, 'agents')}
                    where category_age1 is not null)
              group by all order by all"""
    by_duckdb = duckdb.execute(sql).fetchall()
    a = pl_read(sweep, "agents").filter(pl.col("category_age1").is_not_null())
    by_polars = (
        a.select("run", "agent_id", "generation", pl.col("category_age1").cast(pl.Utf8).alias("category"))
        .unique()
        .group_by("generation", "category")
        .len()
        .sort("generation", "category")
        .rows()
    )
    p = pd_read(sweep, "agents").dropna(subset=["category_age1"])
    p = p.assign(category=p["category_age1"].astype(str), run=p["run"].astype(str))
    p = p[["run", "agent_id", "generation", "category"]].drop_duplicates()
    by_pandas = [tuple(r) for r in p.groupby(["generation", "category"]).size().reset_index().itertuples(index=False)]
    assert len(by_duckdb) >= 3
    assert by_duckdb == [tuple(r) for r in by_polars] == by_pandas


def ntile(i, n, buckets=5):
    """SQL's NTILE: bucket (1-based) of row i of n; the first n % buckets buckets get one more."""
    size, rem = divmod(n, buckets)
    big = rem * (size + 1)
    return i // (size + 1) + 1 if i < big else rem + (i - big) // size + 1


def test_mortality_by_isolation_quintile(sweep):
    """Adults at year 5 by quintile of loneliness; the share of them dead by the end."""
    tick = 5 * 52
    sql = f"""with base as (select run, agent_id, ntile(5) over (order by loneliness, run, agent_id) as q
                           from {scan(sweep, 'agents')} where tick = {tick} and age_years >= 30),
                   dead as (select run, agent_id from {scan(sweep, 'deaths')} where tick > {tick})
              select q, count(*) as n, avg((dead.agent_id is not null)::int) as died
              from base left join dead using (run, agent_id) group by q order by q"""
    by_duckdb = duckdb.execute(sql).fetchall()

    a = pl_read(sweep, "agents").filter((pl.col("tick") == tick) & (pl.col("age_years") >= 30))
    a = a.sort("loneliness", "run", "agent_id")
    a = a.with_columns(q=pl.Series([ntile(i, a.height) for i in range(a.height)]))
    d = pl_read(sweep, "deaths").filter(pl.col("tick") > tick).select("run", "agent_id").with_columns(died=pl.lit(1))
    by_polars = (
        a.join(d, on=["run", "agent_id"], how="left")
        .group_by("q")
        .agg(pl.len().alias("n"), pl.col("died").fill_null(0).mean().alias("died"))
        .sort("q")
        .rows()
    )
    p = pd_read(sweep, "agents")
    p = p[(p["tick"] == tick) & (p["age_years"] >= 30)].copy()
    p["run"] = p["run"].astype(str)
    p = p.sort_values(["loneliness", "run", "agent_id"], kind="mergesort").reset_index(drop=True)
    p["q"] = [ntile(i, len(p)) for i in range(len(p))]
    dd = pd_read(sweep, "deaths")
    dd = dd[dd["tick"] > tick][["run", "agent_id"]].assign(died=1)
    dd["run"] = dd["run"].astype(str)
    m = p.merge(dd, on=["run", "agent_id"], how="left").fillna({"died": 0})
    by_pandas = [(int(q), int(g["died"].size), float(g["died"].mean())) for q, g in m.groupby("q")]
    assert len(by_duckdb) == 5
    for (q1, n1, d1), (q2, n2, d2), (q3, n3, d3) in zip(by_duckdb, by_polars, by_pandas):
        assert q1 == q2 == q3 and n1 == n2 == n3
        assert abs(d1 - d2) < 1e-12 and abs(d1 - d3) < 1e-12


def test_bond_survival_by_kind(sweep):
    """Ended bonds by kind: how many, and their median age in ticks."""
    sql = f"""select kind::varchar as kind, count(*) as n, quantile_cont(bond_age_ticks::double, 0.5) as median_age
              from {scan(sweep, 'bond_events')} where event in ('broken', 'separated', 'bereaved', 'lost')
              group by 1 order by 1"""
    by_duckdb = duckdb.execute(sql).fetchall()
    e = pl_read(sweep, "bond_events").filter(pl.col("event").cast(pl.Utf8).is_in(["broken", "separated", "bereaved", "lost"]))
    by_polars = (
        e.group_by(pl.col("kind").cast(pl.Utf8))
        .agg(pl.len().alias("n"), pl.col("bond_age_ticks").median().alias("median_age"))
        .sort("kind")
        .rows()
    )
    p = pd_read(sweep, "bond_events")
    p = p[p["event"].astype(str).isin(["broken", "separated", "bereaved", "lost"])]
    g = p.assign(kind=p["kind"].astype(str)).groupby("kind")["bond_age_ticks"]
    by_pandas = list(zip(g.size().index, g.size().values, g.median().values))
    assert len(by_duckdb) >= 3
    for (k1, n1, m1), (k2, n2, m2), (k3, n3, m3) in zip(by_duckdb, by_polars, by_pandas):
        assert k1 == k2 == k3 and n1 == n2 == n3
        assert abs(float(m1) - float(m2)) < 1e-9 and abs(float(m1) - float(m3)) < 1e-9


def test_births_joined_to_both_parents_histories(sweep):
    """Births by the mother's and the father's attachment category at the last snapshot before."""
    sql = f"""with b as (select run, child_id, mother_id, father_id, tick, (tick // 52) * 52 as snap from {scan(sweep, 'births')}
                         where tick >= 52),
                   a as (select run, agent_id, tick, category::varchar as category, bonds_lost from {scan(sweep, 'agents')})
              select m.category as mother, f.category as father, count(*) as n, sum(m.bonds_lost + f.bonds_lost) as lost
              from b join a m on m.run = b.run and m.agent_id = b.mother_id and m.tick = b.snap
                     join a f on f.run = b.run and f.agent_id = b.father_id and f.tick = b.snap
              group by all order by all"""
    by_duckdb = duckdb.execute(sql).fetchall()
    b = pl_read(sweep, "births").filter(pl.col("tick") >= 52).with_columns(snap=(pl.col("tick") // 52) * 52)
    a = pl_read(sweep, "agents").select("run", "agent_id", "tick", pl.col("category").cast(pl.Utf8), "bonds_lost")
    joined = b.join(a, left_on=["run", "mother_id", "snap"], right_on=["run", "agent_id", "tick"]).join(
        a, left_on=["run", "father_id", "snap"], right_on=["run", "agent_id", "tick"], suffix="_father"
    )
    by_polars = (
        joined.group_by(pl.col("category").alias("mother"), pl.col("category_father").alias("father"))
        .agg(pl.len().alias("n"), (pl.col("bonds_lost") + pl.col("bonds_lost_father")).sum().alias("lost"))
        .sort("mother", "father")
        .rows()
    )
    pb = pd_read(sweep, "births")
    pb = pb[pb["tick"] >= 52].assign(snap=lambda d: (d["tick"] // 52) * 52, run=lambda d: d["run"].astype(str))
    pa = pd_read(sweep, "agents")[["run", "agent_id", "tick", "category", "bonds_lost"]]
    pa = pa.assign(run=pa["run"].astype(str), category=pa["category"].astype(str))
    mj = pb.merge(pa, left_on=["run", "mother_id", "snap"], right_on=["run", "agent_id", "tick"])
    fj = mj.merge(pa, left_on=["run", "father_id", "snap"], right_on=["run", "agent_id", "tick"], suffixes=("", "_father"))
    g = fj.assign(lost=fj["bonds_lost"] + fj["bonds_lost_father"]).groupby(["category", "category_father"])
    by_pandas = [(m, f, int(n), int(l)) for (m, f), n, l in zip(g.size().index, g.size().values, g["lost"].sum().values)]
    assert sum(r[2] for r in by_duckdb) > 20, "enough births with both parents observed"
    assert [tuple(r) for r in by_duckdb] == [tuple(r) for r in by_polars] == by_pandas


def test_a_network_snapshot_loads_into_networkx(sweep):
    edges = pl_read(sweep, "network")
    run = sorted(edges["run"].unique())[0]
    tick = edges["tick"].max()
    snap = edges.filter((pl.col("run") == run) & (pl.col("tick") == tick))
    g = nx.from_edgelist((a, b, {"kind": k, "strength": s}) for a, b, k, s in snap.select("agent_a", "agent_b", "kind", "strength").iter_rows())
    assert g.number_of_edges() == snap.height > 0
    # The snapshot agrees with the agents table: each agent's degree is its number of bonds.
    agents = pl_read(sweep, "agents").filter((pl.col("run") == run) & (pl.col("tick") == tick))
    degrees = dict(g.degree())
    for agent_id, bonds in agents.select("agent_id", "bonds").iter_rows():
        assert degrees.get(agent_id, 0) == bonds
    assert 0.0 <= nx.average_clustering(g) <= 1.0
