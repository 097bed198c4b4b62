"""What the fuzz tests share: their settings and a few strategies."""

from __future__ import annotations

import os

from hypothesis import settings
from hypothesis import strategies as st

__all__ = ["ATTACK_TEXT", "fuzz", "json_values"]

_LONG = bool(os.environ.get("LUCIA_FUZZ_EXAMPLES"))


def fuzz(examples: int) -> settings:
    """The settings of one fuzz test: ``examples`` derandomized examples under the ``ci``
    profile, or ``LUCIA_FUZZ_EXAMPLES`` random ones when that is set."""
    if _LONG:
        return settings(settings.get_profile("lucia-fuzz-long"))
    return settings(settings.get_profile("ci"), max_examples=examples)


# Characters that matter to URL, cookie, header and path parsers, plus look-alikes
# (fullwidth solidus and reverse solidus, division slash, NUL, DEL, C1 controls).
_SPECIAL = (
    "/\\:@%.;,=\"' \t\r\n\x00\x0b\x0c\x7f\x85\x9b?#&+-_~!$()*[]{}<>|^`"
    "\uff0f\uff3c\u2215\u2044\u3002\uff0e\ufe52\u00a0\u200b"
)
ATTACK_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(_SPECIAL),
        st.sampled_from("abcehjlmostvwxyzEHJLST0123456789"),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
)
"""Short strings drawn mostly from the characters that parsers trip on."""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=6,
)
"""Any JSON value of modest size."""
