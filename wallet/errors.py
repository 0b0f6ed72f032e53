"""One error class per broken wallet rule. ``api`` maps each to an HTTP problem in one table."""

from __future__ import annotations


class WalletError(Exception):
    """Base of every wallet-domain error."""

    code = "wallet_error"


class NotFound(WalletError):
    """The thing does not exist, or the caller may not see it (the two are not told apart)."""

    code = "not_found"


class NotAllowed(WalletError):
    """The caller can see the thing but their role may not do this to it."""

    code = "not_allowed"


class NotSignedIn(WalletError):
    """The request carries no valid session or API token."""

    code = "not_signed_in"


class SignInFailed(WalletError):
    """The email and password do not match an active account."""

    code = "sign_in_failed"


class TooManySignInAttempts(WalletError):
    """Too many failed sign-ins for this account or address recently; wait and try again."""

    code = "too_many_sign_in_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int = 60) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UnknownCode(WalletError):
    """A need code, purchase category or other code is not in Tide's lists."""

    code = "unknown_code"


class FamilyClosed(WalletError):
    """A closed family's case takes no new needs or purchases."""

    code = "family_closed"


class NeedNotOpen(WalletError):
    """A purchase must answer at least one of the family's open needs."""

    code = "need_not_open"


class NoWallet(WalletError):
    """Only a key worker with a wallet can make a purchase."""

    code = "no_wallet"


class WalletSuspended(WalletError):
    """A suspended wallet spends nothing until a manager clears it."""

    code = "wallet_suspended"


class PurchaseNotInState(WalletError):
    """The purchase is not in a state that allows this step (e.g. capturing a cancelled one)."""

    code = "purchase_not_in_state"


class ReceiptRejected(WalletError):
    """A receipt must be a JPEG or PNG photo or a PDF (by content, not by name) that its parser can read,
    within the size limit."""

    code = "receipt_rejected"


class ReceiptUnsafe(WalletError):
    """A receipt may not run or carry anything: no PDF JavaScript, actions or embedded files, no
    photo declaring more pixels than a receipt could have (a decompression bomb)."""

    code = "receipt_unsafe"


class ReceiptErased(WalletError):
    """A receipt's file is erased once the retention schedule says it is due; the row stays."""

    code = "receipt_erased"


class ReceiptDamaged(WalletError):
    """A receipt's file must still be the one uploaded: missing, or not matching its SHA-256, it is not served."""

    code = "receipt_damaged"


class UnknownFamilyReference(WalletError):
    """A subject access request names a family reference Tide holds."""

    code = "unknown_family_reference"


class InvalidPolicy(WalletError):
    """A spend policy document that does not make sense (negative limits, unknown scopes)."""

    code = "invalid_policy"


class DuplicateRecord(WalletError):
    """A record that must be unique already exists (an email, a team name, a cost centre)."""

    code = "duplicate_record"


class NothingToChange(WalletError):
    """The request would change nothing (e.g. closing a family that is already closed)."""

    code = "nothing_to_change"


class DatesOutOfOrder(WalletError):
    """A later event cannot be dated before an earlier one (a case closed before it opened)."""

    code = "dates_out_of_order"


class AllowanceAlreadyUsed(WalletError):
    """An allowance lets exactly one purchase through; this one has been used."""

    code = "allowance_already_used"


class AdminHoldsNoWallet(WalletError):
    """An admin holds no wallet and no key worker role; someone who does is not made an admin."""

    code = "admin_holds_no_wallet"


class OwnGrantRefused(WalletError):
    """Nobody grants a role to themselves, nor confirms a change they proposed."""

    code = "own_grant_refused"


class SecondPersonNeeded(WalletError):
    """Granting a role, publishing the policy and funding a pot above the threshold are proposed by
    one person and take effect only when a different person confirms them."""

    code = "second_person_needed"


