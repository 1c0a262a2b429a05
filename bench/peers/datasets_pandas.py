"""The datasets benchmark's peer: the same validation rules and profile as bench/datasets_schema.json,
written the way a pandas user would (Debian's python3-pandas): read the CSV, check each rule
vectorised, then describe/nunique/quantiles/value_counts/duplicated/corr. Prints seconds and MB/s for
the whole job and the peak RSS.

    datasets_pandas.py FILE.csv
"""
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

COUNTRIES = ["US", "DE", "FR", "GB", "IN", "BR", "JP", "CN", "CA", "AU",
             "ES", "IT", "NL", "SE", "PL", "MX", "KR", "ZA", "NG", "AR"]


def main():
    path = sys.argv[1]
    size_mb = os.path.getsize(path) / 1e6
    t0 = time.time()
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    failures = {}

    def count(name, mask):
        failures[name] = int(mask.sum())

    ids = pd.to_numeric(df["id"], errors="coerce")
    count("id.type", df["id"].notna() & (ids.isna() | (ids % 1 != 0)))
    count("id.not_null", df["id"].isna())
    count("id.monotonic", ids.diff() <= 0)
    count("user.not_null", df["user"].isna())
    lens = df["user"].str.len()
    count("user.length", df["user"].notna() & ((lens < 5) | (lens > 20)))
    count("email.regex", df["email"].notna() & ~df["email"].str.contains(r"^[^@]+@[^@]+\.[a-z]+$", regex=True, na=False))
    age = pd.to_numeric(df["age"], errors="coerce")
    count("age.type", df["age"].notna() & (age.isna() | (age % 1 != 0)))
    count("age.range", age.notna() & ((age < 0) | (age > 120)))
    score = pd.to_numeric(df["score"], errors="coerce")
    count("score.type", df["score"].notna() & score.isna())
    count("score.range", score.notna() & ((score < -50) | (score > 150)))
    count("country.enum", df["country"].notna() & ~df["country"].isin(COUNTRIES))
    signup = pd.to_datetime(df["signup"], format="%Y-%m-%d", errors="coerce")
    count("signup.type", df["signup"].notna() & signup.isna())
    count("signup.date_range", signup.notna() & ((signup < "2015-01-01") | (signup > "2025-12-31")))
    count("active.type", df["active"].notna() & ~df["active"].str.lower().isin(["true", "false", "t", "f", "yes", "no", "1", "0"]))
    count("active.not_null", df["active"].isna())
    amount = pd.to_numeric(df["amount"], errors="coerce")
    count("amount.type", df["amount"].notna() & amount.isna())
    count("amount.range", amount.notna() & (amount < 0))
    count("note.length", df["note"].notna() & (df["note"].str.len() > 200))
    t_validate = time.time() - t0

    numeric = pd.DataFrame({"id": ids, "age": age, "score": score, "amount": amount})
    profile = {
        "count": df.count().to_dict(),
        "missing": df.isna().sum().to_dict(),
        "distinct": df.nunique().to_dict(),
        "describe": numeric.describe(percentiles=[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]).to_dict(),
        "top": {c: df[c].value_counts().head(10).to_dict() for c in df.columns},
        "lengths": {c: df[c].str.len().describe().to_dict() for c in df.columns},
        "histogram": {c: np.histogram(numeric[c].dropna(), bins=10)[0].tolist() for c in numeric.columns},
        "duplicates": int(df.duplicated().sum()),
        "corr": numeric.corr().to_dict(),
    }
    total = time.time() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("pandas: %d rows, %d failures; validate %.2f s, validate + profile %.2f s = %.1f MB/s; peak RSS %.0f MB"
          % (len(df), sum(failures.values()), t_validate, total, size_mb / total, rss_mb))
    assert profile["duplicates"] >= 0


if __name__ == "__main__":
    main()
