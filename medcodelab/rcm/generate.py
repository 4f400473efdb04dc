"""A seeded, payer-realistic claims history for the RCM modules, written to its own DuckDB file.

The generator only *bills*: it draws patients, providers, coverage and encounters, codes the
claims (with mistakes injected at the rates in ``services.ERROR_RATES``) and submits them.
Whether a line is paid or denied is decided afterwards by ``adjudicate``, from the reference
rule tables (NCCI, MUE, coverage, eligibility, filing limits), never from the injected label.
All randomness comes from numpy generators seeded with ``seed``, so a seed gives identical tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from .. import paths
from ..cases import people
from . import adjudicate, ledger, services

SCALES = {"small": 3_000, "default": 50_000, "large": 720_000}  # claims before duplicates
FIRST_DOS = dt.date(2026, 1, 1)
LAST_DOS = dt.date(2026, 11, 20)
AS_OF = dt.date(2026, 11, 30)
MEMORY_LIMIT = "900MB"
US_MIX = [  # visit kinds and their share of US claims
    ("office-established", 0.40), ("office-new", 0.08), ("office-with-labs", 0.17),
    ("screening", 0.10), ("procedure", 0.09), ("procedure-pair", 0.06), ("emergency", 0.10),
]


class GenerateError(ValueError):
    """The generator cannot run (bad scale, missing reference data, a wrong code in services)."""


@dataclass
class Reference:
    """What the generator needs from the lab's built database."""

    sections: dict[str, tuple[str, str, str, bool]]  # code -> (system, section, global days, add-on)
    subsections: dict[str, str]
    pairs: list[tuple[str, str]]
    mue: dict[str, int]
    packages: pd.DataFrame
    india_dx: list[tuple[str, str]]  # (ICD-10-CM, ICD-11) pairs from the crosswalk
    release: str = ""


@dataclass
class Lines:
    """Claim lines accumulated visit kind by visit kind (arrays of equal length)."""

    claim: list[np.ndarray] = field(default_factory=list)
    code: list[np.ndarray] = field(default_factory=list)
    modifier: list[np.ndarray] = field(default_factory=list)
    units: list[np.ndarray] = field(default_factory=list)
    dx: list[np.ndarray] = field(default_factory=list)  # which of the claim's diagnoses (1-based) it points to

    def add(self, claim: np.ndarray, code: np.ndarray | str, modifier: np.ndarray | str = "",
            units: np.ndarray | int = 1, dx: np.ndarray | int = 1) -> None:
        n = len(claim)
        self.claim.append(np.asarray(claim, dtype=np.int64))
        self.code.append(np.broadcast_to(np.asarray(code, dtype=object), (n,)).copy())
        self.modifier.append(np.broadcast_to(np.asarray(modifier, dtype=object), (n,)).copy())
        self.units.append(np.broadcast_to(np.asarray(units, dtype=np.int64), (n,)).copy())
        self.dx.append(np.broadcast_to(np.asarray(dx, dtype=np.int64), (n,)).copy())

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"claim": np.concatenate(self.claim), "code": np.concatenate(self.code),
                              "modifier": np.concatenate(self.modifier), "units": np.concatenate(self.units),
                              "dx": np.concatenate(self.dx)})
        frame = frame.sort_values("claim", kind="stable").reset_index(drop=True)
        frame["line_no"] = frame.groupby("claim").cumcount() + 1
        return frame


