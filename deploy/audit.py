#!/usr/bin/env python3
"""Dependency audit: pip-audit over the packages installed in the project's virtual env.

    python deploy/audit.py [--pip-audit PATH] [--site-packages DIR] [--report FILE]

pip-audit runs from its own virtual env (build/audit-venv, made by `make audit`), because
it needs a newer `packaging` than Rasa 3.6 allows; it audits the project's env by path.
Known vulnerabilities that do not apply to this deployment are listed, each with its
reason, in deploy/audit-ignore.txt (`ID  package  reason`) and passed as --ignore-vuln.

Exit status: 0 no known vulnerability (other than the documented ones); 1 vulnerabilities
found; 2 the audit could not be done - pip-audit asks PyPI's JSON API for each package
version, and when not a single package could be looked up the result says nothing
(set AUDIT_ALLOW_UNREACHABLE=1 to accept that, e.g. on a network without that API).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ignored(path: Path):
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            vuln_id, package, reason = (line.split(None, 2) + ["", ""])[:3]
            if not reason:
                raise SystemExit(f"{path}: {vuln_id} has no reason")
            rows.append((vuln_id, package, reason))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pip-audit", default=str(ROOT / "build" / "audit-venv" / "bin" / "pip-audit"))
    parser.add_argument("--site-packages", default=None, help="default: the site-packages of .venv")
    parser.add_argument("--ignore-file", type=Path, default=ROOT / "deploy" / "audit-ignore.txt")
    parser.add_argument("--report", type=Path, default=ROOT / "build" / "audit" / "pip-audit.json")
    args = parser.parse_args()

    site = args.site_packages
    if site is None:
        found = sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
        if not found:
            raise SystemExit("no .venv found: run `make venv` first")
        site = str(found[-1])
    args.report.parent.mkdir(parents=True, exist_ok=True)
    ignores = ignored(args.ignore_file) if args.ignore_file.exists() else []
    cmd = [
        args.pip_audit,
        "--path",
        site,
        "--format",
        "json",
        "--output",
        str(args.report),
        "--progress-spinner",
        "off",
    ]
    for vuln_id, _, _ in ignores:
        cmd += ["--ignore-vuln", vuln_id]
    proc = subprocess.run(cmd, text=True, capture_output=True)
    if not args.report.exists():
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return 2
    report = json.loads(args.report.read_text())
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]

    print(
        f"audit: {len(deps)} installed packages, {len(audited)} looked up, "
        f"{len(deps) - len(audited)} could not be looked up"
    )
    for vuln_id, package, reason in ignores:
        print(f"  documented, not applicable: {vuln_id} ({package}): {reason}")
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix released"
            print(f"  VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in: {fixes})")
    print(f"  full report: {args.report}")
    if vulnerable:
        print("audit: FAILED - upgrade (constraints.txt) or document in deploy/audit-ignore.txt with the reason")
        return 1
    if not audited:
        print("audit: INCOMPLETE - no package could be looked up (is PyPI's JSON API reachable from here?)")
        return 0 if os.environ.get("AUDIT_ALLOW_UNREACHABLE") == "1" else 2
    print("audit: no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
