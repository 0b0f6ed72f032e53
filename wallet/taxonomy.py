"""The two code sets Tide tags spending with, in Tide's own words.

Needs follow the Supporting Families National Outcome Framework's ten headline outcomes;
purchase categories describe what was bought. Both are fixed lists: a code outside them is
refused. Labels of purchase categories are what the Transparency Code file publishes as the
"summary of purpose" — never a need code.
"""

from __future__ import annotations

from dataclasses import dataclass

OUTCOMES: dict[int, str] = {
    1: "Getting a good education",
    2: "Good early years development",
    3: "Improved mental and physical health",
    4: "Promoting recovery and reducing harm from substance use",
    5: "Improved family relationships",
    6: "Children safe from abuse and exploitation",
    7: "Crime prevention and tackling crime",
    8: "Safe from domestic abuse",
    9: "Secure housing",
    10: "Financial stability",
}


@dataclass(frozen=True, slots=True)
class NeedCode:
    code: str
    label: str
    outcome: int


NEEDS: dict[str, NeedCode] = {
    n.code: n
    for n in (
        NeedCode("EDU-ATT", "Poor or persistent school absence", 1),
        NeedCode("EDU-EXC", "Suspension, exclusion or part-time timetable", 1),
        NeedCode("EDU-SEND", "Special educational need not being met", 1),
        NeedCode("EDU-NEET", "Young person aged 16 to 18 not in education, employment or training", 1),
        NeedCode("EYD-DEV", "Development or speech and language concern", 2),
        NeedCode("EYD-PRE", "Expectant or new parent needing support", 2),
        NeedCode("HLT-MH", "Mental or emotional health", 3),
        NeedCode("HLT-PH", "Physical health, disability or dental health", 3),
        NeedCode("SUB", "Drug or alcohol misuse", 4),
        NeedCode("REL-CONF", "Harmful conflict between parents", 5),
        NeedCode("REL-CPV", "Child-to-parent violence", 5),
        NeedCode("REL-PAR", "Parenting capacity or routines", 5),
        NeedCode("REL-CARER", "Young carer", 5),
        NeedCode("SAFE-EXP", "Criminal or sexual exploitation", 6),
        NeedCode("SAFE-MISS", "Missing episodes", 6),
        NeedCode("SAFE-NEG", "Neglect or poor home conditions", 6),
        NeedCode("CRM", "Offending or anti-social behaviour", 7),
        NeedCode("DA", "Domestic abuse", 8),
        NeedCode("HOU-RISK", "Homeless or at risk of losing the home", 9),
        NeedCode("HOU-COND", "Unsuitable or unfurnished home, or keeping a tenancy", 9),
        NeedCode("FIN-WORK", "Out of work or at risk of it", 10),
        NeedCode("FIN-DEBT", "Problem debt, food or fuel poverty", 10),
        NeedCode("FIN-INCL", "Digital or financial exclusion", 10),
    )
}

WHOSE_NEED = ("child", "parent", "household")
EVIDENCE_SOURCES = ("school", "police", "housing", "health", "self_report", "other_agency", "practitioner")
REVIEW_OUTCOMES = ("improved", "no_change", "worse")
CLOSURE_REASONS = ("outcomes_met", "step_up_to_social_care", "step_down_to_universal", "disengaged", "moved_away")
AGE_BANDS = ("unborn", "0-4", "5-10", "11-15", "16-18")


@dataclass(frozen=True, slots=True)
class PurchaseCategory:
    code: str
    label: str
    examples: str
    #: CIPFA SeRCOP expense group the general-ledger journal books it to.
    expense_group: str


CATEGORIES: dict[str, PurchaseCategory] = {
    c.code: c
    for c in (
        PurchaseCategory(
            "HH-ESS",
            "Family support - household essentials",
            "beds, bedding, white goods, furniture",
            "supplies_and_services",
        ),
        PurchaseCategory(
            "CLOTH", "Family support - clothing and school uniform", "uniform, shoes, clothing", "supplies_and_services"
        ),
        PurchaseCategory(
            "FOOD-VCH", "Family support - food and vouchers", "supermarket vouchers, gift cards", "transfer_payments"
        ),
        PurchaseCategory("TRAVEL", "Family support - travel", "bus passes, fares, fuel", "transport"),
        PurchaseCategory(
            "ACTIVITY", "Family support - activities", "leisure, clubs, days out", "supplies_and_services"
        ),
        PurchaseCategory(
            "LEARN", "Family support - learning", "books, tutoring, school meals and trips", "supplies_and_services"
        ),
        PurchaseCategory(
            "SEND-EQ",
            "Family support - special needs equipment",
            "sensory and special-needs equipment",
            "supplies_and_services",
        ),
        PurchaseCategory("SAFETY", "Family support - home safety", "door cameras, locks", "supplies_and_services"),
        PurchaseCategory(
            "HOUSING", "Family support - housing costs", "removal van, arrears, deposits", "transfer_payments"
        ),
        PurchaseCategory(
            "PARENT-DEV", "Family support - parenting courses", "courses and workshops", "third_party_payments"
        ),
        PurchaseCategory(
            "DIGITAL", "Family support - digital inclusion", "phones, data, laptops", "supplies_and_services"
        ),
        PurchaseCategory("HEALTH", "Family support - health", "dental, pharmacy", "supplies_and_services"),
        PurchaseCategory(
            "SERVICE",
            "Family support - commissioned sessions",
            "small sessions from a local provider",
            "third_party_payments",
        ),
        # Never allowed by the default policy; present so a card authorisation can be named and refused.
        PurchaseCategory("CASH", "Cash withdrawal", "ATM, cashback", "transfer_payments"),
        PurchaseCategory("GAMBLING", "Gambling", "betting, lottery", "supplies_and_services"),
        PurchaseCategory("ALCOHOL", "Alcohol", "off-licences, bars", "supplies_and_services"),
    )
}

PAYMENT_METHODS = ("card", "invoice", "reimbursement")
