"""Synthetic patients: names and identifiers that are plainly fake and always the same.

Each patient is derived from the case id with a seeded generator, so a chart reads
naturally, never resembles a real record (every MRN starts ``SYN-`` and surnames come from a
list of invented words), and never changes between builds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

GIVEN_F = ["Avery", "Bryn", "Calla", "Dara", "Elin", "Fenna", "Greta", "Hollis", "Ines", "Juno",
            "Kaia", "Liora", "Mira", "Nell", "Orla", "Pia", "Quinn", "Rhea", "Saoirse", "Tova"]
GIVEN_M = ["Arlo", "Bram", "Cato", "Dax", "Emrys", "Finn", "Gus", "Hale", "Ivo", "Jory",
            "Kit", "Lars", "Milo", "Nico", "Otto", "Pax", "Rafe", "Soren", "Tobin", "Wren"]
# invented surnames, chosen to read as names but to belong to nobody in particular
SURNAMES = ["Testwood", "Samplefield", "Mockridge", "Fauxley", "Dummington", "Placeholt",
             "Synthbury", "Fictor", "Proxmire", "Trialdale", "Demova", "Exemplar", "Casebrook",
             "Simmonsby", "Lorenwick", "Nullsworth", "Quibbleton", "Vantacre", "Wibbleford", "Zedmore"]


@dataclass(frozen=True)
class Patient:
    name: str
    mrn: str
    sex: str
    age: int
    birth_date: dt.date

    @property
    def sex_label(self) -> str:
        return {"F": "female", "M": "male"}[self.sex]


def synthetic_patient(case_id: str, sex: str, age: int, date_of_service: dt.date) -> Patient:
    seed = int.from_bytes(hashlib.sha256(f"medcodelab:{case_id}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    given = rng.choice(GIVEN_F if sex == "F" else GIVEN_M)
    surname = rng.choice(SURNAMES)
    mrn = f"SYN-{rng.randrange(10**6):06d}"
    # a birthday that makes the stated age true on the date of service
    days_after_birthday = rng.randrange(365)
    last_birthday = date_of_service - dt.timedelta(days=days_after_birthday)
    try:
        birth = last_birthday.replace(year=last_birthday.year - age)
    except ValueError:  # 29 February
        birth = last_birthday.replace(year=last_birthday.year - age, day=28)
    return Patient(f"{given} {surname}", mrn, sex, age, birth)