class ProposalAlreadyDecided(WalletError):
    """A proposal is confirmed or refused once."""

    code = "proposal_already_decided"


class TokenIsReadOnly(WalletError):
    """A read-only API token may only read: it cannot change anything."""

    code = "token_is_read_only"


class PasswordTooShort(WalletError):
    """A password is at least ``wallet.passwords.MIN_LENGTH`` characters: length, not symbols, makes it strong."""

    code = "password_too_short"


class PasswordTooLong(WalletError):
    """A password is at most ``wallet.passwords.MAX_LENGTH`` characters (a passphrase fits; a megabyte does not)."""

    code = "password_too_long"


class PasswordTooCommon(WalletError):
    """A password on the list of commonly used (and so first guessed) passwords is refused."""

    code = "password_too_common"


class PasswordSignInOff(WalletError):
    """This council signs its staff in through its identity provider: passwords are switched off."""

    code = "password_sign_in_off"


class SingleSignOnFailed(WalletError):
    """The identity provider's answer was not accepted (bad state, signature, issuer, audience,
    tenant, nonce or expiry), or single sign-on is not set up."""

    code = "single_sign_on_failed"


class NoRoleMapped(WalletError):
    """Signing in through the identity provider needs a person Tide knows, or a group that maps to a role."""

    code = "no_role_mapped"


class OwnAdminRoleKept(WalletError):
    """Nobody revokes their own admin role nor deactivates themselves: another admin must."""

    code = "own_admin_role_kept"


class FundingSourceNotEligible(WalletError):
    """A purchase is charged only to a pot whose grant funds its category, need and team and is
    within its dates."""

    code = "funding_source_not_eligible"


class FundingSourceNotFunded(WalletError):
    """A purchase is charged only to a pot that put at least its amount into the buyer's wallet
    (and not yet spent or returned it); a return gives back only what that pot put in."""

    code = "funding_source_not_funded"


class NotAUkMobile(WalletError):
    """A work mobile is a UK mobile number, written in E.164 (+447 and nine digits) or as 07… (11 digits)."""

    code = "not_a_uk_mobile"


class BadBankDetails(WalletError):
    """A sort code and account number must be in the published format and pass Vocalink's modulus check."""

    code = "bad_bank_details"

    def __init__(self, message: str, *, part: str = "account_number") -> None:
        super().__init__(message)
        #: Which of the two was wrong (``sort_code`` or ``account_number``), for a form to mark.
        self.part = part


class SupplierNotConfirmed(WalletError):
    """A supplier is paid, or invoiced against, only once a second finance person has confirmed it."""

    code = "supplier_not_confirmed"


class NothingToPay(WalletError):
    """A payment run needs at least one approved invoice or reimbursement."""

    code = "nothing_to_pay"


class ReceiptNeeded(WalletError):
    """An invoice or reimbursement is approved for payment only with its invoice or receipt attached."""

    code = "receipt_needed"


class BadSupplierDetails(WalletError):
    """A supplier needs a name and an address, and a VAT number (if any) in the UK format."""

    code = "bad_supplier_details"

    def __init__(self, message: str, *, part: str = "name") -> None:
        super().__init__(message)
        #: Which detail was wrong (``name``, ``address`` or ``vat_number``), for a form to mark.
        self.part = part


class WorkerBankDetailsNeeded(WalletError):
    """A reimbursement is paid only to the worker's own bank account once a second person has confirmed it."""

    code = "worker_bank_details_needed"


class NoSixMonthCheck(WalletError):
    """A six-month check is due only once the case has closed; this family's is still open."""

    code = "no_six_month_check"


class SixMonthCheckAlreadyRecorded(WalletError):
    """A family's six-month check is recorded once; what it found is not changed afterwards."""

    code = "six_month_check_already_recorded"


class NoteLooksPersonal(WalletError):
    """Free text kept by Tide must not hold a person's name, an identifier or a need-revealing
    organisation."""

    code = "note_looks_personal"
