"""A deterministic generator of STEDI-shaped landing JSON, with the row counts it implies.

`scale` 1 is about the course data's size (956 customers, ~81k accelerometer and ~29k step-trainer
readings). The shape follows the course data: about half the customers consent to research (some
only after their first readings), several accelerometer readings per millisecond per customer, one
step-trainer reading per reading millisecond, millisecond collisions between customers, and a few
emails with more than one record (the newest decides consent).

Expected counts come from what the generator chose to write, never from running the pipeline:
customers are written in small blocks whose time windows don't overlap, so the pairing count of
machine_learning_curated is summed block by block and memory stays flat as `scale` grows.
"""

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

COURSE_CUSTOMERS = 956
BLOCK_CUSTOMERS = 16  # customers sharing one time window (and so able to collide)
BLOCK_GRID_POINTS = 8_400  # 10 ms grid points per block window: ~5% cross-customer collisions
GRID_MS = 10
START_MS = 1_655_000_000_000
ROWS_PER_FILE = 100_000
AXIS_VALUES = [str(v / 10) for v in range(-10, 11)]  # accelerometer x, y, z: -1.0 ... 1.0
DISTANCES = range(180, 301)

FIRST = ("Santosh", "Ben", "Frank", "Jerry", "Sarah", "Lyn", "Danny", "Liz", "Chris", "Spencer")
LAST = ("Clayton", "Khatib", "Doshi", "Mitra", "Lincoln", "Ahmed", "Abram", "Hansen", "Stark")


TABLE_NAMES = (
    "customer_landing",
    "accelerometer_landing",
    "step_trainer_landing",
    "customer_trusted",
    "accelerometer_trusted",
    "step_trainer_trusted",
    "customer_curated",
    "machine_learning_curated",
    "step_features_curated",  # one row per training pair
)
MODES = ("any_time", "from_consent_date")
# The tables with one row per training pair
PAIR_TABLES = ("machine_learning_curated", "step_features_curated")


@dataclass
class Counts:
    """Row counts per consent mode and table, and machine_learning_curated's count with
    same-customer pairing, accumulated while writing."""

    tables: dict[str, dict[str, int]] = field(
        default_factory=lambda: {mode: dict.fromkeys(TABLE_NAMES, 0) for mode in MODES}
    )
    same_customer_pairs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))

    def add(self, table: str, n: int = 1, modes: tuple[str, ...] = MODES) -> None:
        for mode in modes:
            self.tables[mode][table] += n

    def expectations(self) -> dict:
        """The expectations file's `tables` (default settings) and `variants` (overrides)."""
        defaults, from_consent = self.tables["any_time"], self.tables["from_consent_date"]
        changed = {t: n for t, n in from_consent.items() if n != defaults[t]}
        return {
            "tables": defaults,
            "variants": {
                "consent_mode=from_consent_date": changed,
                "ml_pairing=same_customer": dict.fromkeys(
                    PAIR_TABLES, self.same_customer_pairs["any_time"]
                ),
                "consent_mode=from_consent_date ml_pairing=same_customer": {
                    **changed,
                    **dict.fromkeys(PAIR_TABLES, self.same_customer_pairs["from_consent_date"]),
                },
            },
        }


class JsonLinesWriter:
    """Writes `<out>/<dataset>/landing/<dataset>-NNNNN.json`, `rows_per_file` lines a file."""

    def __init__(self, out: Path, dataset: str, rows_per_file: int = ROWS_PER_FILE):
        self.folder = out / dataset / "landing"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dataset, self.rows_per_file = dataset, rows_per_file
        self.files, self.rows_in_file, self.handle = 0, 0, None

    def write(self, line: str) -> None:
        self.write_lines([line])

    def write_lines(self, lines: list[str]) -> None:
        """Write whole lines (each ending in a newline), starting new files as they fill up."""
        while lines:
            if self.handle is None or self.rows_in_file == self.rows_per_file:
                self.close()
                path = self.folder / f"{self.dataset}-{self.files:05d}.json"
                self.handle = path.open("w", buffering=1 << 20)
                self.files, self.rows_in_file = self.files + 1, 0
            room = self.rows_per_file - self.rows_in_file
            self.handle.write("".join(lines[:room]))
            self.rows_in_file += min(room, len(lines))
            lines = lines[room:]

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


@dataclass
class Customer:
    email: str
    serial: str
    consent_at: int | None  # as decided by the newest record; None: no consent
    times: list[int]
    accel_per_time: list[int]

    def trusted_from(self, mode: str) -> int | None:
        """The first reading time trusted in `mode`, or None if no reading is."""
        if self.consent_at is None:
            return None
        return self.consent_at if mode == "from_consent_date" else -1


