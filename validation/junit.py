"""Reports as JUnit XML (one testcase per check) and JSON, for CI pipelines."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from validation.report import Report


def to_json(report: Report | Iterable[Report], indent: int | None = 2) -> str:
    """`dataclasses.asdict` of one report (or a list of them) as JSON."""
    data = dataclasses.asdict(report) if isinstance(report, Report) else [dataclasses.asdict(r) for r in report]
    return json.dumps(data, indent=indent, allow_nan=False, default=str)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def to_junit(reports: Report | Iterable[Report], name: str = "meshsmith") -> str:
    """JUnit XML: a testsuite per profile, a testcase per check; fail -> <failure>, warn -> <system-out>."""
    reports = [reports] if isinstance(reports, Report) else list(reports)
    root = ET.Element("testsuites", name=name)
    total = failed = 0
    for rep in reports:
        fails = sum(c.level == "fail" for c in rep.checks)
        suite = ET.SubElement(root, "testsuite", name=f"{name}.{rep.profile}", tests=str(len(rep.checks)),
                              failures=str(fails), errors="0", skipped="0")
        for c in rep.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{name}.{rep.profile}", name=c.id)
            detail = f"{c.id}: {_fmt(c.value)} {c.unit} (threshold {_fmt(c.threshold)}): {c.message}"
            if c.level == "fail":
                ET.SubElement(case, "failure", message=c.message, type="fail").text = detail
            elif c.level == "warn":
                ET.SubElement(case, "system-out").text = f"WARNING {detail}"
        total += len(rep.checks)
        failed += fails
    root.set("tests", str(total))
    root.set("failures", str(failed))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
