#!/usr/bin/env python3
"""Random human-written dates and their ISO 8601 form, for the default demo model.

    python3 tools/dates.py --heldout data/dates-heldout.tsv      # writes the 2,000 held-out pairs
    python3 tools/dates.py --show 20 --seed 7                     # prints a sample

Standard library only. Conventions (documented in data/README.md too):

- Dates are uniform over 1950-01-01 .. 2050-12-31. The target is always `YYYY-MM-DD`.
- Purely numeric day/month formats are always DAY FIRST (European: `24/11/2026`, `24.11.26`, `5-3-1999`
  is 5 March). Month-first appears only with a month name (`Nov 24 2026`, `November 24th, 2026`).
  Formats that start with a four-digit year are year-month-day (`2026 11 24`, `2026/11/24`).
- Two-digit years: 00-49 mean 2000-2049, 50-99 mean 1950-1999 (so 2050 is never written with two digits).
- Weekday names, when present, always agree with the date.
- Case varies (as written, lower, UPPER, Capitalized words) and so does spacing (an occasional double
  space, no space after a comma).

The held-out set is drawn with its own seed (HELDOUT_SEED) and training (tools/train_dates.py) skips every
source string that is in it, so the two are disjoint as strings.
"""
import argparse
import datetime
import random

TRAIN_SEED = 20261124
HELDOUT_SEED = 99
HELDOUT_SIZE = 2000

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FIRST = datetime.date(1950, 1, 1).toordinal()
LAST = datetime.date(2050, 12, 31).toordinal()

# Source alphabet of the model: every character a generated date can contain (and a full alphabet).
SOURCE_CHARS = ([" "] + list("0123456789") + list("abcdefghijklmnopqrstuvwxyz")
                + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + list(",./-'"))
TARGET_CHARS = list("0123456789-")
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]


def ordinal(d):
    if 10 <= d % 100 <= 20:
        suf = "th"
    else:
        suf = {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suf}"


def mon_abbr(rng, m):
    if m == 9 and rng.random() < 0.3:
        return "Sept"
    return MONTHS[m - 1][:3]


def wk_abbr(rng, w):
    return WEEKDAYS[w][:3]


def yy(date):
    return f"{date.year % 100:02d}"


def two_digit_ok(date):
    return date.year <= 2049


def fmt(rng, date):
    """One human rendering of `date` (before case and spacing noise)."""
    d, m, y = date.day, date.month, date.year
    M = MONTHS[m - 1]
    W = WEEKDAYS[date.weekday()]
    dd, mm = f"{d:02d}", f"{m:02d}"
    dz = dd if rng.random() < 0.5 else str(d)
    mz = mm if rng.random() < 0.5 else str(m)
    choices = [
        lambda: f"{W}, {d} {M} {y}",
        lambda: f"{W} {d} {M} {y}",
        lambda: f"{wk_abbr(rng, date.weekday())}, {d} {mon_abbr(rng, m)} {y}",
        lambda: f"{W}, {M} {d}, {y}",
        lambda: f"{wk_abbr(rng, date.weekday())} {mon_abbr(rng, m)} {d} {y}",
        lambda: f"{d} {M} {y}",
        lambda: f"{d} {mon_abbr(rng, m)} {y}",
        lambda: f"{dz}/{mz}/{y}",
        lambda: f"{dz}-{mz}-{y}",
        lambda: f"{dz}.{mz}.{y}",
        lambda: f"{M} {d} {y}",
        lambda: f"{M} {d}, {y}",
        lambda: f"{mon_abbr(rng, m)} {d} {y}",
        lambda: f"{mon_abbr(rng, m)} {d}, {y}",
        lambda: f"{mon_abbr(rng, m)}. {d}, {y}",
        lambda: f"{y} {mm} {dd}",
        lambda: f"{y}/{mm}/{dd}",
        lambda: f"{y}-{mm}-{dd}",
        lambda: f"{y}.{mm}.{dd}",
        lambda: f"the {ordinal(d)} of {M}, {y}",
        lambda: f"the {ordinal(d)} of {M} {y}",
        lambda: f"{ordinal(d)} {M} {y}",
        lambda: f"{M} {ordinal(d)}, {y}",
        lambda: f"{M} {ordinal(d)} {y}",
        lambda: f"{W}, the {ordinal(d)} of {M}, {y}",
        lambda: f"{dd}-{mon_abbr(rng, m)}-{y}",
        lambda: f"{d} {M}, {y}",
    ]
    if two_digit_ok(date):
        choices += [
            lambda: f"{dz}.{mz}.{yy(date)}",
            lambda: f"{dz}/{mz}/{yy(date)}",
            lambda: f"{dz}-{mz}-{yy(date)}",
            lambda: f"{dd}-{mon_abbr(rng, m)}-{yy(date)}",
            lambda: f"{d} {mon_abbr(rng, m)} '{yy(date)}",
            lambda: f"{mon_abbr(rng, m)} {d} '{yy(date)}",
        ]
    return rng.choice(choices)()


def cap_words(s):
    return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))


def noise(rng, s):
    r = rng.random()
    if r < 0.2:
        s = s.lower()
    elif r < 0.32:
        s = s.upper()
    elif r < 0.42:
        s = cap_words(s)
    if rng.random() < 0.08:
        s = s.replace(", ", ",")
    if rng.random() < 0.08 and " " in s:
        idx = [i for i, ch in enumerate(s) if ch == " "]
        i = rng.choice(idx)
        s = s[:i] + " " + s[i:]
    return s


def random_date(rng):
    return datetime.date.fromordinal(rng.randint(FIRST, LAST))


def sample(rng):
    date = random_date(rng)
    return noise(rng, fmt(rng, date)), date.isoformat()


def stream(seed, exclude=frozenset()):
    rng = random.Random(seed)
    while True:
        s, t = sample(rng)
        if s not in exclude:
            yield s, t


def heldout(n=HELDOUT_SIZE, seed=HELDOUT_SEED):
    """n distinct (source, target) pairs; the fixed lines below are always included."""
    fixed = [("Tuesday, 24 November 2026", "2026-11-24")]
    out, seen = list(fixed), {s for s, _ in fixed}
    for s, t in stream(seed):
        if len(out) >= n:
            break
        if s not in seen:
            seen.add(s)
            out.append((s, t))
    return out


def read_tsv(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln:
                s, t = ln.split("\t")
                pairs.append((s, t))
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heldout", metavar="TSV", help="write the held-out set (source<TAB>target) here")
    ap.add_argument("--show", type=int, default=0, help="print this many random samples")
    ap.add_argument("--seed", type=int, default=TRAIN_SEED)
    a = ap.parse_args()
    if a.heldout:
        pairs = heldout()
        with open(a.heldout, "w", encoding="utf-8", newline="\n") as f:
            for s, t in pairs:
                assert "\t" not in s and "\n" not in s
                f.write(f"{s}\t{t}\n")
        print(f"wrote {len(pairs)} pairs to {a.heldout}")
    if a.show:
        rng = random.Random(a.seed)
        for _ in range(a.show):
            s, t = sample(rng)
            print(f"{s!r:45} -> {t}")


if __name__ == "__main__":
    main()
