"""The main job: set up, start the emulator, run the quickstart with the real Pulumi CLI, stop the emulator.

preview -> up -> preview (must show no changes) -> destroy, on a local file backend, against the
emulator, fully offline. The CLI comes from scripts/pulumi_toolchain.py: a `pulumi` on PATH, else the
pinned build it makes from the Go module proxy (needs `go`). Without either it shows the emulator
working, says what is missing and exits non-zero.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import venv
from pathlib import Path

import pulumi_toolchain

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
STACK = "quickstart"
ACCOUNT, USER, PASSWORD = "9900000", "emulator", "emulator"


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def set_up() -> None:
    if not VENV_PY.exists():
        step("creating .venv")
        venv.create(VENV, with_pip=True)
    step("installing bandwidth-pulumi into .venv")
    subprocess.run(
        [str(VENV_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", str(ROOT)],
        check=True,
    )


def start_emulator(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    step("starting the Bandwidth emulator")
    (state_dir / "emulator.db").unlink(missing_ok=True)  # every run starts from an empty account
    proc = subprocess.Popen(
        [str(VENV_PY), "-m", "bandwidth_provider", "emulator", "--port", "0", "--db", str(state_dir / "emulator.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    print(line.rstrip())
    match = re.search(r"(http://\S+?/api)\b", line)
    if not match:
        proc.terminate()
        raise SystemExit("the emulator did not report its API URL")
    return proc, match.group(1)


SAMPLE = b"""<Subscription><OrderType>orders</OrderType><CallbackSubscription>
<URL>https://hooks.example.com/bw/orders</URL><Expiry>3600</Expiry></CallbackSubscription></Subscription>"""


def call_emulator(method: str, url: str, body: bytes | None = None) -> None:
    """One raw API call, printed: the emulator speaks Bandwidth's XML, not a private dialect."""
    import base64
    import urllib.request

    step(f"{method} {url} (Basic {USER}:***)")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/xml"}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        location = response.headers.get("Location")
        print(response.status, response.headers.get("Content-Type") or "", f"Location: {location}" if location else "")
        print(response.read().decode())


def show_emulator(api_url: str) -> None:
    call_emulator("GET", f"{api_url}/accounts/{ACCOUNT}/subscriptions")


def exercise_emulator(api_url: str) -> None:
    """Without the CLI: create, list and delete one subscription by hand."""
    collection = f"{api_url}/accounts/{ACCOUNT}/subscriptions"
    call_emulator("POST", collection, SAMPLE)
    call_emulator("GET", collection)


def pulumi(*args: str, env: dict[str, str]) -> None:
    print(f"$ pulumi {' '.join(args)}", flush=True)
    subprocess.run(["pulumi", *args, "--non-interactive"], cwd=ROOT, env=env, check=True)


def run_quickstart(bin_dir: Path, api_url: str, state_dir: Path) -> None:
    backend, home = state_dir / "backend", state_dir / "home"
    for directory in (backend, home):
        directory.mkdir(exist_ok=True)
    env = pulumi_toolchain.offline_env(bin_dir, backend, home, passphrase="quickstart-local-only")
    step(f"Pulumi stack on a local file backend ({backend})")
    subprocess.run(["pulumi", "stack", "rm", "--yes", "--force", STACK], cwd=ROOT, env=env, capture_output=True)
    pulumi("stack", "init", STACK, env=env)
    pulumi("config", "set", "bandwidth:apiUrl", api_url, env=env)
    pulumi("config", "set", "bandwidth:accountId", ACCOUNT, env=env)
    pulumi("config", "set", "bandwidth:username", USER, env=env)
    pulumi("config", "set", "--secret", "bandwidth:password", PASSWORD, env=env)
    pulumi("config", "set", "--secret", "callbackPassword", secrets.token_urlsafe(16), env=env)
    try:
        step("preview: what would change at Bandwidth")
        pulumi("preview", env=env)
        step("up: apply it")
        pulumi("up", "--yes", "--skip-preview", env=env)
        show_emulator(api_url)
        step("preview again: must show no changes")
        pulumi("preview", "--expect-no-changes", env=env)
        step("destroy: remove the subscriptions")
        pulumi("destroy", "--yes", "--skip-preview", env=env)
    finally:
        subprocess.run(["pulumi", "stack", "rm", "--yes", "--force", STACK], cwd=ROOT, env=env, capture_output=True)


def main() -> int:
    set_up()
    state_dir = ROOT / ".pulumi-state"
    state_dir.mkdir(exist_ok=True)
    emulator, api_url = start_emulator(state_dir)
    try:
        show_emulator(api_url)
        step("the Pulumi toolchain (scripts/pulumi_toolchain.py)")
        try:
            bin_dir = pulumi_toolchain.ensure()
        except pulumi_toolchain.ToolchainError as exc:
            exercise_emulator(api_url)
            print(f"\nThe emulator works, but no Pulumi CLI can be had here: {exc}", file=sys.stderr)
            return 1
        run_quickstart(bin_dir, api_url, state_dir)
        step("done: preview, up, preview (no changes) and destroy all succeeded")
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"\nquickstart failed: {' '.join(map(str, exc.cmd[:3]))} exited {exc.returncode}", file=sys.stderr)
        return 1
    finally:
        step("stopping the emulator")
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
