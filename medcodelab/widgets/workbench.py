"""The claim workbench: take an encounter to a claim, scrub it, send it, read the remittance,
fix and resubmit. All decisions are library calls (``medcodelab.claims``); this file only lays
out the controls, so the widget shows exactly what ``medcodelab scrub`` and ``adjudicate`` say."""

from __future__ import annotations

import copy
from html import escape

import ipywidgets as w

from .. import api
from ..claims import ClaimLine, from_encounter, x12
from ..claims.model import Claim
from ..claims.render import claim_html, edits_html, remittance_html
from ..claims.scrub import PAYERS
from ..claims.workqueue import Practice, WorkError
from .coder import _chart_html


def _ints(text: str) -> tuple[int, ...]:
    out = []
    for part in (text or "").replace(",", " ").split():
        if part.isdigit():
            out.append(int(part))
        elif len(part) == 1 and part.upper() in "ABCDEFGHIJKL":  # CMS-1500 pointers are letters
            out.append("ABCDEFGHIJKL".index(part.upper()) + 1)
    return tuple(out)


class LineEditor(w.HBox):
    """One service line: code, modifiers, units, pointers, charge."""

    def __init__(self, line: ClaimLine, number: int) -> None:
        self.code = w.Text(value=line.code, description=f"Line {number}", layout=w.Layout(width="180px"),
                           tooltip="CPT or HCPCS code")
        self.modifiers = w.Text(value=" ".join(line.modifiers), description="Mods", layout=w.Layout(width="150px"),
                                tooltip="Up to four modifiers, separated by spaces (e.g. 25, RT, XS)")
        self.units = w.BoundedIntText(value=line.units, min=0, max=999, description="Units",
                                      layout=w.Layout(width="130px"), tooltip="Units of service")
        self.pointers = w.Text(value=" ".join(str(p) for p in line.pointers), description="Dx ptr",
                               layout=w.Layout(width="150px"), tooltip="Diagnosis pointers: 1-12 or A-L")
        self.charge = w.BoundedFloatText(value=line.charge_cents / 100, min=0, max=10**7, step=1,
                                         description="Charge", layout=w.Layout(width="170px"),
                                         tooltip="The practice's charge for this line")
        super().__init__([self.code, self.modifiers, self.units, self.pointers, self.charge])

    def line(self) -> ClaimLine:
        mods = tuple(m.strip().upper().lstrip("-") for m in self.modifiers.value.replace(",", " ").split() if m.strip())
        return ClaimLine(code=self.code.value.strip().upper(), charge_cents=int(round(self.charge.value * 100)),
                         units=int(self.units.value), modifiers=mods, pointers=_ints(self.pointers.value))


