"""Golden test of the USAT encoder the armv7m backend added (encode.t1_usat, used to clamp
region limits at zero), against GNU as; refused operands raise EncodingError."""

from __future__ import annotations

import pytest
from golden.gnu_as import THUMB_AS, THUMB_PROLOGUE, assemble

from femtojit.backends.armv7m import encode as E
from femtojit.backends.armv7m.encode import Shift, SRType
from femtojit.backends.common.fields import EncodingError

NAMES = E.REG_NAMES


def _cases():
    for rd in (0, 1, 7, 8, 12, 14):
        for rn in (0, 3, 7, 9, 12, 14):
            for sat in (0, 1, 16, 31):
                yield rd, sat, rn, None
    for kind in (SRType.LSL, SRType.ASR):
        for amount in (1, 2, 3, 4, 17, 31):
            yield 2, 5, 9, Shift(kind, amount)


def test_usat_matches_gnu_as():
    cases = list(_cases())
    texts = [f"usat {NAMES[rd]}, #{sat}, {NAMES[rn]}"
             + (f", {shift.kind.name.lower()} #{shift.amount}" if shift else "")
             for rd, sat, rn, shift in cases]
    got = assemble(THUMB_AS, THUMB_PROLOGUE, texts)
    for (rd, sat, rn, shift), text, (_, expected) in zip(cases, texts, got):
        assert E.t1_usat(rd, sat, rn, shift) == expected, text


@pytest.mark.parametrize("args", [(13, 31, 1, None), (1, 31, 15, None), (1, 32, 1, None),
                                  (1, -1, 1, None), (1, 5, 2, Shift(SRType.LSR, 3)),
                                  (1, 5, 2, Shift(SRType.ASR, 32)),
                                  (1, 5, 2, Shift(SRType.LSL, 0))])
def test_usat_refuses(args):
    with pytest.raises(EncodingError):
        E.t1_usat(*args)
