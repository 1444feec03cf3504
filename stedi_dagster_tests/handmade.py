"""A tiny handmade landing dataset whose every outcome can be reasoned out by hand.

Customers (email: serial, records):
  a: S-A, consents                                   -> trusted, curated
  b: S-B, shareWithResearchAsOfDate null             -> no consent
  c: S-C, shareWithResearchAsOfDate missing          -> no consent
  d: S-D, shareWithResearchAsOfDate 0                -> no consent
  e: S-E, consents, then a newer record withdraws    -> no consent
  f: S-F, refuses, then a newer record consents      -> trusted (its newer record), curated
  g: S-G, two records updated at the same time, one without consent -> no consent
  h: S-H, consents; i: S-H too, without consent      -> h curated, but S-H readings stay out
  j: S-J, consents, no accelerometer readings        -> trusted, not curated
Step trainer S-X belongs to nobody.
"""

import shutil
from pathlib import Path

from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster_tests.conftest import materialize, write_landing


def customer(name: str, serial: str, updated: int | None = 10, research="absent", **extra) -> dict:
    record = {
        "customerName": f"{name.upper()} Person",
        "email": f"{name}@x.test",
        "phone": "5550000000",
        "birthDay": "1980-01-01",
        "serialNumber": serial,
        "registrationDate": 1,
        "lastUpdateDate": updated,
        "shareWithPublicAsOfDate": None,
        "shareWithFriendsAsOfDate": None,
        **extra,
    }
    if research != "absent":
        record["shareWithResearchAsOfDate"] = research
    return record


CUSTOMERS = [
    customer("a", "S-A", research=5),
    customer("b", "S-B", research=None),
    customer("c", "S-C"),
    customer("d", "S-D", research=0),
    customer("e", "S-E", updated=10, research=5),
    customer("e", "S-E", updated=20, research=0),
    customer("f", "S-F", updated=10, research=0),
    customer("f", "S-F", updated=20, research=7),
    customer("g", "S-G", updated=10, research=5),
    customer("g", "S-G", updated=10, research=None),
    customer("h", "S-H", research=5),
    customer("i", "S-H", research=None),
    customer("j", "S-J", research=5),
]


def reading(name: str, t: int, x: float = 0.0) -> dict:
    return {"user": f"{name}@x.test", "timestamp": t, "x": x, "y": 1.0, "z": -1.0}


ACCELEROMETER = [
    reading("a", 100, 1.0),
    reading("a", 100, 2.0),
    reading("a", 200),
    reading("b", 100),
    reading("c", 300),
    reading("d", 100),
    reading("e", 400),
    reading("f", 200),
    reading("f", 500),
    reading("g", 600),
    reading("h", 700),
    reading("i", 700),
]


def step(serial: str, t: int) -> dict:
    return {"sensorReadingTime": t, "serialNumber": serial, "distanceFromObject": 200}


STEP_TRAINER = [
    step("S-A", 100),
    step("S-A", 200),
    step("S-B", 100),
    step("S-C", 300),
    step("S-D", 100),
    step("S-E", 400),
    step("S-F", 200),
    step("S-F", 500),
    step("S-G", 600),
    step("S-H", 700),
    step("S-J", 800),
    step("S-X", 100),
]

EXPECTED_ROWS = {
    "customer_landing": 13,
    "accelerometer_landing": 12,
    "step_trainer_landing": 12,
    "customer_trusted": 4,
    "accelerometer_trusted": 6,
    "step_trainer_trusted": 4,
    "customer_curated": 3,
    # S-A@100 x a,a; S-A@200 x a,f; S-F@200 x a,f; S-F@500 x f
    "machine_learning_curated": 7,
    "step_features_curated": 7,  # one row per training pair
}


def write_handmade(root: Path) -> Path:
    return write_landing(root, CUSTOMERS, ACCELEROMETER, STEP_TRAINER)


def handmade_at(root: Path, **settings) -> Lakehouse:
    """The lakehouse at `root/lakehouse` over the landing files at `root/landing` (where
    `write_handmade` puts the handmade data)."""
    return Lakehouse(
        landing_root=str(root / "landing"), lakehouse_root=str(root / "lakehouse"), **settings
    )


def materialized_handmade(definitions, root: Path, **settings) -> Lakehouse:
    """A lakehouse at `root` over the handmade data (`root/landing`), materialized once."""
    write_handmade(root / "landing")
    lakehouse = handmade_at(root, **settings)
    assert materialize(definitions, lakehouse).success
    return lakehouse


class AsBuilt:
    """The handmade data materialized once at `root` (a module's fixture), and put back as it
    was built for each test that asks: at the same path, so that every absolute path the
    lakehouse holds (its catalog's views, its kept tables) stays true, with the files' times
    kept, and no test sees another's changes."""

    def __init__(self, definitions, root: Path, **settings):
        self.root, self.settings = root, settings
        write_handmade(root / "landing")
        self.result = materialize(definitions, handmade_at(root, **settings))
        assert self.result.success
        self.saved = root.with_name(f"{root.name}-as-built")
        shutil.copytree(root, self.saved, symlinks=True)

    def restore(self) -> Lakehouse:
        """The lakehouse as it was built (its landing files too)."""
        shutil.rmtree(self.root)
        shutil.copytree(self.saved, self.root, symlinks=True)
        return handmade_at(self.root, **self.settings)
