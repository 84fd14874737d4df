"""Two of the report's plots from the Parquet files, as a starting point for your own analysis.

    python3 examples/plots.py out/baseline            # writes out/baseline/population.png
                                                      # and out/baseline/degrees.png

Needs polars and matplotlib (python3 -m pip install polars matplotlib).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files, no window
import matplotlib.pyplot as plt
import polars as pl

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/baseline")

# 1. Population over time, one line per run (the report's "Population over time").
metrics = pl.read_parquet(out / "metrics" / "**" / "*.parquet", hive_partitioning=True)
tick_years = 7 / 365.25  # the tick length is in each file's metadata: bondsim.tick_days
fig, ax = plt.subplots(figsize=(7, 4))
for (run,), rows in metrics.sort("tick").group_by("run", maintain_order=True):
    ax.plot(rows["tick"] * tick_years, rows["population"], label=run)
ax.set(title="Population", xlabel="years", ylabel="agents", ylim=(0, None))
ax.legend(fontsize="small")
fig.savefig(out / "population.png", dpi=120, bbox_inches="tight")

# 2. Degree distribution and layer sizes of adults at the last snapshot (the report's
#    "Degree distribution and layer sizes").
agents = pl.read_parquet(out / "agents" / "**" / "*.parquet", hive_partitioning=True)
adults = agents.filter((pl.col("tick") == pl.col("tick").max()) & (pl.col("age_years") >= 18))
fig, ax = plt.subplots(figsize=(7, 4))
for column, label in [("bonds", "all bonds (sympathy group)"), ("close_bonds", "close bonds (support clique)")]:
    shares = adults.group_by(column).len().sort(column).with_columns(share=100 * pl.col("len") / adults.height)
    ax.plot(shares[column], shares["share"], marker="o", label=label)
ax.set(title="Degree distribution", xlabel="bonds", ylabel="% of adults")
ax.legend()
fig.savefig(out / "degrees.png", dpi=120, bbox_inches="tight")

print(f"mean layer sizes: {adults['close_bonds'].mean():.1f} close bonds, {adults['bonds'].mean():.1f} bonds in all")
print(f"wrote {out / 'population.png'} and {out / 'degrees.png'}")