def load_reference(conn: duckdb.DuckDBPyConnection) -> Reference:
    rows = conn.execute("""
        SELECT system, code, json_extract_string(details, '$.section'), json_extract_string(details, '$.global_days'),
               coalesce(json_extract(details, '$.add_on')::BOOLEAN, false), json_extract_string(details, '$.subsection')
        FROM catalogue WHERE system IN ('cpt', 'hcpcs')""").fetchall()
    sections = {code: (system, section or "hcpcs", glob or "XXX", bool(addon)) for system, code, section, glob, addon, _ in rows}
    subsections = {code: sub for _, code, _, _, _, sub in rows if sub}
    pairs = conn.execute("""SELECT column1, column2 FROM ncci_ptp WHERE modifier_indicator = 1 AND origin = 'lab'
                            AND effective_to IS NULL ORDER BY column1, column2""").fetchall()
    # the lab's own rows only: a site's imported CMS table must not change the seeded practice dataset
    mue = dict(conn.execute("SELECT code, value FROM mue WHERE origin = 'lab'").fetchall())
    packages = conn.execute("SELECT code, name, specialty, rate_tier FROM india_packages ORDER BY code").df()
    india_dx = conn.execute("""SELECT icd10cm, icd11 FROM crosswalk WHERE icd10cm IS NOT NULL AND icd11 IS NOT NULL
                               ORDER BY concept""").fetchall()
    release = conn.execute("SELECT max(value) FROM build_info WHERE key = 'built_at'").fetchone()[0] or ""
    return Reference(sections, subsections, [tuple(p) for p in pairs], mue, packages, india_dx, release)


def _check_services(ref: Reference, conn: duckdb.DuckDBPyConnection) -> None:
    """Every code services.py names exists, every diagnosis is billable, every 'header' is not."""
    problems = []
    named = ([c for c, _ in services.SCREENING] + services.OFFICE_LABS + [services.VENIPUNCTURE]
             + services.MUE_TARGETS + services.OFFICE_EST[0] + services.OFFICE_NEW[0] + services.ED_VISIT[0])
    problems += [f"services.py names {c}, which is not in the CPT/HCPCS reference tables"
                 for c in named if c not in ref.sections]
    problems += [f"services.MUE_TARGETS has {c} but the MUE table has no value for it"
                 for c in services.MUE_TARGETS if c not in ref.mue]
    diagnoses = set(services.OFFICE_DX + services.ED_DX + services.UNSUPPORTED_DX + [d for _, d in services.SCREENING])
    diagnoses |= {d for dx in services.PROCEDURE_DX.values() for d in dx} | {d for d, _ in ref.india_dx}
    billable = {r[0] for r in conn.execute(
        "SELECT code FROM icd10cm_entries WHERE billable AND code IN (SELECT unnest(?))", [sorted(diagnoses)]).fetchall()}
    problems += [f"services.py uses {d}, which is not a billable ICD-10-CM code" for d in sorted(diagnoses - billable)]
    headers = {r[0] for r in conn.execute(
        "SELECT code FROM icd10cm_entries WHERE code IN (SELECT unnest(?)) AND NOT billable", [services.HEADER_DX]).fetchall()}
    problems += [f"services.HEADER_DX has {d}, which should be a heading (not billable) but is not"
                 for d in services.HEADER_DX if d not in headers]
    if problems:
        raise GenerateError("the generator's service lists disagree with the reference data:\n  " + "\n  ".join(problems))


def price_cents(code: str, ref: Reference) -> int:
    """An illustrative base price for one unit of a code: fixed for E/M, else a stable draw in a band."""
    if code in services.EM_PRICE:
        return services.EM_PRICE[code]
    system, section, glob, _ = ref.sections[code]
    key = (section, glob) if (section, glob) in services.PRICE_BANDS else (section if system == "cpt" else "hcpcs", None)
    low, high = services.PRICE_BANDS.get(key, services.PRICE_BANDS[("medicine", None)])
    fraction = int.from_bytes(hashlib.sha256(f"price:{code}".encode()).digest()[:4], "big") / 2**32
    return int(round((low + fraction * (high - low)) / 100.0)) * 100


