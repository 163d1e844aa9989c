"""JUnit XML for CI: one ``testsuite`` per test file, one ``testcase`` per case.

A case's ``classname`` is its test file, its ``name`` the case's name; its requirement ids
are ``property`` elements; a failed case has one ``failure`` whose message is the first
``file:line: case NAME: expected X, got Y`` and whose text holds every failure with the
explanation; a case that could not run has an ``error``. A test file that could not be
loaded is a suite with one ``testcase`` named ``load`` and an ``error`` per problem.

Example::

    write_junit(run_tests(["rulesets/"]), "out/ruleset-tests.xml")
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from engine.errors import RulesetError
from simulator.testing.cases import CaseResult
from simulator.testing.suite import TestRun

__all__ = ["junit_xml", "write_junit"]


def junit_xml(run: TestRun) -> bytes:
    """The run as JUnit XML (UTF-8, with an XML declaration).

    Example:
        >>> from simulator.testing.suite import TestRun
        >>> junit_xml(TestRun((), (), (), ()))[:38]
        b"<?xml version='1.0' encoding='utf-8'?>"
    """
    root = ET.Element("testsuites", name="rulebridge test")
    by_file: dict[str, list[CaseResult]] = defaultdict(list)
    for result in run.results:
        by_file[result.case.file].append(result)
    for test_file in run.files:
        _suite(root, test_file.path, by_file.get(test_file.path, []))
    broken: dict[str, list[RulesetError]] = defaultdict(list)
    for error in run.errors:
        broken[error.path].append(error)
    for path, errors in broken.items():
        _broken_suite(root, path, errors)
    root.set("tests", str(sum(int(s.get("tests", "0")) for s in root)))
    root.set("failures", str(sum(int(s.get("failures", "0")) for s in root)))
    root.set("errors", str(sum(int(s.get("errors", "0")) for s in root)))
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _suite(root: ET.Element, path: str, results: list[CaseResult]) -> None:
    failures = sum(1 for r in results if r.failures and r.error is None)
    errors = sum(1 for r in results if r.error is not None)
    suite = ET.SubElement(
        root,
        "testsuite",
        name=path,
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{sum(result.seconds for result in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=path,
            name=result.case.name,
            time=f"{result.seconds:.3f}",
            file=path,
            line=str(result.case.line),
        )
        if result.case.requirements:
            properties = ET.SubElement(case, "properties")
            for requirement in result.case.requirements:
                ET.SubElement(properties, "property", name="requirement", value=requirement)
        if result.passed:
            continue
        messages = result.messages()
        text = "\n".join([*messages, *result.explanation])
        tag = "error" if result.error is not None else "failure"
        element = ET.SubElement(case, tag, message=messages[0], type="expectation")
        element.text = text


def _broken_suite(root: ET.Element, path: str, errors: list[RulesetError]) -> None:
    suite = ET.SubElement(
        root, "testsuite", name=path, tests="1", failures="0", errors="1", skipped="0"
    )
    case = ET.SubElement(suite, "testcase", classname=path, name="load", time="0")
    element = ET.SubElement(case, "error", message=str(errors[0]), type="invalid-test-file")
    element.text = "\n".join(str(error) for error in errors)


def write_junit(run: TestRun, path: str | os.PathLike[str]) -> Path:
    """Write the run as JUnit XML to `path` (replaced whole, never half written).

    Returns:
        The file written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".junit-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(junit_xml(run))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
