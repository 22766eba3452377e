"""The verifier (static rules every program passes before it runs or is translated) and the
Femto-Container compatibility report."""

from femtojit.errors import VerifyError
from femtojit.verify.compat import CompatIssue, compat_report
from femtojit.verify.verifier import RULES, VerifyReport, verify, verify_all

__all__ = [
    "RULES",
    "CompatIssue",
    "VerifyError",
    "VerifyReport",
    "compat_report",
    "verify",
    "verify_all",
]
