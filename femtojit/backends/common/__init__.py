"""Target-independent machinery shared by the instruction encoders.

- `fields`: `EncodingError` and the checked field builders every encoder uses, so that a
  value that does not fit raises instead of being masked into a wrong instruction.
- `immediates`: `FieldImm`, the base of typed immediates (`Imm12`, `SImm12`, ...) whose
  constructor fails when the value does not fit and whose `try_encode` answers "does it fit?"
  without exceptions.
- `labels`: `LabelUse`, the description of one PC-relative instruction form (its reach, its
  alignment, its size) with `patch` to re-encode the displacement once the target is known.
"""
