"""Write screenshots of the dashboard's key pages to docs/img/ (the README shows them).

    .venv/bin/python scripts/screenshots.py [--out docs/img]

A throwaway home gets examples/ and a small workflow with an approval; `stigmer ui`'s
dashboard runs in this process over it, and Debian's Chromium (/usr/bin/chromium, or
$STIGMER_CHROMIUM), driven by Playwright, runs things through the pages and takes the
pictures. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RELEASE_GATE = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: release-gate, labels: {team: eng}}
spec:
  description: Prepares release notes for each channel, asks a person, then publishes.
  inputs:
    version: {type: string, description: The version to release}
    channels: {type: array, required: false, default: [web, mail, store]}
  tasks:
    - name: prepare
      set: {title: "Release ${workflow.inputs.version}"}
    - name: notes
      dependsOn: [prepare]
      forEach:
        items: "${workflow.inputs.channels}"
        do: {name: note, set: {channel: "${item}", text: "${tasks.prepare.outputs.title} on ${item}"}}
    - name: sign-off
      dependsOn: [prepare]
      approval: {message: "Publish ${tasks.prepare.outputs.title}?"}
    - name: publish
      dependsOn: [notes, sign-off]
      set: {published: true}
  outputs:
    title: "${tasks.prepare.outputs.title}"
    published: "${tasks.publish.outputs.published}"
"""


def _stigmer(*args: str) -> None:
    """Run the `stigmer` command of this venv (in the home of $STIGMER_HOME)."""
    subprocess.run([str(Path(sys.executable).parent / "stigmer"), *args], check=True, cwd=REPO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img", help="where the PNG files go")
    args = parser.parse_args(argv)
    chromium = os.environ.get("STIGMER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        print(f"screenshots: no Chromium at {chromium}: run ./scripts/bootstrap as root", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stigmer-shots-") as tmp:
        home = Path(tmp) / "home"
        os.environ.update(STIGMER_HOME=str(home), STIGMER_KEYRING="0", HOME=tmp)
        os.environ.pop("STIGMER_MODEL", None)
        # Agents' MCP servers start as `python examples/…`, from the repository, with this venv's python.
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        os.chdir(REPO)
        gate = Path(tmp) / "release-gate.yaml"
        gate.write_text(RELEASE_GATE, encoding="utf-8")
        _stigmer("init")
        _stigmer("apply", "-f", "examples/", "-f", str(gate))
        _stigmer("env", "create", "production", "--var", "REGION=eu-west-1", "--secret", "TOKEN=not-shown")
        shoot(args.out, chromium, home)
    for name in sorted(p.name for p in args.out.glob("*.png")):
        print(f"wrote {args.out / name}", file=sys.stderr)
    return 0


def shoot(out: Path, chromium: str, home: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from stigmer.backend.factory import open_backend
    from stigmer.config import load_config
    from stigmer.ui import Dashboard, DashboardOptions

    config = load_config(home)
    with (
        Dashboard(DashboardOptions(port=0), open_backend=lambda: open_backend(config)) as dashboard,
        sync_playwright() as driver,
    ):
        browser = driver.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
        page.set_default_timeout(30_000)
        url = dashboard.url
        phase = page.locator("#phase [data-phase]")

        # A few runs of every kind, so the list has something to show.
        page.goto(f"{url}#/workflows/order-update")
        page.click("#run")
        expect(phase).to_have_attribute("data-phase", "COMPLETED")
        page.goto(f"{url}#/agents/support-bot-scripted")
        page.fill('#run-agent textarea[name="message"]', "Where is order A-1?")
        page.click("#run")
        expect(phase).to_have_attribute("data-phase", "COMPLETED")
        page.screenshot(path=out / "agent-run.png", full_page=True)

        for version in ("1.4.0", "1.5.0"):
            page.goto(f"{url}#/workflows/release-gate")
            page.fill("#input-version", version)
            page.click("#run")
            expect(phase).to_have_attribute("data-phase", "WAITING_APPROVAL")
        page.locator("#approval").scroll_into_view_if_needed()
        time.sleep(0.3)  # let the graph's colours settle
        page.screenshot(path=out / "workflow-run.png", full_page=True)
        page.click('#approval [data-action="approve"]')
        expect(phase).to_have_attribute("data-phase", "COMPLETED")

        page.goto(f"{url}#/workflows/release-gate")
        expect(page.locator("#recent tbody tr")).to_have_count(2)
        page.screenshot(path=out / "workflow.png", full_page=True)
        page.goto(f"{url}#/executions")
        expect(page.locator("#executions tbody tr").first).to_be_visible()
        time.sleep(0.3)
        page.screenshot(path=out / "executions.png")
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
