"""Properties of the money rules, for any amounts Hypothesis can think of."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.money import pence_from_pounds, pounds
from reports import vat

PENCE = st.integers(min_value=-(10**12), max_value=10**12)
POSITIVE = st.integers(min_value=1, max_value=10**9)


@given(PENCE)
def test_pounds_written_and_read_back_are_the_same_pence(pence: int) -> None:
    assert pence_from_pounds(pounds(pence)) == pence


@given(
    gross=POSITIVE,
    purchase_amount=POSITIVE,
    evidence=st.sampled_from(["vat_receipt", "no_vat_evidence", "outside_scope"]),
    rate=st.sampled_from([None, "20", "5", "0", "exempt"]),
    method=st.sampled_from(["card", "invoice"]),
    receipt=st.booleans(),
)
def test_a_refund_carries_exactly_the_negative_vat_of_a_capture_of_the_same_size(
    *, gross: int, purchase_amount: int, evidence: str, rate: str | None, method: str, receipt: bool
) -> None:
    facts = {
        "purchase_amount": purchase_amount,
        "vat_evidence": evidence,
        "vat_rate": rate,
        "vat_amount": None,
        "payment_method": method,
        "has_receipt": receipt,
    }
    capture = vat.split(gross=gross, **facts)  # type: ignore[arg-type]
    refund = vat.split(gross=-gross, **facts)  # type: ignore[arg-type]

    assert refund.recoverable == -capture.recoverable
    assert refund.irrecoverable == -capture.irrecoverable
    assert refund.treatment == capture.treatment
    assert 0 <= capture.recoverable + capture.irrecoverable <= gross
    assert capture.recoverable == 0 or capture.irrecoverable == 0


@given(POSITIVE, st.integers(min_value=0, max_value=10**9))
def test_recorded_vat_scaled_to_a_movement_never_exceeds_the_movement(gross: int, recorded: int) -> None:
    purchase_amount = max(gross, recorded)
    content = vat.vat_content(gross=gross, purchase_amount=purchase_amount, vat_rate=None, vat_amount=recorded)

    assert content is not None
    assert 0 <= content <= gross
