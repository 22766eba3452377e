"""The bpf_conformance suite: reading its .data files (parser.py)."""

from femtojit.conformance.parser import ConformanceTest, load_suite, parse_file, parse_text

__all__ = ["ConformanceTest", "load_suite", "parse_file", "parse_text"]
