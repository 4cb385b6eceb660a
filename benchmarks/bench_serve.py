"""The workbench's answer time, measured in Chromium: from a knob's change to the new numbers on the page.

    python benchmarks/bench_serve.py [--changes 20] [--counties 200]
    python benchmarks/bench_serve.py --smoke     # ewppt-2010 as LP, 3 changes: seconds, for the test suite

For each case a real uvicorn server (`create_app`, as `ewppt serve` runs it) on a loopback port
and a real Chromium page (Debian's, driven by Playwright). The page's own clock
(`performance.now()`) times each change: the knob's value is set and its change event fired,
then the page is watched until (a) the status line shows the solve (queued or solving) and
(b) the plan of the new revision is on the page. Each change moves the enterprise-finance
minimum to a new value (a Param move of the session's persistent model, no rebuild).

Cases: ewppt-2010 as LP and as MIP (its own model), and N generated counties as LP.
Targets (issue 22): ewppt-2010 LP p95 <= 0.5 s; the status line within 0.3 s of any change;
200 counties LP p95 <= 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer import load_instance  # noqa: E402
from optimizer.web.app import create_app  # noqa: E402
from optimizer.web.server import free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

# set a knob and time, in the page, the status line and the new plan
MEASURE = """async ([name, value]) => {
  const plan = () => document.querySelector('#plan-body');
  const before = plan() ? Number(plan().dataset.revision) : 0;
  const field = document.querySelector(`[name='${name}']`);
  const t0 = performance.now();
  let status = null;
  field.value = value;
  field.dispatchEvent(new Event('change', {bubbles: true}));
  return await new Promise((done) => {
    const tick = () => {
      const state = document.querySelector('#status .state')?.dataset.state;
      if (status === null && (state === 'solving' || state === 'queued')) status = performance.now() - t0;
      const p = plan();
      if (p && Number(p.dataset.revision) > before && state === 'idle') {
        done({plan: (performance.now() - t0) / 1000, status: status === null ? null : status / 1000,
              objective: document.querySelector('#objective')?.textContent});
      } else requestAnimationFrame(tick);
    };
    tick();
  });
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_case(browser, instance, model: str | None, changes: int) -> dict:
    import uvicorn

    port = free_port()
    app = create_app(instance, port=port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        wait_idle(page, 1)
        if model:
            page.evaluate(MEASURE, ["scenario.model", model])  # one rebuild, not measured
        base = instance.scenario.priorities.enterprise_finance_min or 0.0
        timings = []
        for n in range(changes):
            value = round(base + 0.002 * ((n % 10) + 1) * (1 if n % 2 == 0 else -1), 6)
            timings.append(page.evaluate(MEASURE, ["priorities.enterprise_finance_min", str(max(value, 0.0))]))
        return {"plan": [t["plan"] for t in timings], "status": [t["status"] for t in timings if t["status"] is not None],
                "missed_status": sum(t["status"] is None for t in timings)}
    finally:
        page.close()
        server.should_exit = True
        thread.join(timeout=10)


def wait_idle(page, revision: int) -> None:
    page.wait_for_function(f"(document.querySelector('#plan-body')?.dataset.revision|0) >= {revision} && "
                           "document.querySelector('#status .state')?.dataset.state === 'idle'", timeout=600_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--counties", type=int, default=200, help="generated counties (0: skip)")
    parser.add_argument("--smoke", action="store_true", help="ewppt-2010 as LP, 3 changes")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    ewppt = load_instance("ewppt-2010")
    cases = [("ewppt-2010", ewppt, "lp")]
    if not args.smoke:
        cases.append(("ewppt-2010", ewppt, "mip"))
        if args.counties:
            from optimizer.data.generate import generate_instance

            folder = generate_instance(Path(tempfile.mkdtemp()) / f"g{args.counties}", recipients=args.counties,
                                       donors=12, instruments=10, years=5, seed=0)
            cases.append((f"{args.counties} counties", load_instance(folder), "lp"))
    changes = 3 if args.smoke else args.changes
    print("| instance | model | changes | plan p50 s | plan p95 s | status p50 s | status max s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, instance, model in cases:
            got = run_case(browser, instance, model, changes)
            plan, status = got["plan"], got["status"]
            missed = f" ({got['missed_status']} changes answered before a frame showed the status)" \
                if got["missed_status"] else ""
            print(f"| {name} | {model} | {changes} | {statistics.median(plan):.3f} | {percentile(plan, 0.95):.3f} | "
                  f"{statistics.median(status) if status else float('nan'):.3f} | "
                  f"{max(status) if status else float('nan'):.3f} |{missed}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
