"""Claims: build, scrub, adjudicate and exchange (X12 837P/835) one claim at a time.

The library half of the RCM workbench; it never imports widgets. ``from_encounter`` turns a
keyed encounter from the case bank into the claim a biller would send.
"""

from .adjudicate import Adjudicator, Remittance, adjudicate
from .model import Claim, ClaimError, ClaimLine, from_dict, from_encounter, load
from .scrub import Edit, Scrubber, scrub

__all__ = ["Adjudicator", "Claim", "ClaimError", "ClaimLine", "Edit", "Remittance", "Scrubber", "adjudicate",
           "from_dict", "from_encounter", "load", "scrub"]
