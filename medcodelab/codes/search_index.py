"""Rank codes for a free-text query, the way a coder searches the tabular list.

A BM25 index over every entry's description and its inclusion terms. The postings are
computed once by ``build-data`` and stored in the database; a kernel loads them as numpy
arrays (a fraction of a second), and a query is a handful of vector additions. DuckDB's
full-text extension is not bundled and cannot be downloaded here, and this is fast enough:
see ``benchmarks/``.

Ranking, in order of effect:
- a query that is exactly a main term of the Alphabetic Index teaching subset
  (``data/search/index_terms.yaml``) lists the Index's default code first;
- BM25 term weights, inclusion terms weighted a little below the code's own title;
- coverage: a code matching every word of the query beats one matching most of them;
- precision: among those, a title made mostly of the query's words comes first;
- a slight preference for billable codes over headings, then tabular order (so the
  7th-character codes of one injury read A, D, S as in the book).
Everyday phrases are replaced by the tabular's words ("heart attack" -> myocardial
infarction), query words are expanded through the abbreviation table, word forms are folded on
both sides, some words may also match an alternative (forearm -> limb, as the Index sends
cellulitis of the forearm to the upper-limb code), and an unfinished last word matches as a
prefix. A query shaped like a code lists that code
and the codes under it.
"""

from __future__ import annotations

import bisect
import re
import threading
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from .. import db
from . import normalize

K1, B = 1.2, 0.75
INCLUSION_WEIGHT = 0.85
BILLABLE_BONUS = 1.08
STOPWORDS = {"a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "by", "with", "as",
             "is", "pt", "patient", "nos", "code", "due"}
# Words that do not make a title longer in the coder's eyes ("Pneumonia, unspecified organism").
NEUTRAL = {"unspecified", "other", "specified", "site", "organism", "elsewhere", "classified"}
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class Analyzer:
    """Text to index terms: lower case, stopwords out, word forms folded, light stemming."""

    def __init__(self, abbreviations: dict[str, str], word_forms: dict[str, str],
                 phrases: dict[str, str] | None = None, alternatives: dict[str, str] | None = None) -> None:
        self.abbreviations = abbreviations
        self.word_forms = word_forms
        self.alternatives = alternatives or {}
        # longest phrase first, matched on word boundaries
        self._phrases = [(re.compile(rf"\b{re.escape(p)}\b"), e)
                         for p, e in sorted((phrases or {}).items(), key=lambda kv: -len(kv[0]))]

    def term(self, word: str) -> str | None:
        if word in STOPWORDS:
            return None
        return _stem(self.word_forms.get(word, word))

    def terms(self, text: str) -> list[str]:
        return [t for t in (self.term(w) for w in _WORD.findall(text.lower())) if t]

    def query_words(self, query: str) -> list[str]:
        text = " ".join(_WORD.findall(query.lower()))
        for pattern, expansion in self._phrases:
            text = pattern.sub(expansion, text)
        words: list[str] = []
        for word in text.split():
            words += _WORD.findall(self.abbreviations[word]) if word in self.abbreviations else [word]
        return words

    def phrase(self, text: str) -> str:
        """The canonical form of a short phrase, for exact Index-term matching."""
        return " ".join(self.terms(" ".join(self.query_words(text))))

    @staticmethod
    def from_database(conn: duckdb.DuckDBPyConnection) -> "Analyzer":
        rows = conn.execute("SELECT kind, term, expansion FROM search_synonyms").fetchall()
        by_kind: dict[str, dict[str, str]] = {}
        for kind, term, expansion in rows:
            by_kind.setdefault(kind, {})[term] = expansion
        return Analyzer(by_kind.get("abbreviation", {}), by_kind.get("word_form", {}),
                        by_kind.get("phrase", {}), by_kind.get("alternative", {}))


# --- build time --------------------------------------------------------------------------

Doc = tuple[int, list[str], float, int]  # (row of the code, terms, field weight, length for BM25)


