# %% [markdown]
# # Exploring the weaksignal lake and alerts
#
# The lake is plain Hive-partitioned Parquet, so any tool reads it. This notebook uses
# DuckDB (`pip install duckdb`); the same queries run in polars (shown at the end).
# Run it top to bottom with `python3 notebooks-data/explore.py [CITY_DIR]`, or cell by
# cell in VS Code / Jupyter. CITY_DIR defaults to `weaksignal-demo/` (what `weaksignal demo`
# creates).
#
# Remember: the unit of analysis is the compound and the issue. `reporter_key` is a keyed
# pseudonym for counting distinct and repeat households; never list or rank it.

# %%
import pathlib
import sys

import duckdb

city = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "weaksignal-demo")
lake = city / "lake"
alerts = city / "output" / "alerts"
db = duckdb.connect()
db.execute(
    f"""CREATE VIEW records AS SELECT * FROM read_parquet(
        '{lake}/records/*/*/*.parquet', hive_partitioning = true)"""
)

# %% [markdown]
# ## What is in the lake: records per channel and month, and how well addresses resolved

# %%
print(
    db.sql(
        """SELECT channel, month, COUNT(*) AS records,
                  ROUND(AVG(CASE WHEN compound_id IS NOT NULL THEN 1 ELSE 0 END), 3) AS resolved
           FROM records GROUP BY channel, month ORDER BY month DESC, channel LIMIT 12"""
    )
)
print(db.sql("SELECT match_method, COUNT(*) AS n FROM records GROUP BY 1 ORDER BY n DESC"))

# %% [markdown]
# On the demo city, `truth/records.csv` gives each record's true compound: how often each
# resolution method is right (on real data there is no truth; the run manifest's
# `unmatched` list shows which addresses to add aliases or a place column for).

# %%
truth = city / "truth" / "records.csv"
if truth.exists():
    print(
        db.sql(
            f"""SELECT r.match_method, COUNT(*) AS records,
                      COUNT(*) FILTER (WHERE r.compound_id = t.compound_id) AS right,
                      COUNT(*) FILTER (WHERE r.compound_id <> t.compound_id) AS wrong
               FROM records r JOIN read_csv('{truth}', all_varchar = true) t USING (record_id)
               GROUP BY 1 ORDER BY records DESC"""
        )
    )

# %% [markdown]
# ## The latest alerts: red and yellow compounds, with their reasons

# %%
latest = sorted(alerts.glob("as_of=*"))[-1]
print("alerts of", latest.name)
db.execute(f"CREATE VIEW alerts AS SELECT * FROM read_parquet('{latest}/alerts.parquet')")
print(db.sql("DESCRIBE alerts"))
print(
    db.sql(
        """SELECT name, street, level, score, top_category, first_raised
           FROM alerts WHERE level <> 'green' ORDER BY score DESC LIMIT 20"""
    )
)

# %% [markdown]
# ## One compound's weekly series by category (what the trend detectors see)

# %%
top = db.sql("SELECT compound_id FROM alerts ORDER BY score DESC LIMIT 1").fetchall()
top = top[0] if top else None
if top:
    print(
        db.sql(
            f"""SELECT date_trunc('week', received_at) AS week, category_l2, COUNT(*) AS n,
                       SUM(CASE WHEN satisfaction = 'dissatisfied' THEN 1 ELSE 0 END) AS dissatisfied
                FROM records WHERE compound_id = '{top[0]}'
                GROUP BY 1, 2 ORDER BY 1 DESC, n DESC LIMIT 30"""
        )
    )

# %% [markdown]
# ## Distinct and repeat households per compound (counts only, never the keys)

# %%
print(
    db.sql(
        """SELECT compound_id, COUNT(DISTINCT reporter_key) AS households,
                  COUNT(*) - COUNT(DISTINCT reporter_key) AS repeat_calls
           FROM records
           WHERE compound_id IS NOT NULL
             AND received_at >= (SELECT MAX(received_at) FROM records) - INTERVAL 28 DAY
           GROUP BY compound_id ORDER BY repeat_calls DESC LIMIT 10"""
    )
)

# %% [markdown]
# ## The grid grading of the half-year (红/黄/绿 per grid; the report lists only the red and
# yellow grids of a district with more than 100)

# %%
grades = latest / "grid_grades.csv"
if grades.exists():
    print(
        db.sql(
            f"""SELECT level, COUNT(*) AS grids, ROUND(AVG(per_1000), 1) AS mean_per_1000,
                       SUM(petitions) AS petitions
                FROM read_csv('{grades}') GROUP BY level ORDER BY grids"""
        )
    )

# %% [markdown]
# ## The same in polars (`pip install polars`)
#
# ```python
# import polars as pl
# rec = pl.scan_parquet(f"{lake}/records/*/*/*.parquet", hive_partitioning=True)
# rec.group_by("channel", "month").len().sort("month").collect()
# pl.read_parquet(f"{latest}/alerts.parquet").filter(pl.col("level") != "green")
# ```
