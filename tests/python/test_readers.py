"""The dataset, read the way analysts read it: pyarrow (pandas), polars and DuckDB, one line each."""

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds

TABLES = ["agents", "bond_events", "births", "deaths", "metrics"]


def test_pyarrow_and_pandas_read_each_table_with_its_partition_column(dataset):
    out, manifest = dataset
    for table in TABLES:
        t = ds.dataset(out / table, format="parquet", partitioning="hive").to_table()
        assert t.num_rows == manifest["tables"][table]["rows"], table
        df = t.to_pandas()
        assert set(df["run"].unique()) == {"readers-s11"}
    agents = pd.read_parquet(out / "agents")  # pandas with pyarrow: one line
    assert len(agents) == manifest["tables"]["agents"]["rows"]
    assert isinstance(agents["category"].dtype, pd.CategoricalDtype)
    assert str(agents["agent_id"].dtype) == "uint64"


def test_polars_reads_the_dataset_in_one_line(dataset):
    out, manifest = dataset
    agents = pl.read_parquet(out / "agents" / "**" / "*.parquet", hive_partitioning=True)
    assert agents.height == manifest["tables"]["agents"]["rows"]
    assert agents["run"].unique().to_list() == ["readers-s11"]
    assert agents.schema["category"] in (pl.Categorical, pl.Enum) or isinstance(agents.schema["category"], (pl.Categorical, pl.Enum))
    assert agents.schema["agent_id"] == pl.UInt64
    assert agents["cortisol"].is_nan().sum() == 0
    assert agents["cortisol"].min() >= 0 and agents["cortisol"].max() <= 1


def test_duckdb_reads_the_dataset_in_one_line(dataset):
    out, manifest = dataset
    n, runs = duckdb.execute(
        f"select count(*), count(distinct run) from read_parquet('{out}/agents/**/*.parquet', hive_partitioning = true)"
    ).fetchone()
    assert (n, runs) == (manifest["tables"]["agents"]["rows"], 1)


def test_the_three_readers_agree_on_an_analyst_question(dataset):
    """Adult attachment category shares at the last snapshot, and mean cortisol by category."""
    out, _ = dataset
    glob = str(out / "agents" / "**" / "*.parquet")

    pdf = pd.read_parquet(out / "agents")
    last = pdf[(pdf["tick"] == pdf["tick"].max()) & (pdf["age_years"] >= 18)]
    by_pandas = last.groupby("category", observed=True)["cortisol"].agg(["count", "mean"])
    by_pandas.index = by_pandas.index.astype(str)
    by_pandas = by_pandas.sort_index()

    pl_df = pl.read_parquet(glob, hive_partitioning=True)
    last_pl = pl_df.filter((pl.col("tick") == pl.col("tick").max()) & (pl.col("age_years") >= 18))
    by_polars = (
        last_pl.group_by(pl.col("category").cast(pl.Utf8))
        .agg(pl.len().alias("count"), pl.col("cortisol").mean().alias("mean"))
        .sort("category")
    )

    by_duckdb = duckdb.execute(
        f"""select category::varchar as category, count(*) as count, avg(cortisol) as mean
            from read_parquet('{glob}', hive_partitioning = true)
            where tick = (select max(tick) from read_parquet('{glob}')) and age_years >= 18
            group by 1 order by 1"""
    ).fetchall()

    assert len(by_duckdb) >= 2, "several attachment categories among adults"
    assert [r[0] for r in by_duckdb] == list(by_pandas.index) == by_polars["category"].to_list()
    for (cat, count, mean), (pcount, pmean), (lcount, lmean) in zip(
        by_duckdb, by_pandas[["count", "mean"]].itertuples(index=False), by_polars.select("count", "mean").iter_rows()
    ):
        assert count == pcount == lcount, cat
        assert abs(mean - pmean) < 1e-12 and abs(mean - lmean) < 1e-12, cat


def test_births_join_to_their_mothers_across_tables(dataset):
    out, _ = dataset
    joined = duckdb.execute(
        f"""select count(*) as births, count(m.agent_id) as mothers_seen
            from read_parquet('{out}/births/**/*.parquet') b
            left join (select distinct agent_id from read_parquet('{out}/agents/**/*.parquet')) m
              on m.agent_id = b.mother_id"""
    ).fetchone()
    births, mothers_seen = joined
    assert births > 0
    # Every mother was alive at some yearly snapshot (she was an adult for at least a year).
    assert mothers_seen == births


def test_metrics_account_for_births_and_deaths(dataset):
    out, manifest = dataset
    m = pl.read_parquet(out / "metrics" / "**" / "*.parquet", hive_partitioning=True).sort("tick")
    assert m.height == manifest["ticks"]
    births = pl.read_parquet(out / "births" / "**" / "*.parquet").height
    deaths = pl.read_parquet(out / "deaths" / "**" / "*.parquet").height
    assert m["births"].sum() == births and m["deaths"].sum() == deaths
    assert m["population"][-1] == 500 + births - deaths


def test_the_example_script_reproduces_two_report_plots(dataset):
    import subprocess
    import sys
    from pathlib import Path

    out, _ = dataset
    script = Path(__file__).resolve().parents[2] / "examples" / "plots.py"
    result = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, check=True)
    assert "mean layer sizes" in result.stdout
    for name in ["population.png", "degrees.png"]:
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, name