def _pick(rng: np.random.Generator, options: list, n: int, p: list[float] | None = None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def _some(rng: np.random.Generator, eligible: np.ndarray, rate: float, at_least: int = 3) -> np.ndarray:
    """Mark a share ``rate`` of the eligible rows (never fewer than ``at_least``): small datasets still
    show every kind of problem."""
    where = np.flatnonzero(eligible)
    chosen = np.zeros(len(eligible), dtype=bool)
    count = min(len(where), max(at_least, int(round(rate * len(where)))))
    chosen[rng.choice(where, size=count, replace=False)] = True
    return chosen


def _dates(days: np.ndarray) -> np.ndarray:
    return (np.datetime64(FIRST_DOS.isoformat()) + days.astype("timedelta64[D]")).astype("datetime64[D]")


def generate(out: str | Path, scale: str = "default", seed: int = 0, reference: str | Path | None = None,
             progress: Callable[[str], None] | None = None) -> dict:
    """Write the RCM dataset to ``out`` (replaced atomically) and return a summary."""
    if scale not in SCALES:
        raise GenerateError(f"unknown scale '{scale}': choose one of {', '.join(SCALES)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise GenerateError(f"seed must be a whole number 0 or more, not {seed!r}")
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    ref_path = Path(reference) if reference else paths.db_path()
    if not ref_path.exists():
        raise GenerateError(f"the lab's database is not built ({ref_path}); run `medcodelab build-data` first")
    with duckdb.connect(str(ref_path), read_only=True) as ref_conn:
        ref = load_reference(ref_conn)
        _check_services(ref, ref_conn)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    rng = np.random.default_rng([seed, 1])
    n_claims = SCALES[scale]
    say(f"drawing {n_claims:,} encounters (scale {scale}, seed {seed})")
    frames = _draw(rng, ref, n_claims, seed)
    try:
        conn = duckdb.connect(str(tmp))
    except duckdb.Error as exc:
        raise GenerateError(f"cannot write {out}: {exc}") from exc
    try:
        conn.execute("SET threads TO 2")
        conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # the large scale must fit in 2 GB with Python
        conn.execute("SET temp_directory = ?", [str(tmp.parent / f".{out.name}.spill")])
        conn.execute("ATTACH ? AS ref (READ_ONLY)", [str(ref_path)])
        for name in list(frames):
            conn.register("_frame", frames[name])
            conn.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
            conn.unregister("_frame")
            del frames[name]  # let pandas free it before the SQL work starts
            _as_dates(conn, name)
        say("adjudicating against NCCI, MUE, coverage, eligibility and filing rules")
        adjudicate.run(conn, AS_OF)
        say("posting remittances, appeals, patient payments and write-offs")
        ledger.run(conn, AS_OF)
        _finish(conn, scale, seed, ref)
        summary = dict(conn.execute("SELECT key, value FROM generation_info").fetchall())
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
        conn.execute("DETACH ref")
        conn.close()
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    return {"out": str(out), "scale": scale, "seed": seed, "seconds": round(time.perf_counter() - started, 1),
            "tables": counts, "as_of": summary.get("as_of")}


TABLES = ["payers", "providers", "patients", "coverage", "fee_schedule", "encounters", "claims", "claim_diagnoses",
          "claim_lines", "remittances", "remit_adjustments", "denials", "appeals", "payments", "adjustments",
          "ar_snapshots", "carc", "rarc", "group_codes", "generation_info"]


def _draw(rng: np.random.Generator, ref: Reference, n_claims: int, seed: int) -> dict[str, pd.DataFrame]:
    payers = pd.DataFrame([{
        "payer_id": p.payer_id, "name": p.name, "payer_type": p.payer_type, "country": p.country,
        "currency": p.currency, "fee_factor": p.fee_factor, "timely_filing_days": p.timely_filing_days,
        "deductible_cents": p.deductible_cents, "coinsurance": p.coinsurance, "office_copay_cents": p.office_copay_cents,
        "prior_auth": p.prior_auth, "illustrative": p.illustrative} for p in services.PAYERS])

    # providers: 85% in the US, 15% in India
    n_prov = max(12, n_claims // 350)
    prov_country = np.where(np.arange(n_prov) % 7 == 6, "IN", "US")
    prov_given = _pick(rng, people.GIVEN_F + people.GIVEN_M, n_prov)
    prov_surname = _pick(rng, people.SURNAMES, n_prov)
    providers = pd.DataFrame({
        "provider_id": [f"PRV{i + 1:05d}" for i in range(n_prov)],
        # real NPIs start with 1 or 2; a leading 0 marks these as fake
        "npi": [f"0{n:09d}" for n in rng.integers(0, 10**9, n_prov)],
        "name": [f"Dr {g} {s}" for g, s in zip(prov_given, prov_surname)],
        "specialty": np.where(prov_country == "IN", "General Medicine",
                              _pick(rng, ["Family Medicine", "Internal Medicine", "Gastroenterology", "Orthopaedics",
                                          "Urology", "Emergency Medicine", "Radiology", "Dermatology"], n_prov)),
        "country": prov_country})

    # patients
    n_pat = max(50, n_claims // 4)
    country = np.where(rng.random(n_pat) < 0.14, "IN", "US")
    sex = np.where(rng.random(n_pat) < 0.52, "F", "M")
    age = np.clip(rng.normal(50, 20, n_pat).round().astype(int), 1, 95)
    birth = _dates(np.zeros(n_pat, dtype=int)) - (age * 365.25 + rng.integers(0, 365, n_pat)).astype("timedelta64[D]")
    u = rng.random(n_pat)
    payer = np.where(age >= 65, np.where(u < 0.7, "MCR-B", "MCR-ADV"),
                     np.select([u < 0.40, u < 0.60, u < 0.85], ["COM-PPO", "COM-HMO", "MCD"], "SELF"))
    payer = np.where(country == "IN", np.where(u < 0.7, "PMJAY", "IN-PVT"), payer)
    given = np.where(sex == "F", _pick(rng, people.GIVEN_F, n_pat), _pick(rng, people.GIVEN_M, n_pat))
    surname = _pick(rng, people.SURNAMES, n_pat)
    patient_ids = np.array([f"PAT{i + 1:07d}" for i in range(n_pat)], dtype=object)
    patients = pd.DataFrame({
        "patient_id": patient_ids, "member_id": [f"SYN-M{i + 1:08d}" for i in range(n_pat)],
        "name": [f"{g} {s}" for g, s in zip(given, surname)], "sex": sex, "birth_date": birth,
        "address": [f"{n} Synthetic Street, Testville" for n in rng.integers(1, 999, n_pat)], "country": country})

    # coverage: the plan on file; some lapse during the year; some have another plan that is primary
    insured = payer != "SELF"
    lapses = _some(rng, insured, services.ERROR_RATES["coverage_lapsed"])
    end = np.where(lapses, _dates(rng.integers(30, 300, n_pat)), np.datetime64("NaT"))
    other = _some(rng, insured & (country == "US") & (payer != "MCD") & ~lapses, services.ERROR_RATES["other_primary"])
    coverage = pd.DataFrame({"patient_id": patient_ids[insured], "payer_id": payer[insured],
                             "priority": np.where(other[insured], 2, 1), "start_date": np.datetime64("2025-01-01"),
                             "end_date": end[insured]})
    other_payer = np.where(payer == "COM-PPO", "COM-HMO", "COM-PPO")
    coverage = pd.concat([coverage, pd.DataFrame({
        "patient_id": patient_ids[other], "payer_id": other_payer[other], "priority": 1,
        "start_date": np.datetime64("2025-01-01"), "end_date": np.datetime64("NaT")})], ignore_index=True)
    coverage = coverage.sort_values(["patient_id", "priority"], kind="stable").reset_index(drop=True)
    coverage["end_date"] = coverage["end_date"].astype("datetime64[s]")

    # encounters
    pat = rng.integers(0, n_pat, n_claims)
    pcountry = country[pat]
    us_prov = np.flatnonzero(prov_country == "US")
    in_prov = np.flatnonzero(prov_country == "IN")
    prov = np.where(pcountry == "IN", in_prov[rng.integers(0, len(in_prov), n_claims)],
                    us_prov[rng.integers(0, len(us_prov), n_claims)])
    dos_day = rng.integers(0, (LAST_DOS - FIRST_DOS).days + 1, n_claims)
    kinds, weights = zip(*US_MIX)
    kind = np.where(pcountry == "IN", "package", _pick(rng, list(kinds), n_claims, list(weights)))
    cpayer = payer[pat]
    lines, dx = _code_claims(rng, ref, kind, cpayer, sex[pat])
    pos = np.select([kind == "emergency", np.isin(kind, ["procedure", "procedure-pair"]), kind == "package"],
                    ["23", "22", ""], "11")

    # submission: most within days; some late; self-pay is billed to the patient, not submitted
    lag = rng.geometric(0.35, n_claims)
    limit = payers.set_index("payer_id")["timely_filing_days"].reindex(cpayer).to_numpy()
    late = _some(rng, cpayer != "SELF", services.ERROR_RATES["late_filing"])
    lag = np.where(late, limit + rng.integers(1, 45, n_claims), lag)
    needs_auth = _needs_auth(ref, lines, kind, cpayer, payers)
    auth = needs_auth & (rng.random(n_claims) >= services.ERROR_RATES["prior_auth_missing"])
    claim_ids = np.array([f"CLM{i + 1:08d}" for i in range(n_claims)], dtype=object)
    submitted = _dates(dos_day + lag)
    claims = pd.DataFrame({
        "claim_id": claim_ids, "encounter_id": [f"ENC{i + 1:08d}" for i in range(n_claims)],
        "patient_id": patient_ids[pat], "provider_id": providers["provider_id"].to_numpy()[prov],
        "payer_id": cpayer, "date_of_service": _dates(dos_day), "place_of_service": pos, "kind": kind,
        "submitted_date": np.where(cpayer == "SELF", np.datetime64("NaT"), submitted),
        "auth_number": np.where(auth, [f"SYN-AUTH-{i:07d}" for i in range(n_claims)], None)})

    # duplicates: the same claim sent again a week or more later, under a new claim number
    dup = np.flatnonzero(_some(rng, cpayer != "SELF", services.ERROR_RATES["duplicate"]))
    if len(dup):
        copies = claims.iloc[dup].copy()
        copies["claim_id"] = [f"CLM{n_claims + i + 1:08d}" for i in range(len(dup))]
        copies["submitted_date"] = copies["submitted_date"] + pd.to_timedelta(rng.integers(7, 40, len(dup)), unit="D")
        index = {c: n_claims + i for i, c in enumerate(dup)}
        dup_lines = lines[lines["claim"].isin(dup)].copy()
        dup_lines["claim"] = dup_lines["claim"].map(index)
        dup_dx = dx[dx["claim"].isin(dup)].copy()
        dup_dx["claim"] = dup_dx["claim"].map(index)
        claims = pd.concat([claims, copies], ignore_index=True)
        lines = pd.concat([lines, dup_lines], ignore_index=True)
        dx = pd.concat([dx, dup_dx], ignore_index=True)
    all_ids = claims["claim_id"].to_numpy()
    claims["submitted_date"] = pd.to_datetime(claims["submitted_date"]).astype("datetime64[s]")
    claims.loc[claims["submitted_date"] > pd.Timestamp(AS_OF), "submitted_date"] = pd.NaT

    fee_codes = sorted(set(lines["code"]))
    base = np.array([price_cents(c, ref) if c in ref.sections else 0 for c in fee_codes], dtype=np.int64)
    package_tier = dict(zip(ref.packages["code"], ref.packages["rate_tier"]))
    for i, code in enumerate(fee_codes):
        if code in package_tier:
            base[i] = services.INDIA_RATE_INR[package_tier[code]]
    fee_rows = [(p.payer_id, code, int(round(b * p.fee_factor)), int(round(b * services.CHARGE_MULTIPLIER)))
                for p in services.PAYERS for code, b in zip(fee_codes, base)
                if (code in package_tier) == (p.country == "IN")]
    fee_schedule = pd.DataFrame(fee_rows, columns=["payer_id", "code", "allowed_cents", "charge_cents"])
    charge_of = dict(zip(fee_codes, (base * services.CHARGE_MULTIPLIER).round().astype(np.int64)))
    for code in package_tier:  # a hospital bills the package rate (private insurers allow a little more)
        charge_of[code] = int(round(charge_of.get(code, 0) / services.CHARGE_MULTIPLIER * 1.4))

    claim_lines = pd.DataFrame({
        "claim_id": all_ids[lines["claim"].to_numpy()], "line_no": lines["line_no"].to_numpy(),
        "code": lines["code"].to_numpy(), "modifiers": lines["modifier"].to_numpy(),
        "units": lines["units"].to_numpy(),
        "charge_cents": lines["code"].map(charge_of).to_numpy() * lines["units"].to_numpy(),
        "dx_pointer": lines["dx"].to_numpy()})
    claim_diagnoses = pd.DataFrame({"claim_id": all_ids[dx["claim"].to_numpy()], "seq": dx["seq"].to_numpy(),
                                    "system": dx["system"].to_numpy(), "code": dx["code"].to_numpy()})
    encounters = claims.iloc[:n_claims][["encounter_id", "patient_id", "provider_id", "date_of_service",
                                         "place_of_service", "kind"]].copy()
    draws = pd.DataFrame({"claim_id": all_ids, **{name: np.random.default_rng([seed, 2, k]).random(len(all_ids))
                                                   for k, name in enumerate(ledger.DRAWS)}})
    return {"payers": payers, "providers": providers, "patients": patients, "coverage": coverage,
            "fee_schedule": fee_schedule, "encounters": encounters,
            "claims": claims,
            "claim_diagnoses": claim_diagnoses, "claim_lines": claim_lines, "_draws": draws}


def _code_claims(rng: np.random.Generator, ref: Reference, kind: np.ndarray, payer: np.ndarray,
                 sex: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The coder's work for every encounter: lines (code, modifier, units, pointer) and diagnoses."""
    lines = Lines()
    dx_claim, dx_code, dx_seq = [], [], []
    rates = services.ERROR_RATES

    def diagnoses(claims: np.ndarray, options: list[str], how_many: int = 1) -> None:
        for seq in range(1, how_many + 1):
            dx_claim.append(claims)
            dx_code.append(_pick(rng, options, len(claims)))
            dx_seq.append(np.full(len(claims), seq))

    def at(name: str) -> np.ndarray:
        return np.flatnonzero(kind == name)

    for name, (codes, weights) in (("office-established", services.OFFICE_EST), ("office-new", services.OFFICE_NEW),
                                   ("office-with-labs", services.OFFICE_EST), ("emergency", services.ED_VISIT)):
        idx = at(name)
        bad_modifier = (rng.random(len(idx)) < rates["invalid_modifier"]) & (name != "emergency")
        lines.add(idx, _pick(rng, codes, len(idx), weights), np.where(bad_modifier, services.BAD_EM_MODIFIER, ""))
        diagnoses(idx, services.ED_DX if name == "emergency" else services.OFFICE_DX, 2)

    # labs at an office visit: venipuncture plus one or two tests, some without a supporting diagnosis
    idx = at("office-with-labs")
    lines.add(idx, services.VENIPUNCTURE)
    lab = _pick(rng, services.OFFICE_LABS, len(idx))
    unsupported = rng.random(len(idx)) < rates["medical_necessity"]
    abn = unsupported & (rng.random(len(idx)) < rates["abn_on_file"])
    lab_dx = _pick(rng, ["E78.5", "E11.9", "E03.9", "E55.9", "D51.9", "E11.65", "I10"], len(idx))
    supports = {"80061": "E78.5", "83036": "E11.9", "84443": "E03.9", "82306": "E55.9", "82607": "D51.9"}
    lab_dx = np.array([supports.get(c, d) for c, d in zip(lab, lab_dx)], dtype=object)
    dx_claim.append(idx)
    dx_code.append(np.where(unsupported, _pick(rng, services.UNSUPPORTED_DX, len(idx)), lab_dx))
    dx_seq.append(np.full(len(idx), 3))
    lines.add(idx, lab, np.where(abn, "GA", ""), dx=3)
    second = idx[rng.random(len(idx)) < 0.4]
    lines.add(second, "85025", dx=1)

    # screening: the service with the diagnosis that supports it (or, by mistake, one that does not)
    idx = at("screening")
    choice = rng.integers(0, len(services.SCREENING), len(idx))
    code = np.array([services.SCREENING[c][0] for c in choice], dtype=object)
    code = np.where((code == "77067") & (sex[idx] == "M"), "G0103", code)
    code = np.where((code == "G0103") & (sex[idx] == "F"), "77067", code)
    medicare = np.isin(payer[idx], ["MCR-B", "MCR-ADV"])
    code = np.where((code == "G0439") & ~medicare, "82947", code)
    support = {c: d for c, d in services.SCREENING}
    unsupported = rng.random(len(idx)) < rates["medical_necessity"]
    abn = unsupported & (rng.random(len(idx)) < rates["abn_on_file"])
    dx_claim.append(idx)
    dx_code.append(np.where(unsupported, _pick(rng, services.UNSUPPORTED_DX, len(idx)),
                            np.array([support[c] for c in code], dtype=object)))
    dx_seq.append(np.full(len(idx), 1))
    lines.add(idx, code, np.where(abn, "GA", ""))

    # procedures: one code, or a column 1/column 2 pair that is distinct (XS) unless the coder forgets
    families = [c for c, s in ref.subsections.items()
                if s in services.PROCEDURE_DX and not ref.sections[c][3] and ref.sections[c][0] == "cpt"]
    families.sort()
    idx = at("procedure")
    code = _pick(rng, families, len(idx))
    lines.add(idx, code)
    dx_claim.append(idx)
    dx_code.append(np.array([services.PROCEDURE_DX[ref.subsections[c]][h % len(services.PROCEDURE_DX[ref.subsections[c]])]
                             for c, h in zip(code, rng.integers(0, 1000, len(idx)))], dtype=object))
    dx_seq.append(np.full(len(idx), 1))
    pairs = [(a, b) for a, b in ref.pairs if ref.subsections.get(a) in services.PROCEDURE_DX
             and a in ref.sections and b in ref.sections and not ref.sections[a][3] and not ref.sections[b][3]]
    idx = at("procedure-pair")
    pick = rng.integers(0, len(pairs), len(idx))
    first = np.array([pairs[p][0] for p in pick], dtype=object)
    second = np.array([pairs[p][1] for p in pick], dtype=object)
    forgot = rng.random(len(idx)) < rates["ncci_modifier_missing"]
    lines.add(idx, first)
    lines.add(idx, second, np.where(forgot, "", "XS"))
    dx_claim.append(idx)
    dx_code.append(np.array([services.PROCEDURE_DX[ref.subsections[c]][0] for c in first], dtype=object))
    dx_seq.append(np.full(len(idx), 1))

    # too many units on an MUE-limited line (a US claim that is not self-pay)
    idx = np.flatnonzero(_some(rng, (kind != "package") & (payer != "SELF"), rates["mue_units_exceeded"]))
    code = _pick(rng, services.MUE_TARGETS, len(idx))
    lines.add(idx, code, units=np.array([ref.mue[c] for c in code]) + rng.integers(1, 3, len(idx)))

    # India: one package per admission, with ICD-10 and ICD-11 diagnoses from the crosswalk
    idx = at("package")
    lines.add(idx, _pick(rng, list(ref.packages["code"]), len(idx)))
    pair = rng.integers(0, len(ref.india_dx), len(idx))
    india_10 = np.array([ref.india_dx[p][0] for p in pair], dtype=object)
    india_11 = np.array([ref.india_dx[p][1] for p in pair], dtype=object)

    frame = lines.frame()
    dx = pd.DataFrame({"claim": np.concatenate(dx_claim), "seq": np.concatenate(dx_seq),
                       "code": np.concatenate(dx_code)})
    dx["system"] = "icd10cm"
    # a heading reported where a billable code is needed: the first diagnosis of a few US claims
    wrong = np.flatnonzero(rng.random(len(dx)) < rates["invalid_diagnosis"])
    wrong = wrong[dx["seq"].to_numpy()[wrong] == 1]
    dx.loc[wrong, "code"] = _pick(rng, services.HEADER_DX, len(wrong))
    dx = pd.concat([dx, pd.DataFrame({"claim": idx, "seq": 1, "code": india_10, "system": "icd10cm"}),
                    pd.DataFrame({"claim": idx, "seq": 1, "code": india_11, "system": "icd11"})], ignore_index=True)
    dx = dx.drop_duplicates(["claim", "system", "seq"], keep="first")
    dx = dx.sort_values(["claim", "system", "seq"], kind="stable").reset_index(drop=True)
    # renumber so each claim's diagnoses run 1..n with no gaps, and pointers follow
    dx["new_seq"] = dx.groupby(["claim", "system"]).cumcount() + 1
    remap = dx[dx["system"] == "icd10cm"].set_index(["claim", "seq"])["new_seq"]
    frame["dx"] = remap.reindex(pd.MultiIndex.from_arrays([frame["claim"], frame["dx"]])).fillna(1).astype(int).to_numpy()
    dx = dx.drop(columns=["seq"]).rename(columns={"new_seq": "seq"})
    return frame, dx


def _needs_auth(ref: Reference, lines: pd.DataFrame, kind: np.ndarray, payer: np.ndarray,
                payers: pd.DataFrame) -> np.ndarray:
    auth_payers = set(payers.loc[payers["prior_auth"], "payer_id"])
    flagged = lines["code"].map(lambda c: ref.subsections.get(c) in services.PRIOR_AUTH_SUBSECTIONS)
    claims_with = set(lines.loc[flagged.to_numpy(), "claim"])
    needs = np.array([i in claims_with for i in range(len(kind))]) | (kind == "package")
    return needs & np.isin(payer, list(auth_payers))


def _as_dates(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """pandas carries dates as timestamps; the dataset stores them as DATE."""
    for (column,) in conn.execute("""SELECT column_name FROM information_schema.columns
                                     WHERE table_name = ? AND data_type LIKE 'TIMESTAMP%'""", [table]).fetchall():
        conn.execute(f'ALTER TABLE "{table}" ALTER "{column}" TYPE DATE')


def _finish(conn: duckdb.DuckDBPyConnection, scale: str, seed: int, ref: Reference) -> None:
    """Copy the code tables a remit needs, record how the data was made, and drop working tables."""
    for table in ("carc", "rarc", "group_codes"):
        conn.execute(f"CREATE TABLE {table} AS SELECT * FROM ref.{table} ORDER BY code")
    info = {"scale": scale, "seed": str(seed), "as_of": AS_OF.isoformat(),
            "dates_of_service": f"{FIRST_DOS} to {LAST_DOS}", "reference_built_at": ref.release,
            "error_rates": json.dumps(services.ERROR_RATES, sort_keys=True),
            "money": "amounts are in the payer's currency (USD or INR), 2 decimals; prices are illustrative",
            "people": "every name, member id, NPI and address is synthetic (NPIs start with 0, which real NPIs never do)"}
    conn.execute("CREATE TABLE generation_info (key VARCHAR, value VARCHAR)")
    conn.executemany("INSERT INTO generation_info VALUES (?, ?)", sorted(info.items()))
    conn.execute("DROP TABLE IF EXISTS _draws")
    conn.execute("CHECKPOINT")


def _made_with(path: Path) -> tuple[str, str] | None:
    """(scale, seed) a dataset file records in generation_info, or None if it cannot be read."""
    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            info = dict(conn.execute("SELECT key, value FROM generation_info").fetchall())
        return info.get("scale"), info.get("seed")
    except (duckdb.Error, OSError):
        return None


def practice_dataset(scale: str = "small", seed: int = 0) -> Path:
    """The practice dataset the course and the analytics problem set read (made on first use).

    It lives beside the lab's database; where that folder is read-only (a shared JupyterHub
    image), in the user's own cache. The same scale and seed give the same tables everywhere,
    so the grader, which makes its own copy the same way, scores against what the student saw.
    """
    name = f"rcm-practice-{scale}-seed{seed}.duckdb"  # its own name: `generate-rcm --out` never lands on it
    candidates = [paths.build_dir() / name, Path.home() / ".cache" / "medcodelab" / name]
    for path in candidates:
        if path.exists() and _made_with(path) == (scale, str(seed)):
            return path
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if os.access(path.parent, os.W_OK):
                generate(path, scale, seed)
                return path
        except OSError:
            continue
    raise GenerateError(f"cannot write the practice dataset to {' or '.join(str(p.parent) for p in candidates)}")
