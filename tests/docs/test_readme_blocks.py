"""Every fenced code block of README.md and the docs this test covers is exercised, so the docs cannot drift.

- `python` blocks compile. Pulumi programs (they import `Subscription`) run under `pulumi.runtime.set_mocks`,
  where each Subscription goes through the provider's real `check` and `create` against an emulator. Other
  Python blocks run as modules (not as `__main__`).
- `yaml` blocks parse.
- `sh`/`console` blocks run with bash against a real emulator on a free port: 8765 and 8080 in the text
  (and the emulator's default port) are rewritten to free ports, and `.venv/` means this repository's.
  Every command must exit 0. In `console` blocks, the lines after a `$ ` command are its sample output
  (standard output and error, as a terminal shows them),
  and the real output must have the same shape: the same lines once ids, timestamps, durations and
  fractional numbers are masked, `...` standing for omitted lines. A command ending in `&` runs in the
  background (its sample output is its first lines); `kill %…` stops the background jobs; `export` sets
  variables for the commands after it. `receiver.py`
  is the README's receiver block, saved to the working directory. Without `curl` on the machine (or with
  READMETEST_CURL_SHIM=1), a small Python stand-in serves the flags the docs use.
- A block that cannot run here carries `<!-- readme-test: skip (reason) -->` or
  `<!-- readme-test: compile-only (reason) -->` on the line before its fence; the reason is required.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COVERED = ("README.md", "docs/emulator.md", "docs/testing.md", "docs/benchmarks.md", "docs/decisions.md")
LANGUAGES = {"python", "yaml", "sh", "console", "text", "go", "java"}  # go/java: tests/e2e/test_go_java.py
MARKER = re.compile(r"<!--\s*readme-test:\s*(?P<body>.*?)\s*-->")
MARKER_BODY = re.compile(r"(?P<kind>skip|compile-only) \((?P<reason>[^()]*\S[^()]*)\)")
TYPE_TOKEN = "pulumi-python:dynamic/bandwidth:Subscription"
EMULATOR_PORT, RECEIVER_PORT = "8765", "8080"


@dataclass(frozen=True)
class Block:
    path: str
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: str | None  # the marker body, e.g. "skip (needs AWS)"

    @property
    def kind(self) -> str:
        if self.marker is None:
            return "run"
        match = MARKER_BODY.fullmatch(self.marker)
        return match["kind"] if match else "invalid"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def parse_blocks(path: str, text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(```+)(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start, ticks, lang = i, fence[1], fence[2]
        end = start + 1
        while end < len(lines) and lines[end].rstrip() != ticks:
            end += 1
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        marker = MARKER.fullmatch(lines[prev].strip()) if prev >= 0 else None
        body = "\n".join(lines[start + 1 : end]) + "\n"
        blocks.append(Block(path, start + 1, lang, body, marker["body"] if marker else None))
        i = end + 1
    return blocks


def all_blocks() -> list[Block]:
    found: list[Block] = []
    for name in COVERED:
        path = ROOT / name
        if path.exists():
            found += parse_blocks(name, path.read_text(encoding="utf-8"))
    return found


BLOCKS = all_blocks()


def select(*langs: str, kinds: tuple[str, ...] = ("run",)) -> list[Any]:
    return [pytest.param(b, id=str(b)) for b in BLOCKS if b.lang in langs and b.kind in kinds]


# ---------------------------------------------------------------- structure


def test_the_readme_has_blocks_and_every_one_is_accounted_for() -> None:
    assert len([b for b in BLOCKS if b.path == "README.md"]) >= 10
    bad = [f"{b}: unknown language {b.lang!r}" for b in BLOCKS if b.lang not in LANGUAGES]
    bad += [
        f"{b}: marker {b.marker!r} must be 'skip (reason)' or 'compile-only (reason)'"
        for b in BLOCKS
        if b.kind == "invalid"
    ]
    bad += [
        f"{b}: compile-only applies to python blocks" for b in BLOCKS if b.kind == "compile-only" and b.lang != "python"
    ]
    assert not bad, "\n".join(bad)


def test_every_marker_sits_right_before_a_fence() -> None:
    placed = {(b.path, b.marker) for b in BLOCKS if b.marker}
    stray = []
    for name in COVERED:
        path = ROOT / name
        if not path.exists():
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = MARKER.search(line)
            if match and (name, match["body"]) not in placed:
                stray.append(f"{name}:{n}: {line.strip()}")
    assert not stray, "markers not followed by a code block:\n" + "\n".join(stray)


HEREDOC = re.compile(r"^cat > (?P<name>\S+) <<'EOF'\n(?P<body>.*?)^EOF$", re.S | re.M)
HEREDOC_LANGS = {".yaml": "yaml", ".py": "python", ".json": "json"}


def heredocs() -> list[Block]:
    """Files that shell blocks write with `cat > NAME <<'EOF'` (the walk-throughs' Pulumi.yaml, programs, …),
    as blocks of their own, so that they are checked here too, offline, whether or not their block runs here."""
    found: list[Block] = []
    for block in BLOCKS:
        if block.lang != "sh":
            continue
        for m in HEREDOC.finditer(block.text):
            lang = HEREDOC_LANGS.get(Path(m["name"]).suffix)
            if lang:
                line = block.line + block.text[: m.start()].count("\n") + 1
                found.append(Block(block.path, line, lang, m["body"], None))
    return found


HEREDOCS = heredocs()


def written(lang: str) -> list[Any]:
    return [pytest.param(b, id=f"{b}:{b.lang}") for b in HEREDOCS if b.lang == lang]


def test_walkthrough_files_are_checked() -> None:
    """The README's walk-throughs write YAML, Python and JSON files; each is parsed or compiled below."""
    langs = [b.lang for b in HEREDOCS if b.path == "README.md"]
    assert {"yaml", "python", "json"} <= set(langs), langs


@pytest.mark.parametrize("block", written("json"))
def test_json_files_parse(block: Block) -> None:
    import json

    assert isinstance(json.loads(block.text), dict)


@pytest.mark.parametrize("block", select("python", kinds=("run", "compile-only", "skip")) + written("python"))
def test_python_blocks_compile(block: Block) -> None:
    compile(block.text, str(block), "exec")


@pytest.mark.parametrize("block", select("yaml") + written("yaml"))
def test_yaml_blocks_parse(block: Block) -> None:
    """YAML parses; resources of the `bandwidth` package use only properties its schema declares."""
    import json

    import yaml

    document = yaml.safe_load(block.text)
    assert isinstance(document, dict)
    schema = json.loads((ROOT / "bandwidth-plugin" / "schema.json").read_text(encoding="utf-8"))
    allowed = {
        "bandwidth:Subscription": set(schema["resources"]["bandwidth:index:Subscription"]["inputProperties"]),
        "pulumi:providers:bandwidth": set(schema["provider"]["inputProperties"]),
    }
    for name, resource in (document.get("resources") or {}).items():
        if resource["type"] in allowed:
            unknown = set(resource.get("properties") or {}) - allowed[resource["type"]]
            assert not unknown, f"{block}: resource {name} sets {sorted(unknown)}, not in the schema"


# ---------------------------------------------------------------- Python


def is_program(block: Block) -> bool:
    return "Subscription(" in block.text and "from bandwidth_provider import" in block.text


@pytest.fixture
def emulator() -> Iterator[Any]:
    from bandwidth_provider.emulator import Emulator

    with Emulator() as emu:
        yield emu


def _create_to_adopt(emulator: Any, text: str) -> str:
    """Programs that adopt an id get a live subscription of that kind, and the id rewritten to it."""
    from bandwidth_provider.client import DashboardClient
    from bandwidth_provider.spec import SubscriptionSpec

    client = DashboardClient(emulator.api_url, "9900000", username="emulator", password="emulator")
    for adopt_id in re.findall(r'adopt_id="([^"]+)"', text):
        live = client.create_subscription(
            SubscriptionSpec(order_type="orders", callback_url="https://old.example.com/x")
        )
        text = text.replace(adopt_id, live)
    return text


def run_program(text: str, name: str, emulator: Any) -> list[tuple[str, dict[str, Any]]]:
    """Run a Pulumi program under mocks; each Subscription is checked and created by the real provider."""
    import dill
    import pulumi
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.config import Config
    from pulumi.runtime import rpc
    from pulumi.runtime.settings import reset_options

    created: list[tuple[str, dict[str, Any]]] = []
    provider_config = {
        "bandwidth:apiUrl": emulator.api_url,
        "bandwidth:accountId": "9900000",
        "bandwidth:username": "emulator",
        "bandwidth:password": "emulator",
    }

    class Mocks(pulumi.runtime.Mocks):  # type: ignore[misc]
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            if args.typ != TYPE_TOKEN:
                return f"{args.name}-id", args.inputs
            provider = dill.loads(base64.b64decode(rpc.unwrap_rpc_secret(args.inputs["__provider"])))
            provider.configure(ConfigureRequest(Config(provider_config, "project")))
            plain = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
            checked = provider.check({}, plain)
            if checked.failures:
                raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
            result = provider.create(checked.inputs)
            created.append((args.name, dict(result.outs or {})))
            return result.id, dict(result.outs or {})

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
            return {}, None

    pulumi.runtime.set_mocks(Mocks(), project="project", stack="readme", preview=False)
    pulumi.runtime.set_all_config({"project:callbackPassword": "readme-callback-password"})
    try:

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def program() -> Any:
            scope: dict[str, Any] = {"__name__": "__main__"}
            exec(compile(text, name, "exec"), scope)
            resources = [v for v in scope.values() if isinstance(v, pulumi.CustomResource)]
            assert resources, "the program declares no resource"
            return pulumi.Output.all(*(r.id for r in resources))

        program()
    finally:
        pulumi.runtime.set_all_config({})
        reset_options()
    return created


@pytest.mark.parametrize("block", [p for p in select("python") if is_program(p.values[0])])
def test_python_programs_run_under_mocks(block: Block, emulator: Any) -> None:
    created = run_program(_create_to_adopt(emulator, block.text), str(block), emulator)
    declared = block.text.count("Subscription(")
    assert len(created) == declared, f"{block}: {declared} Subscription(s) declared, {len(created)} created"
    live = emulator.state()["subscriptions"]
    assert {s["subscription_id"] for s in live} >= {outs["subscription_id"] for _, outs in created}


@pytest.mark.parametrize("block", [p for p in select("python") if not is_program(p.values[0])])
def test_other_python_blocks_run(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_PASSWORD", "readme-callback-password")
    exec(compile(block.text, str(block), "exec"), {"__name__": "readme_block"})


# ---------------------------------------------------------------- shell

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
UNIT = r"\d+ (?:day|hour|minute|second)s?"
DURATION = re.compile(rf"{UNIT}(?: {UNIT})?")
#: Fractions (timings, clocks); whole numbers (status codes, counts, ports after rewriting) must match.
NUMBER = re.compile(r"\d+\.\d+")


def mask(line: str) -> str:
    for pattern, token in ((UUID, "<uuid>"), (ISO, "<time>"), (DURATION, "<duration>"), (NUMBER, "#")):
        line = pattern.sub(token, line)
    return " ".join(line.split())


def same_shape(expected: list[str], actual: list[str]) -> bool:
    """Masked lines equal, in order; an expected `...` line stands for any number of actual lines."""
    exp = [mask(x) for x in expected]
    act = [mask(x) for x in actual if x.strip()]

    def match(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i] == "...":
            return any(match(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and exp[i] == act[j] and match(i + 1, j + 1)

    return match(0, 0)


@dataclass
class Command:
    text: str
    expected: list[str]


def parse_session(block: Block) -> list[Command]:
    commands: list[Command] = []
    lines = block.text.splitlines()
    prompt = any(line.startswith("$ ") for line in lines)
    i = 0
    while i < len(lines):
        line = lines[i]
        if prompt and not line.startswith("$ "):
            assert commands, f"{block}: output before the first command"
            commands[-1].expected.append(line)
            i += 1
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        parts = [line[2:] if prompt else line]
        while parts[-1].rstrip().endswith("\\") or "\n".join(parts).count("'") % 2 == 1:
            i += 1
            parts.append(lines[i])
        commands.append(Command("\n".join(parts), []))
        i += 1
    return commands


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def wait_for_port(port: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", int(port))) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {seconds} s")


#: Stands in for `curl` where none is installed (CI machines may have only Python): the flags the docs use.
CURL_SHIM = """#!{python}
import argparse, base64, sys, urllib.error, urllib.request
p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("-s", action="store_true")
p.add_argument("-i", action="store_true")
p.add_argument("-u")
p.add_argument("-X")
p.add_argument("-H", action="append", default=[])
p.add_argument("-d", "--data")
a = p.parse_args()
headers = dict(h.split(": ", 1) for h in a.H)
if a.u:
    headers["Authorization"] = "Basic " + base64.b64encode(a.u.encode()).decode()
if a.data is not None:
    headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
method = a.X or ("POST" if a.data is not None else "GET")
body = a.data.encode() if a.data is not None else None
request = urllib.request.Request(a.url, data=body, method=method, headers=headers)
try:
    response = urllib.request.urlopen(request, timeout=30)
except urllib.error.HTTPError as exc:
    response = exc
sys.stdout.write(response.read().decode())
"""


class Session:
    """One shell block: its working directory, ports, background jobs."""

    def __init__(self, block: Block, workdir: Path) -> None:
        self.block, self.workdir = block, workdir
        self.ports = {EMULATOR_PORT: free_port(), RECEIVER_PORT: free_port()}
        self.jobs: list[subprocess.Popen[str]] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("BANDWIDTH_", "PULUMI_"))}
        if shutil.which("curl") is None or os.environ.get("READMETEST_CURL_SHIM"):
            shim = workdir / "bin" / "curl"
            shim.parent.mkdir()
            shim.write_text(CURL_SHIM.format(python=sys.executable))
            shim.chmod(0o755)
            self.env["PATH"] = f"{shim.parent}{os.pathsep}{self.env.get('PATH', '')}"
        receiver = next(b for b in BLOCKS if b.lang == "python" and b.text.startswith("# receiver.py"))
        (workdir / "receiver.py").write_text(self.rewrite(receiver.text))

    def rewrite(self, text: str) -> str:
        for old, new in self.ports.items():
            text = text.replace(old, new)
        if "bandwidth-subscriptions emulator" in text and "--port" not in text:  # its default port is 8765
            text = text.replace(
                "bandwidth-subscriptions emulator",
                f"bandwidth-subscriptions emulator --port {self.ports[EMULATOR_PORT]}",
            )
        return re.sub(r"(?<![\w./-])\.venv/", f"{ROOT}/.venv/", text)

    def start_emulator(self) -> None:
        self.background(Command(".venv/bin/bandwidth-subscriptions emulator &", []))

    def background(self, command: Command) -> None:
        text = self.rewrite(command.text).rstrip().removesuffix("&")
        job = subprocess.Popen(
            ["bash", "-c", f"exec {text}" if "|" not in text and ">" not in text else text],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: `stop` ends the shell and what it started
        )
        self.jobs.append(job)
        expected = [self.rewrite(x) for x in command.expected]
        if expected:
            assert job.stdout is not None
            got = [job.stdout.readline().rstrip("\n") for _ in expected]
            assert same_shape(expected, got), (
                f"{self.block}: `{command.text}` printed {got!r}, the docs show {expected!r}"
            )
        if "bandwidth-subscriptions emulator" in text:
            wait_for_port(self.ports[EMULATOR_PORT])
        if "receiver.py" in text:
            wait_for_port(self.ports[RECEIVER_PORT])

    def run(self, command: Command) -> None:
        text = self.rewrite(command.text)
        if re.fullmatch(r"kill( %\d+)+", text.strip()):
            self.stop()
            return
        if text.startswith("export "):  # a later command must see these variables, as in one shell
            for assignment in shlex.split(text.replace("\\\n", " "))[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return
        if text.rstrip().endswith("&") or "bandwidth-subscriptions emulator" in text:
            self.background(command)
            return
        # stdout and stderr together, as a terminal shows them
        done = subprocess.run(
            ["bash", "-c", text],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, f"{self.block}: `{command.text}` exited {done.returncode}: {done.stdout}"
        if command.expected:
            expected = [self.rewrite(x) for x in command.expected]
            actual = done.stdout.splitlines()
            assert same_shape(expected, actual), (
                f"{self.block}: `{command.text}` printed:\n{done.stdout}\nThe docs show:\n" + "\n".join(expected)
            )

    def stop(self) -> None:
        for job in self.jobs:
            _signal_group(job, signal.SIGTERM)
        for job in self.jobs:
            try:
                job.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(job, signal.SIGKILL)
                job.wait()
            if job.stdout is not None:
                job.stdout.close()
        self.jobs.clear()


def _signal_group(job: subprocess.Popen[str], signum: int) -> None:
    """Signal a background job's whole process group (a `cmd > log &` shell has the command as a child)."""
    try:
        os.killpg(job.pid, signum)
    except ProcessLookupError:
        pass


@pytest.mark.parametrize("block", select("sh", "console"))
def test_shell_blocks_run_against_the_emulator(block: Block, tmp_path: Path) -> None:
    session = Session(block, tmp_path)
    commands = parse_session(block)
    assert commands, f"{block}: no command"
    try:
        if not any("bandwidth-subscriptions emulator" in c.text for c in commands):
            session.start_emulator()
        for command in commands:
            session.run(command)
    finally:
        session.stop()


# ---------------------------------------------------------------- the checker itself


def test_masking_and_shapes() -> None:
    assert same_shape(["a 1.5 ms", "...", "z"], ["a 22.25 ms", "x", "y", "z"])
    assert not same_shape(["accepted: 200 OK"], ["accepted: 201 OK"])
    assert same_shape(["expires 2 days 23 hours"], ["expires 3 days"])
    assert not same_shape(["expires 2 days 23 hours"], ["expires 3d 0h"])
    assert not same_shape(["SUBSCRIPTION ID  TARGET"], ["ID  TARGET"])
    assert not same_shape(["one"], ["one", "two"])


BROKEN_RUNNER = """
import sys
from bandwidth_provider.emulator import Emulator
from tests.docs.test_readme_blocks import run_program
with Emulator() as emu:
    try:
        run_program(sys.stdin.read(), "snippet", emu)
    except BaseException as exc:
        print(type(exc).__name__, exc)
        sys.exit(3)
"""


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('Subscription("o", order_type="orders", callback_url=receiver_url)', "NameError"),
        ('Subscription("o", order_type="order", callback_url="https://h.example.com/")', "not a known order type"),
    ],
)
def test_a_broken_snippet_fails(line: str, error: str) -> None:
    """The program check fails a snippet with an undefined name or a bad input (own process: a failed
    mock registration leaves the event loop unusable)."""
    program = "import pulumi\nfrom bandwidth_provider import Subscription\n" + line + "\n"
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_RUNNER], input=program, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3 and error in done.stdout, done.stdout + done.stderr


# ---------------------------------------------------------------- links

LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def github_slug(heading: str) -> str:
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {github_slug(m[1]) for m in re.finditer(r"(?m)^#+ (.+)$", path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("name", COVERED)
def test_relative_links_resolve(name: str) -> None:
    """Every relative link of the covered docs names an existing file, and an existing heading after `#`."""
    source = ROOT / name
    broken = []
    for match in LINK.finditer(source.read_text(encoding="utf-8")):
        target = match["target"]
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        path = (source.parent / file_part).resolve() if file_part else source
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{name}: broken links {broken}"


# ---------------------------------------------------------------- install lines (they need the network to run)


def test_install_lines_match_pyproject() -> None:
    """The README's pip and requirements.txt lines name this package at pyproject's repository URL, and the
    supported versions it states are pyproject's."""
    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pip_line = next(b for b in BLOCKS if b.path == "README.md" and b.text.startswith("pip install "))
    requirements = next(
        b for b in BLOCKS if b.path == "README.md" and b.lang == "text" and "bandwidth-pulumi @" in b.text
    )
    lines = [shlex.split(pip_line.text)[2], *requirements.text.split("\n")]
    parsed = {r.name: r for r in (Requirement(line) for line in lines if line.strip())}
    ours = parsed["bandwidth-pulumi"]
    assert ours.name == project["name"]
    assert ours.url is not None and ours.url.startswith(f"git+{project['urls']['Repository']}@")
    pulumi_pin = next(d for d in project["dependencies"] if d.startswith("pulumi"))
    assert str(parsed["pulumi"].specifier) == str(Requirement(pulumi_pin).specifier)
    assert f"Python >= {project['requires-python'].removeprefix('>=')}" in readme
    assert f"`{pulumi_pin}`" in readme