class ClaimWorkbench(w.VBox):
    """Pick an encounter (or pass a claim), edit the claim, Scrub, Submit, read the remittance, fix,
    resubmit (a corrected claim once the payer has adjudicated it), and see the X12 beside it."""

    def __init__(self, source: str | Claim, practice: Practice | None = None) -> None:
        self.practice = practice or Practice()
        if isinstance(source, Claim):
            self.case = None
            self.claim = copy.deepcopy(source)
        else:
            self.case = api.case(source)
            self.claim = from_encounter(self.case)
        parts: list[w.Widget] = []
        if self.case is not None:
            parts.append(w.Accordion(children=[w.HTML(_chart_html(self.case))], titles=("The encounter note",)))
        self.payer = w.Dropdown(options=[(f"{p.name} ({pid})", pid) for pid, p in PAYERS.items()],
                                value=self.claim.payer if self.claim.payer in PAYERS else None,
                                description="Payer", tooltip="Who the claim goes to",
                                style={"description_width": "initial"}, layout=w.Layout(width="420px"))
        self.pos = w.Text(value=self.claim.place_of_service, description="POS", layout=w.Layout(width="120px"),
                          tooltip="Place of service (11 office, 23 ED, 21 inpatient, 22 outpatient hospital)")
        self.auth = w.Text(value=self.claim.prior_authorization, description="Prior auth",
                           tooltip="The payer's authorisation number, if the service needs one",
                           layout=w.Layout(width="260px"))
        self.diagnoses = w.Text(value=", ".join(self.claim.diagnoses), description="Diagnoses",
                                tooltip="ICD-10-CM codes, first-listed first, separated by commas",
                                layout=w.Layout(width="95%"), style={"description_width": "initial"})
        self.lines_box = w.VBox([LineEditor(line, i) for i, line in enumerate(self.claim.lines, start=1)])
        self.add_line = w.Button(description="Add line", icon="plus", tooltip="Add a service line")
        self.remove_line = w.Button(description="Remove last line", icon="minus", tooltip="Remove the last line")
        self.scrub_button = w.Button(description="Scrub", icon="search", tooltip="Run the claim scrubber")
        self.submit_button = w.Button(description="Submit", icon="paper-plane", button_style="primary",
                                      tooltip="Send the claim to the payer (a corrected claim once adjudicated)")
        self.show_x12 = w.ToggleButton(description="Show X12", icon="code", tooltip="Show the 837P (and the 835)")
        self.form = w.HTML()
        self.result = w.HTML()
        self.raw = w.HTML()
        self.add_line.on_click(lambda _b: self._add_line())
        self.remove_line.on_click(lambda _b: self._remove_line())
        self.scrub_button.on_click(lambda _b: self.run_scrub())
        self.submit_button.on_click(lambda _b: self.submit())
        self.show_x12.observe(lambda _c: self._raw(), names="value")
        parts += [w.HBox([self.payer, self.pos, self.auth]), self.diagnoses, self.lines_box,
                  w.HBox([self.add_line, self.remove_line]),
                  w.HBox([self.scrub_button, self.submit_button, self.show_x12]), self.form, self.result, self.raw]
        super().__init__(parts, layout=w.Layout(width="100%"))
        self.add_class("mcl-claim-workbench")
        self.remit = None
        self._render()

    def current(self) -> Claim:
        """The claim as the controls say it now."""
        claim = copy.deepcopy(self.claim)
        claim.payer = self.payer.value or claim.payer
        claim.place_of_service = self.pos.value.strip().zfill(2)
        claim.prior_authorization = self.auth.value.strip()
        claim.diagnoses = [d.strip().upper() for d in self.diagnoses.value.replace(";", ",").split(",") if d.strip()]
        claim.lines = [editor.line() for editor in self.lines_box.children]
        return claim

    def _render(self) -> None:
        self.form.value = claim_html(self.current())

    def _add_line(self) -> None:
        editors = list(self.lines_box.children)
        editors.append(LineEditor(ClaimLine(code="", charge_cents=0), len(editors) + 1))
        self.lines_box.children = editors

    def _remove_line(self) -> None:
        if self.lines_box.children:
            self.lines_box.children = self.lines_box.children[:-1]
            self._render()

    def run_scrub(self):
        from ..claims.scrub import scrub

        claim = self.current()
        self._render()
        edits = scrub(claim, self.practice.adjudicator.scrubber.conn)
        self.result.value = edits_html(edits)
        return edits

    def submit(self):
        claim = self.current()
        self._render()
        account = self.practice.accounts.get(claim.claim_id)
        try:
            if account is not None and account.remit.status != "rejected":
                self.remit = self.practice.correct(claim.claim_id, claim)
                note = "<p>Sent as a corrected claim (frequency 7) replacing the payer's claim " \
                       f"{escape(account.remits[-2].payer_claim_number)}.</p>"
            else:
                self.remit = self.practice.submit(claim)
                note = ""
        except WorkError as exc:
            self.result.value = f"<p class='mcl-err' role='status'>{escape(str(exc))}</p>"
            return None
        self.claim = self.practice.accounts[claim.claim_id].claim
        self.result.value = note + remittance_html(self.remit)
        self._raw()
        return self.remit

    def _raw(self) -> None:
        if not self.show_x12.value:
            self.raw.value = ""
            return
        claim = self.current()
        blocks = []
        for title, make in (("837P (what the practice sends)", lambda: x12.to_837p(claim)),
                            ("835 (what the payer sends back)",
                             lambda: x12.to_835(self.remit, self.claim) if self.remit is not None else "")):
            try:
                text = make()
            except x12.X12Error as exc:
                text = f"({exc})"
            if text:
                blocks.append(f"<div style='flex:1;min-width:300px'><b>{escape(title)}</b>"
                              f"<pre style='font-size:80%;background:#f4f4f8;padding:.4em'>{escape(text)}</pre></div>")
        self.raw.value = f"<div style='display:flex;gap:1em;flex-wrap:wrap'>{''.join(blocks)}</div>"
