"""No input from Python crashes the interpreter: hostile shapes, dtypes, values and types to every public
function, constructor and method raise Python exceptions; huge allocations raise MemoryError."""

from __future__ import annotations

import pytest

from helpers import run_fuzzer

EXAMPLES = 40
"""Hypothesis examples per fuzzed callable (derandomized: the same cases every run)."""


@pytest.mark.slow
def test_no_input_crashes_the_interpreter(tmp_path) -> None:
    report = run_fuzzer("fuzz_inputs.py", tmp_path, EXAMPLES)
    assert not report["failures"], "\n".join(report["failures"])
    assert report["errors"].get("MemoryError", 0) >= report["cases"]["huge sizes"]
    assert sum(report["cases"].values()) > 3000
    print(f"\nhostile inputs: {report['cases']} in {report['seconds']} s; exceptions raised: {report['errors']}")
