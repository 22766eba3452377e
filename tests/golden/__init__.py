"""Oracles for the encoder golden tests: independent assemblers (GNU as) run once per test
module over many instructions, with each item's bytes read back from the object file."""
