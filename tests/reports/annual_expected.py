"""The annual report's figures worked out again in plain Python from the generated rows
(:mod:`tests.reports.annual_world`), without the report's SQL: each table as
``{group label: [(value, basis), ...]}``."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tests.reports.annual_world import DRIVERS, LOCALITIES, County, GNeed, GReview
from wallet.taxonomy import CATEGORIES, NEEDS, OUTCOMES

Figures = dict[str, list[tuple[int | None, int]]]
DRIVER_LABELS = {"DA": "Domestic abuse", "SUB": "Parental substance misuse", "HLT-MH": "Parental mental health"}


class Expected:
    def __init__(self, county: County, year: int) -> None:
        self.c = county
        self.first, self.end = date(year, 4, 1), date(year + 1, 4, 1)
        self.year = year
        self.family = {f.id: f for f in county.families}
        self.need = {n.id: n for n in county.needs}
        self.bought = [p for p in county.purchases if p.captured > 0 and self.inside(p.day)]
        self.shares = self._shares()

    def inside(self, day: date) -> bool:
        return self.first <= day < self.end

    def _shares(self) -> list[tuple[int, int, int]]:
        """(purchase id, need id, share) of the year's net spend, split to the penny by need id."""
        out = []
        for p in self.bought:
            net, k = p.captured - p.refunded, len(p.need_ids)
            base, rest = net // k, net - (net // k) * k
            for rank, need_id in enumerate(sorted(p.need_ids), start=1):
                out.append((p.id, need_id, base + (1 if rank <= rest else 0)))
        return out

    def identified(self) -> list[GNeed]:
        return [n for n in self.c.needs if self.inside(n.identified_on)]

    def demand_by_need(self) -> Figures:
        groups: dict[str, list[GNeed]] = defaultdict(list)
        for n in self.identified():
            groups[f"{n.code} {NEEDS[n.code].label}"].append(n)
        out = {label: _needs_and_families(ns) for label, ns in groups.items()}
        out["All needs"] = _needs_and_families(self.identified())
        return out

    def demand_by_driver(self) -> Figures:
        out = {}
        for code in DRIVERS:
            ns = [n for n in self.identified() if n.code == code and n.whose == "parent"]
            out[DRIVER_LABELS[code]] = _needs_and_families(ns)
        return out

    def demand_by_locality(self) -> Figures:
        grid: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for n in self.identified():
            month = n.identified_on.month
            quarter = {4: 1, 5: 1, 6: 1, 7: 2, 8: 2, 9: 2, 10: 3, 11: 3, 12: 3}.get(month, 4)
            grid[LOCALITIES[self.family[n.family_id].team]][quarter - 1] += 1
        out: Figures = {k: [(v, v) for v in (*q, sum(q))] for k, q in grid.items()}
        totals = [sum(q[i] for q in grid.values()) for i in range(4)]
        out["All localities"] = [(v, v) for v in (*totals, sum(totals))]
        return out

    def demand_over_years(self) -> Figures:
        counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for n in self.c.needs:
            fy = n.identified_on.year - (1 if n.identified_on.month < 4 else 0)
            if self.year - 2 <= fy <= self.year:
                counts[NEEDS[n.code].outcome][fy] += 1
        years = range(self.year - 2, self.year + 1)
        out: Figures = {f"{o} {label}": [(counts[o][y], counts[o][y]) for y in years] for o, label in OUTCOMES.items()}
        out["All needs"] = [(sum(counts[o][y] for o in OUTCOMES),) * 2 for y in years]
        return out

    def families_helped(self) -> Figures:
        purchases, families = len(self.bought), len({p.family_id for p in self.bought})
        first: dict[int, date] = {}
        for p in self.c.purchases:
            if p.captured > 0:
                for n in p.need_ids:
                    first[n] = min(first.get(n, p.day), p.day)
        waits = sorted(max((d - self.need[n].identified_on).days, 0) for n, d in first.items() if self.inside(d))
        median = waits[(len(waits) - 1) // 2] if waits else None
        per = (purchases * 100 + families // 2) // families if families else None
        cells = [(families, families), (purchases, families), (per, families), (len(waits), len(waits))]
        return {"The year": [*cells, (median, len(waits))]}

    def spend_by_need(self) -> Figures:
        groups: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for s in self.shares:
            code = self.need[s[1]].code
            groups[f"{code} {NEEDS[code].label}"].append(s)
        groups["All needs"] = self.shares
        out: Figures = {}
        for label, rows in groups.items():
            p, f = len({r[0] for r in rows}), len({self.need[r[1]].family_id for r in rows})
            out[label] = [(p, f), (f, f), (sum(r[2] for r in rows), f)]
        return out

    def spend_by(self, what: str) -> Figures:
        def key(p: object) -> str:
            if what == "category":
                return CATEGORIES[p.category].label  # type: ignore[attr-defined]
            if what == "funding":
                return self.c.funding_names[p.funding]  # type: ignore[attr-defined]
            return self.c.team_names[p.team]  # type: ignore[attr-defined]

        groups = defaultdict(list)
        for p in self.bought:
            groups[key(p)].append(p)
        groups["All"] = self.bought
        out: Figures = {}
        for label, ps in groups.items():
            f = len({p.family_id for p in ps})
            out[label] = [(len(ps), f), (f, f), (sum(p.captured - p.refunded for p in ps), f)]
        return out

    def _latest(self, keep: object) -> dict[int, GReview]:
        best: dict[int, GReview] = {}
        for r in self.c.reviews:
            if keep(r):  # type: ignore[operator]
                now = best.get(r.need_id)
                if now is None or (r.reviewed_on, r.id) > (now.reviewed_on, now.id):
                    best[r.need_id] = r
        return best

    def at_review(self) -> dict[int, GReview]:
        return self._latest(lambda r: self.inside(r.reviewed_on))

    def outcomes_at_review(self) -> Figures:
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        for need_id, r in self.at_review().items():
            counts[NEEDS[self.need[need_id].code].outcome][("improved", "no_change", "worse").index(r.outcome)] += 1
        return _grid(counts)

    def check_states(self) -> dict[int, int]:
        """need id → 0 improved by closure and sustained, 1 improved not sustained, 2 not improved
        by closure, 3 the check could not contact the family: the needs of every family whose
        six-month check was recorded in the year."""
        checked = {c.family_id: c for c in self.c.checks if c.checked_on is not None and self.inside(c.checked_on)}

        def at_close(r: GReview) -> bool:
            family_id = self.need[r.need_id].family_id
            return family_id in checked and r.reviewed_on <= checked[family_id].closed_on

        close = self._latest(at_close)
        states = {}
        for need in self.c.needs:
            check = checked.get(need.family_id)
            if check is None:
                continue
            improved = need.id in close and close[need.id].outcome == "improved"
            if check.result == "could_not_contact":
                states[need.id] = 3
            else:
                states[need.id] = 0 if improved and check.result == "sustained" else 1 if improved else 2
        return states

    def outcomes_at_check(self) -> Figures:
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for need_id, state in self.check_states().items():
            counts[NEEDS[self.need[need_id].code].outcome][state] += 1
        out: Figures = {}
        for o, label in OUTCOMES.items():
            c = counts.get(o, [0, 0, 0, 0])
            out[f"{o} {label}"] = [(v, v) for v in (*c[:3], sum(c[:3]), c[3])]
        totals = [sum(counts.get(o, [0, 0, 0, 0])[i] for o in OUTCOMES) for i in range(4)]
        out["All needs"] = [(v, v) for v in (*totals[:3], sum(totals[:3]), totals[3])]
        return out

    def cost_per_improved(self, *, by_team: bool) -> Figures:
        spend: dict[int, int] = defaultdict(int)
        for _, need_id, share in self.shares:
            spend[need_id] += share
        reviewed = self.at_review()
        groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for need_id, pence in spend.items():
            if need_id in reviewed:
                n = self.need[need_id]
                outcome = NEEDS[n.code].outcome
                label = (
                    self.c.team_names[self.family[n.family_id].team] if by_team else f"{outcome} {OUTCOMES[outcome]}"
                )
                for g in (label, "All"):
                    groups[g][0] += 1
                    groups[g][1] += reviewed[need_id].outcome == "improved"
                    groups[g][2] += pence
        return {label: _cost(*figures) for label, figures in groups.items()}

    def returning(self) -> Figures:
        opened = [f for f in self.c.families if self.inside(f.opened_on)]
        back = [
            f
            for f in opened
            if any(
                g.case_id == f.case_id and g.id != f.id and g.closed_on and g.closed_on < f.opened_on
                for g in self.c.families
            )
        ]
        return {"The year": [(len(opened), len(opened)), (len(back), len(back))]}

    def headline(self) -> Figures:
        improved: dict[int, int] = defaultdict(int)
        for need_id, r in self.at_review().items():
            improved[NEEDS[self.need[need_id].code].outcome] += r.outcome == "improved"
        sustained: dict[int, int] = defaultdict(int)
        for need_id, state in self.check_states().items():
            sustained[NEEDS[self.need[need_id].code].outcome] += state == 0
        out: Figures = {}
        spend_basis = []
        for o, label in OUTCOMES.items():
            ns = [n for n in self.identified() if NEEDS[n.code].outcome == o]
            rows = [s for s in self.shares if NEEDS[self.need[s[1]].code].outcome == o]
            f = len({n.family_id for n in ns})
            sf = len({self.need[s[1]].family_id for s in rows})
            spend_basis.append(sf)
            cells: list[tuple[int | None, int]] = [
                (len(ns), f),
                (f, f),
                (sum(s[2] for s in rows), sf),
                (improved[o], improved[o]),
                (sustained[o], sustained[o]),
            ]
            out[f"{o} {label}"] = cells
        f = len({n.family_id for n in self.identified()})
        i, s = sum(improved.values()), sum(sustained.values())
        out["All"] = [
            (len(self.identified()), f),
            (f, f),
            (sum(x[2] for x in self.shares), max(spend_basis)),
            (i, i),
            (s, s),
        ]
        return out


def _needs_and_families(needs: list[GNeed]) -> list[tuple[int | None, int]]:
    f = len({n.family_id for n in needs})
    return [(len(needs), f), (f, f)]


def _grid(counts: dict[int, list[int]]) -> Figures:
    out: Figures = {}
    for o, label in OUTCOMES.items():
        c = counts.get(o, [0, 0, 0])
        out[f"{o} {label}"] = [(v, v) for v in (*c, sum(c))]
    totals = [sum(counts.get(o, [0, 0, 0])[i] for o in OUTCOMES) for i in range(3)]
    out["All needs"] = [(v, v) for v in (*totals, sum(totals))]
    return out


def _round(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _cost(reviewed: int, improved: int, pence: int) -> list[tuple[int | None, int]]:
    cost = low = high = None
    if improved:
        z = 1.959963984540054
        p, n = improved / reviewed, reviewed
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        lo, hi = max(centre - half, 0.0), min(centre + half, 1.0)
        cost = _round(Decimal(pence) / improved)
        low = round(pence / (hi * n))
        high = round(pence / (lo * n)) if lo > 0 else None
    return [
        (reviewed, reviewed),
        (improved, improved),
        (pence, reviewed),
        (cost, improved),
        (low, improved),
        (high, improved),
    ]
