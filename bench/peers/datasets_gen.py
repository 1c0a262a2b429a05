"""Writes a CSV of about SIZE_MB megabytes with 10 mixed columns for the datasets benchmark:
id, user, email, age, score, country, signup, active, amount, note. About 1% of the values are
missing or invalid (negative ages, malformed emails, unknown countries), and some notes are quoted
with commas and doubled quotes inside. Deterministic (seeded).

    datasets_gen.py OUT.csv SIZE_MB
"""
import sys

import numpy as np

COUNTRIES = np.array(["US", "DE", "FR", "GB", "IN", "BR", "JP", "CN", "CA", "AU",
                      "ES", "IT", "NL", "SE", "PL", "MX", "KR", "ZA", "NG", "AR"])
WORDS = np.array(["alpha", "beta", "gamma", "delta", "red", "green", "blue", "fast", "slow", "ok"])


def chunk(rng, start, n):
    ids = range(start, start + n)
    users = (np.arange(start, start + n) * 7919 % 1000003).tolist()
    domain = rng.choice(np.array(["example.com", "mail.org", "corp.net", "bad"]), n, p=[0.5, 0.3, 0.19, 0.01]).tolist()
    age = rng.integers(18, 90, n)
    age[rng.random(n) < 0.005] = -1
    score = np.round(rng.normal(50, 15, n), 3).tolist()
    country = rng.choice(COUNTRIES, n)
    country[rng.random(n) < 0.005] = "XX"
    days = rng.integers(0, 3650, n)
    signup = np.datetime_as_string(np.datetime64("2015-01-01") + days.astype("timedelta64[D]"), unit="D").tolist()
    active = rng.choice(np.array(["true", "false"]), n).tolist()
    amount = np.round(rng.exponential(120, n), 2).tolist()
    missing = (rng.random(n) < 0.01).tolist()
    w = rng.integers(0, len(WORDS), (n, 3))
    words = WORDS.tolist()
    quoted = (rng.random(n) < 0.05).tolist()
    age, country, w = age.tolist(), country.tolist(), w.tolist()
    out = []
    for i, id_ in enumerate(ids):
        note = words[w[i][0]] + " " + words[w[i][1]] + " " + words[w[i][2]]
        if quoted[i]:
            note = '"' + note + ', and ""more"""'
        u = users[i]
        out.append(f"{id_},user_{u},user_{u}@{domain[i]},{age[i]},{score[i]},{country[i]},{signup[i]},{active[i]},"
                   f"{'' if missing[i] else amount[i]},{note}\n")
    return "".join(out)


def main():
    out, size_mb = sys.argv[1], float(sys.argv[2])
    target = int(size_mb * 1024 * 1024)
    rng = np.random.default_rng(42)
    written, start = 0, 1
    with open(out, "w") as f:
        header = "id,user,email,age,score,country,signup,active,amount,note\n"
        f.write(header)
        written += len(header)
        while written < target:
            text = chunk(rng, start, 200000)
            if written + len(text) > target:
                lines = text.splitlines(keepends=True)
                take = []
                for line in lines:
                    if written + len(line) > target:
                        break
                    take.append(line)
                    written += len(line)
                f.write("".join(take))
                break
            f.write(text)
            written += len(text)
            start += 200000


if __name__ == "__main__":
    main()