def icd10cm_docs(conn: duckdb.DuckDBPyConnection, analyzer: Analyzer) -> list[Doc]:
    """Each code's title, and its inclusion terms a little below it."""
    entries = conn.execute(
        "SELECT code, description, kind, parent_id, entry_id FROM icd10cm_entries "
        "WHERE kind NOT IN ('chapter', 'block') ORDER BY entry_id"
    ).fetchall()
    position = {row[0]: i for i, row in enumerate(entries)}
    by_entry = {row[4]: row for row in entries}
    docs: list[Doc] = []
    for i, (code, description, kind, parent_id, _) in enumerate(entries):
        terms = analyzer.terms(description)
        basis = terms
        if kind == "seventh_character":
            # A 7th-character code is its parent's title plus the meaning of the character. The
            # meaning only adds words the parent lacks (so "open fracture ... open fracture NOS"
            # does not out-rank "closed fracture" by repeating "fracture"), and the length is the
            # parent's, so siblings tie and keep the tabular's order (A, D, S...).
            basis = analyzer.terms(by_entry[parent_id][1])
            known = set(basis)
            extra = list(dict.fromkeys(t for t in terms[len(basis):] if t not in known))
            terms = basis + extra
        docs.append((i, terms, 1.0, sum(t not in NEUTRAL for t in basis) or 1))
    for code, text in conn.execute(
        "SELECT e.code, n.text FROM icd10cm_notes n JOIN icd10cm_entries e USING (entry_id) "
        "WHERE n.note_type = 'inclusion_term' AND e.kind NOT IN ('chapter', 'block') ORDER BY n.note_id"
    ).fetchall():
        terms = analyzer.terms(text)
        docs.append((position[code], terms, INCLUSION_WEIGHT, sum(t not in NEUTRAL for t in terms) or 1))
    return docs


def title_docs(titles: list[str], analyzer: Analyzer) -> list[Doc]:
    """One document per code: its title (ICD-11, CPT, HCPCS, modifiers)."""
    docs = []
    for i, title in enumerate(titles):
        terms = analyzer.terms(title)
        docs.append((i, terms, 1.0, sum(t not in NEUTRAL for t in terms) or 1))
    return docs


def create_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE TABLE search_docs (system VARCHAR, doc_id INTEGER, code_index INTEGER, length FLOAT)")
    conn.execute("CREATE TABLE search_terms (system VARCHAR, term_id INTEGER, term VARCHAR)")
    conn.execute("CREATE TABLE search_postings (system VARCHAR, term_id INTEGER, doc_id INTEGER, weight FLOAT)")
    conn.execute("CREATE TABLE search_index_terms (system VARCHAR, phrase VARCHAR, term VARCHAR, code VARCHAR)")


def write_index(conn: duckdb.DuckDBPyConnection, system: str, docs: list[Doc],
                index_terms: dict[str, str] | None = None, codes: list[str] | None = None) -> dict[str, int]:
    """Compute the BM25 postings for one code system and store them (called by ``build-data``)."""
    analyzer = Analyzer.from_database(conn)
    lengths = np.array([d[3] for d in docs], dtype=np.float32)
    avg = float(lengths.mean()) if len(docs) else 1.0
    postings: dict[str, list[tuple[int, int]]] = {}
    for doc_id, (_, terms, _, _) in enumerate(docs):
        counts: dict[str, int] = {}
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
        for term, tf in counts.items():
            postings.setdefault(term, []).append((doc_id, tf))
    vocabulary = sorted(postings)
    term_ids, doc_ids, weights = [], [], []
    field = np.array([d[2] for d in docs], dtype=np.float32)
    for term_id, term in enumerate(vocabulary):
        plist = postings[term]
        ids = np.array([p[0] for p in plist], dtype=np.int32)
        tf = np.array([p[1] for p in plist], dtype=np.float32)
        idf = np.log(1 + (len(docs) - len(plist) + 0.5) / (len(plist) + 0.5))
        norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[ids] / avg))
        term_ids.append(np.full(len(ids), term_id, dtype=np.int32))
        doc_ids.append(ids)
        weights.append((idf * norm * field[ids]).astype(np.float32))

    doc_frame = pd.DataFrame({"system": system, "doc_id": np.arange(len(docs), dtype=np.int32),
                              "code_index": np.array([d[0] for d in docs], dtype=np.int32), "length": lengths})
    term_frame = pd.DataFrame({"system": system, "term_id": np.arange(len(vocabulary), dtype=np.int32),
                               "term": vocabulary})
    empty = np.array([], dtype=np.int32)
    posting_frame = pd.DataFrame({"system": system,
                                  "term_id": np.concatenate(term_ids) if term_ids else empty,
                                  "doc_id": np.concatenate(doc_ids) if doc_ids else empty,
                                  "weight": np.concatenate(weights) if weights else np.array([], dtype=np.float32)})
    conn.execute("INSERT INTO search_docs SELECT * FROM doc_frame")
    conn.execute("INSERT INTO search_terms SELECT * FROM term_frame")
    conn.execute("INSERT INTO search_postings SELECT * FROM posting_frame ORDER BY term_id, doc_id")

    rows = []
    known = set(codes or [])
    for term, code in (index_terms or {}).items():
        if code not in known:
            raise ValueError(f"index term '{term}' points at {code}, which is not a {system} code")
        rows.append((system, analyzer.phrase(term), term, code))
    if rows:
        conn.executemany("INSERT INTO search_index_terms VALUES (?, ?, ?, ?)", rows)
    return {"documents": len(docs), "terms": len(vocabulary), "postings": int(len(posting_frame))}