def generate(
    out: Path,
    scale: float = 1.0,
    seed: int = 0,
    rows_per_file: int = ROWS_PER_FILE,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write landing JSON for about `scale` x the course data into `out`, plus
    `out/expectations.json`; returns the expected row count of every table."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    rng = random.Random(seed)
    n_customers = max(BLOCK_CUSTOMERS, round(COURSE_CUSTOMERS * scale))
    counts = Counts()
    writers = {
        d: JsonLinesWriter(out, d, rows_per_file)
        for d in ("customer", "accelerometer", "step_trainer")
    }
    try:
        for block_start in range(0, n_customers, BLOCK_CUSTOMERS):
            block = range(block_start, min(block_start + BLOCK_CUSTOMERS, n_customers))
            window_ms = START_MS + block_start * BLOCK_GRID_POINTS * GRID_MS
            customers = [_customer(rng, i, window_ms, writers, counts) for i in block]
            _write_readings(rng, customers, writers, counts)
            if progress:
                progress(block.stop, n_customers)
    finally:
        for w in writers.values():
            w.close()
    expectations = {
        "generator": {"scale": scale, "seed": seed, "rows_per_file": rows_per_file},
        **counts.expectations(),
    }
    (out / "expectations.json").write_text(json.dumps(expectations, indent=2) + "\n")
    return counts.tables["any_time"]


def _customer(rng: random.Random, i: int, window_ms: int, writers, counts: Counts) -> Customer:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first}.{last}.{i}@stedi.example"
    serial = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    n_times = rng.randint(0, 60) if rng.random() < 0.97 else 0
    times = sorted(rng.sample(range(BLOCK_GRID_POINTS), n_times))
    times = [window_ms + t * GRID_MS for t in times]
    registered = window_ms - rng.randint(1, 30) * 86_400_000
    record = {
        "customerName": f"{first} {last}",
        "email": email,
        "phone": f"801555{rng.randint(0, 9999):04d}",
        "birthDay": f"{rng.randint(1930, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "serialNumber": serial,
        "registrationDate": registered,
        "lastUpdateDate": registered,
        "shareWithPublicAsOfDate": registered if rng.random() < 0.3 else None,
        "shareWithFriendsAsOfDate": registered if rng.random() < 0.3 else None,
    }
    consent_at = None
    if rng.random() < 0.5:
        late = times and rng.random() < 0.2  # consent given after the first readings
        consent_at = times[len(times) // 2] if late else registered
        record["shareWithResearchAsOfDate"] = consent_at
    else:
        absent = rng.choice(("null", "zero", "missing"))
        if absent != "missing":
            record["shareWithResearchAsOfDate"] = None if absent == "null" else 0
    records = [record]
    if rng.random() < 0.03:  # a newer record for the same email, which decides consent
        newer = dict(record, lastUpdateDate=registered + rng.randint(1, 10) * 3_600_000)
        consent_at = newer["lastUpdateDate"] if rng.random() < 0.5 else None
        newer["shareWithResearchAsOfDate"] = consent_at or 0
        records.append(newer)
    for r in records:
        writers["customer"].write(json.dumps(r) + "\n")
    counts.add("customer_landing", len(records))
    accel_per_time = [rng.choices((1, 2, 3, 4, 5), (20, 25, 20, 20, 15))[0] for _ in times]
    customer = Customer(email, serial, consent_at, times, accel_per_time)
    if consent_at is not None:
        counts.add("customer_trusted")
    for mode in MODES:
        start = customer.trusted_from(mode)
        if start is None:
            continue
        kept = [(t, k) for t, k in zip(times, accel_per_time, strict=True) if t >= start]
        counts.add("accelerometer_trusted", sum(k for _, k in kept), (mode,))
        counts.same_customer_pairs[mode] += sum(k for _, k in kept)  # one step reading per time
        if kept:
            counts.add("customer_curated", 1, (mode,))
            counts.add("step_trainer_trusted", len(kept), (mode,))
    return customer


def _write_readings(rng: random.Random, customers: list[Customer], writers, counts: Counts):
    # per consent mode: millisecond -> trusted step readings, trusted accelerometer readings
    trusted = {mode: {} for mode in MODES}
    for c in customers:
        # drawn in bulk: one choices() call per customer and column, not one per value
        axes = iter(rng.choices(AXIS_VALUES, k=3 * sum(c.accel_per_time)))
        distances = rng.choices(DISTANCES, k=len(c.times))
        reading = f'{{"user":"{c.email}","timestamp":'
        writers["accelerometer"].write_lines(
            [
                f'{reading}{t},"x":{next(axes)},"y":{next(axes)},"z":{next(axes)}}}\n'
                for t, k in zip(c.times, c.accel_per_time, strict=True)
                for _ in range(k)
            ]
        )
        serial = f',"serialNumber":"{c.serial}","distanceFromObject":'
        writers["step_trainer"].write_lines(
            [
                f'{{"sensorReadingTime":{t}{serial}{d}}}\n'
                for t, d in zip(c.times, distances, strict=True)
            ]
        )
        for t, k in zip(c.times, c.accel_per_time, strict=True):
            for mode in MODES:
                start = c.trusted_from(mode)
                if start is not None and t >= start:
                    n_steps, n_accel = trusted[mode].get(t, (0, 0))
                    trusted[mode][t] = (n_steps + 1, n_accel + k)
        counts.add("accelerometer_landing", sum(c.accel_per_time))
        counts.add("step_trainer_landing", len(c.times))
    for mode in MODES:
        pairs = sum(n_steps * n_accel for n_steps, n_accel in trusted[mode].values())
        for table in PAIR_TABLES:
            counts.add(table, pairs, (mode,))
