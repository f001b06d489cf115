"""How long the annotator's item page takes with long answers (Markdown, code, maths).

Run by hand from the repository root (not a test):

    python benchmarks/render_bench.py                  # answers of 10k and 50k characters
    python benchmarks/render_bench.py --sizes 10000 --repeat 20 --no-browser

Each answer is made of the demo's real texts, alternating until it reaches the size: MT-bench
answers (lists, tables, code blocks) and ProcessBench steps (LaTeX). A fresh SQLite database
in a temporary directory holds one pair item with two such answers; the script measures

- `markdown_html` on one answer, not cached (what the first visit to an item pays per text);
- the item page's server time (Django test client, the whole view: queries, Markdown, template),
  first visit (cache empty) and later visits (answers cached in-process);
- with Chromium (skipped by --no-browser or when /usr/bin/chromium is missing): response end
  to DOMContentLoaded end, i.e. parsing the HTML and KaTeX rendering every maths span (the
  deferred scripts run before DOMContentLoaded), on a live server.

It prints a Markdown table and writes it to benchmarks/results-render.md.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results-render.md"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "render-bench"  # noqa: S105 - a throwaway local user


def setup_django(workdir: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "judgeapp.settings")
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="render-bench-only",  # noqa: S106 - a throwaway local server
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="testserver,127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop in this thread
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def demo_texts() -> tuple[list[str], list[str]]:
    """Real MT-bench answers and ProcessBench steps, in the demo's order."""
    from annotations.importers.records import ItemRecord
    from annotations.management.commands.load_demo import DEMO_DATA, PROJECTS

    answers, steps = [], []
    for demo in PROJECTS:
        if demo.name not in ("MT-bench", "ProcessBench"):
            continue
        for record in demo.parse([DEMO_DATA / f for f in demo.files]):
            if isinstance(record, ItemRecord):
                answers += [t for t in (record.response_a, record.response_b) if t]
                steps += record.steps
    return list(dict.fromkeys(answers)), list(dict.fromkeys(steps))


def long_answer(size: int, offset: int, answers: list[str], steps: list[str]) -> str:
    parts, total, i = [], 0, offset
    while total < size:
        text = answers[i % len(answers)] if i % 2 == 0 else steps[i % len(steps)]
        parts.append(text)
        total += len(text) + 2
        i += 1
    return "\n\n".join(parts)[:size]


def make_item(size: int, answers: list[str], steps: list[str]):
    from django.contrib.auth import get_user_model

    from annotations.annotate import services
    from annotations.models import Membership, Project
    from annotations.services import items_import
    from tests.factories import PREFERENCE, write_jsonl

    slug = f"render-{size}"
    project = Project.objects.create(name=f"Render {size}", slug=slug)
    item = {
        "type": "item",
        "id": "long",
        "kind": "pair",
        "prompt": "Which answer is better?",
        "response_a": long_answer(size, 0, answers, steps),
        "response_b": long_answer(size, 7, answers, steps),
    }
    path = write_jsonl(Path(tempfile.mkdtemp()) / "items.jsonl", [PREFERENCE, item])
    items_import(project=project, paths=[path])
    user = get_user_model().objects.create_user(f"reader{size}", password=PASSWORD)
    Membership.objects.create(user=user, project=project, role="annotator")
    sheet = services.assignment_next(user=user, slug=slug)
    return user, f"/annotate/{slug}/items/{sheet.item.pk}/", item


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def server_times(user, url: str, item: dict, repeat: int) -> dict[str, float]:
    from django.test import Client

    from annotations.annotate import markdown

    client = Client()
    client.force_login(user)
    md, cold, warm = [], [], []
    for _ in range(repeat):
        markdown._render.cache_clear()
        start = time.perf_counter()
        markdown.markdown_html(item["response_a"])
        md.append(time.perf_counter() - start)
        markdown._render.cache_clear()
        start = time.perf_counter()
        assert client.get(url).status_code == 200
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        client.get(url)
        warm.append(time.perf_counter() - start)
    html = client.get(url).content.decode()
    return {
        "markdown": median_ms(md),
        "cold": median_ms(cold),
        "warm": median_ms(warm),
        "maths": html.count('class="math '),
        "kb": round(len(html.encode()) / 1024),
    }


def browser_times(items: list[tuple], repeat: int) -> dict[int, float]:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    base = f"http://127.0.0.1:{server.port}"
    found = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            for size, user, url, _ in items:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(base + "/accounts/login/")
                page.fill("#id_username", user.username)
                page.fill("#id_password", PASSWORD)
                page.press("#id_password", "Enter")
                page.wait_for_url(base + "/")
                samples = []
                for _ in range(repeat):
                    page.goto(base + url)
                    page.wait_for_selector(".katex")
                    samples.append(
                        page.evaluate(
                            "(() => { const n = performance.getEntriesByType('navigation')[0];"
                            " return n.domContentLoadedEventEnd - n.responseEnd; })()"
                        )
                    )
                found[size] = round(statistics.median(samples), 1)
                page.close()
            browser.close()
    finally:
        server.terminate()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        setup_django(Path(workdir))
        answers, steps = demo_texts()
        items = [(size, *make_item(size, answers, steps)) for size in args.sizes]
        rows = {size: server_times(user, url, item, args.repeat) for size, user, url, item in items}
        use_browser = not args.no_browser and os.access(CHROMIUM, os.X_OK)
        client = browser_times(items, args.repeat) if use_browser else {}
    lines = [
        f"# Item page render: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), median of {args.repeat}",
        "",
        "| answer length (chars, each of 2) | maths spans on the page | page size | "
        "markdown_html, one answer, uncached | item page server, first visit | "
        "item page server, cached | browser: HTML parse + KaTeX |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, row in rows.items():
        browser = f"{client[size]} ms" if size in client else "not measured"
        lines.append(
            f"| {size:,} | {row['maths']} | {row['kb']} KB | {row['markdown']} ms | "
            f"{row['cold']} ms | {row['warm']} ms | {browser} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    RESULTS.write_text(table)


if __name__ == "__main__":
    main()