# --- query time --------------------------------------------------------------------------

class SearchIndex:
    def __init__(self, conn: duckdb.DuckDBPyConnection, system: str, codes: list[str], descriptions: list[str],
                 billable: np.ndarray, code_shaped: Callable[[str], str | None] | None = None) -> None:
        """``codes``/``descriptions``/``billable``: the system's searchable codes, in the order the
        build indexed them (for ICD-10-CM, the loaded code set's own strings, shared, not copied).
        ``code_shaped`` turns a query that looks like a code into its canonical form."""
        self.system = system
        self.codes, self.descriptions, self.billable = codes, descriptions, billable
        self.code_shaped = code_shaped
        self.position = {code: i for i, code in enumerate(self.codes)}
        docs = conn.execute("SELECT code_index, length FROM search_docs WHERE system = ? ORDER BY doc_id",
                            [system]).fetchnumpy()
        self.doc_code = np.asarray(docs["code_index"], dtype=np.int32)
        self.doc_length = np.asarray(docs["length"], dtype=np.float32)
        self.vocabulary: list[str] = conn.execute(
            "SELECT term FROM search_terms WHERE system = ? ORDER BY term_id", [system]).fetchnumpy()["term"].tolist()
        postings = conn.execute("SELECT term_id, doc_id, weight FROM search_postings WHERE system = ? "
                                "ORDER BY term_id, doc_id", [system]).fetchnumpy()
        term_ids = np.asarray(postings["term_id"])
        doc_ids = np.asarray(postings["doc_id"], dtype=np.int32)
        weights = np.asarray(postings["weight"], dtype=np.float32)
        bounds = np.searchsorted(term_ids, np.arange(len(self.vocabulary) + 1))
        self.postings = {term: (doc_ids[bounds[i]:bounds[i + 1]], weights[bounds[i]:bounds[i + 1]])
                         for i, term in enumerate(self.vocabulary)}
        self.analyzer = Analyzer.from_database(conn)
        self.index_terms = {phrase: code for phrase, code in conn.execute(
            "SELECT phrase, code FROM search_index_terms WHERE system = ?", [system]).fetchall()}
        self.n_docs = len(self.doc_code)

    def concepts(self, query: str) -> list[list[str]]:
        """Each query word becomes one concept: the index terms any of which matches it."""
        words = self.analyzer.query_words(query)
        concepts, seen = [], set()
        last = len(words) - 1
        for i, word in enumerate(words):
            term = self.analyzer.term(word)
            if term is None or term in seen:
                continue
            seen.add(term)
            options = [t for t in (term, self.analyzer.term(self.analyzer.alternatives.get(word, "")) or "")
                       if t in self.postings]
            if options:
                concepts.append(options)
            elif i == last and len(word) >= 3 and not query.endswith(" "):
                concepts.append(self._completions(word))  # may be empty: an unmatched word
            else:
                concepts.append([])
        return concepts

    def _completions(self, prefix: str, limit: int = 12) -> list[str]:
        start = bisect.bisect_left(self.vocabulary, prefix)
        found = []
        for term in self.vocabulary[start:]:
            if not term.startswith(prefix):
                break
            found.append(term)
        found.sort(key=lambda t: -len(self.postings[t][0]))
        return found[:limit]

    def search(self, query: object, limit: int = 10) -> list[dict]:
        text = normalize.as_text(query)
        if text is None or not text.strip():
            return []
        try:
            limit = max(1, min(int(limit), 500))
        except (TypeError, ValueError):
            limit = 10
        by_code = self._code_prefix(text, limit)
        if by_code is not None:
            return by_code
        concepts = self.concepts(text)
        usable = [c for c in concepts if c]
        if not usable:
            return []
        scores = np.zeros(self.n_docs, dtype=np.float32)
        matched = np.zeros(self.n_docs, dtype=np.float32)
        for terms in usable:
            if len(terms) == 1:
                ids, weights = self.postings[terms[0]]
            else:  # a prefix: the best of its completions per document
                ids = np.concatenate([self.postings[t][0] for t in terms])
                weights = np.concatenate([self.postings[t][1] for t in terms])
                order = np.lexsort((-weights, ids))
                ids, weights = ids[order], weights[order]
                first = np.ones(len(ids), dtype=bool)
                first[1:] = ids[1:] != ids[:-1]
                ids, weights = ids[first], weights[first]
            scores[ids] += weights
            matched[ids] += 1
        hit = np.flatnonzero(matched)
        coverage = matched[hit] / len(concepts)
        precision = np.minimum(1.0, matched[hit] / self.doc_length[hit])
        doc_scores = scores[hit] * coverage * coverage * (0.6 + 0.4 * precision)
        codes = self.doc_code[hit]
        order = np.lexsort((-doc_scores, codes))  # best document per code
        codes, doc_scores = codes[order], doc_scores[order]
        first = np.ones(len(codes), dtype=bool)
        first[1:] = codes[1:] != codes[:-1]
        codes, doc_scores = codes[first], doc_scores[first]
        doc_scores = np.round(doc_scores * np.where(self.billable[codes], BILLABLE_BONUS, 1.0), 4)
        default = self._index_default(text, concepts)
        if default is not None:
            doc_scores[codes == self.position[default]] = np.inf
        take = min(limit, len(codes))
        # every candidate that ties with the k-th best stays in the running (argpartition alone
        # would pick among ties at random), then score first, tabular order second
        kth = np.partition(-doc_scores, take - 1)[take - 1]
        candidates = np.flatnonzero(-doc_scores <= kth)
        top = candidates[np.lexsort((codes[candidates], -doc_scores[candidates]))][:take]
        rows = [self._row(int(codes[i])) for i in top]
        if default is not None and rows[0]["code"] != default:  # the default matched no word
            rows = [self._row(self.position[default])] + [r for r in rows if r["code"] != default][: limit - 1]
        return rows

    def _index_default(self, text: str, concepts: list[list[str]]) -> str | None:
        """The Index's default code when the query is one of its main terms (or is being typed)."""
        phrase = self.analyzer.phrase(text)
        if phrase in self.index_terms:
            return self.index_terms[phrase]
        words = phrase.split()
        if words and concepts and concepts[-1] and words[-1] not in self.postings:
            completed = " ".join(words[:-1] + [concepts[-1][0]])
            return self.index_terms.get(completed)
        return None

    def _row(self, idx: int) -> dict:
        return {"code": self.codes[idx], "description": self.descriptions[idx], "billable": bool(self.billable[idx])}

    def _code_prefix(self, text: str, limit: int) -> list[dict] | None:
        """A query shaped like a code (``E11.6``, ``e116``) browses the code set from there."""
        if self.code_shaped is None or " " in text.strip():
            return None
        code = self.code_shaped(text)
        if not code:
            return None
        start = self.position.get(code)
        compact = code.replace(".", "")
        if start is None:  # a partial code (5A1): every code it begins, in the code set's order
            rows = [self._row(i) for i, c in enumerate(self.codes) if c.replace(".", "").startswith(compact)]
            return rows[:limit] or None
        rows = [self._row(start)]
        for idx in range(start + 1, len(self.codes)):
            if len(rows) >= limit or not self.codes[idx].replace(".", "").startswith(compact):
                break
            rows.append(self._row(idx))
        return rows


_lock = threading.Lock()
_indexes: dict[str, SearchIndex] = {}
db.on_reconnect(_indexes.clear)


def index(system: str = "icd10cm") -> SearchIndex:
    """The search index for ``system``, loaded on first use in this process."""
    from . import code_set

    with _lock:
        if system not in _indexes:
            _indexes[system] = code_set(system).search_index()
        return _indexes[system]
