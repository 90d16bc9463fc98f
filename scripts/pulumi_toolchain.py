"""The pinned Pulumi toolchain: print the absolute path of a `bin/` holding `pulumi` and its language hosts.

The last line on standard output is that path; progress goes to standard error; a non-zero exit
says why no toolchain could be had. In order:

1. a `pulumi` already on PATH at version >= 3.216 is used as it is (what our users have);
2. a complete build in the cache (`$XDG_CACHE_HOME` or `~/.cache`, `bandwidth-pulumi/`) is reused once it
   matches the SHA-256 sums recorded when it was built (`SHA256SUMS`); a cache directory owned by someone
   else or writable by others is refused;
3. where `go` exists, the CLI and the Python, Node.js, Go, Java and YAML language hosts are built from the
   Go module proxy, from the wrapper modules under `tools/pulumi/` whose `go.mod`/`go.sum` pin every module.

SIGTERM or SIGINT during a build (a CI job timeout, Ctrl-C) ends the `go` processes it started and removes
the partial build before the script exits (128 + the signal number).

No Pulumi package exists on PyPI, npm or Debian, but the engine is published as Go modules. The
CLI's module (`pkg/v3`) and the hosts' (never tagged, served only at one pseudo-version) need
different `sdk/v3` versions, so they have wrappers of their own; the CLI talks to them over gRPC, so
their versions need not match. Nothing built here is ever committed.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "pulumi"


@dataclass(frozen=True)
class Build:
    """One binary: the wrapper module that pins it, its package, and where its version is stamped."""

    name: str
    wrapper: Path
    package: str
    version_module: str  # the module in the wrapper's go.mod whose version the binary reports
    version_var: str


SDK_VERSION_VAR = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
BUILDS = (
    Build(
        "pulumi",
        TOOLS,
        "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
        "github.com/pulumi/pulumi/pkg/v3",
        SDK_VERSION_VAR,
    ),
    # The language hosts are never tagged; the proxy serves them at one pseudo-version, which needs an
    # older sdk/v3 than the CLI, hence wrappers of their own (the CLI talks to them over gRPC).
    Build(
        "pulumi-language-python",
        TOOLS / "hosts",
        "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3",
        "github.com/pulumi/pulumi/sdk/v3",
        SDK_VERSION_VAR,
    ),
    Build(
        "pulumi-language-nodejs",
        TOOLS / "hosts",
        "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3",
        "github.com/pulumi/pulumi/sdk/v3",
        SDK_VERSION_VAR,
    ),
    Build(
        "pulumi-language-go",
        TOOLS / "hosts",
        "github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3",
        "github.com/pulumi/pulumi/sdk/v3",
        SDK_VERSION_VAR,
    ),
    # pulumi-java's host is tagged with its own releases; its module needs an sdk/v3 of its own too.
    Build(
        "pulumi-language-java",
        TOOLS / "language-java",
        "github.com/pulumi/pulumi-java/pkg/cmd/pulumi-language-java",
        "github.com/pulumi/pulumi-java/pkg",
        "github.com/pulumi/pulumi-java/pkg/version.Version",
    ),
    Build(
        "pulumi-language-yaml",
        TOOLS / "language-yaml",
        "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml",
        "github.com/pulumi/pulumi-yaml",
        "github.com/pulumi/pulumi-yaml/pkg/version.Version",
    ),
)
CLI = BUILDS[0]
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
#: Oldest CLI we accept from PATH: the Python SDK we depend on needs the engine features of 3.216.
MIN_PATH_VERSION = (3, 216, 0)
#: The two scripts come from the CLI's sdk module and must sit next to the Python host.
SCRIPTS = {
    "pulumi-language-python-exec": "python/cmd/pulumi-language-python-exec",
    "pulumi-resource-pulumi-python": "python/dist/pulumi-resource-pulumi-python",
}
INSTALL_HINT = (
    "Install the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/), or install Go >= 1.26 "
    "(https://go.dev/doc/install) and run this script again to build the pinned CLI from the Go module proxy."
)


#: What a build records about itself, in `sha256sum` format (`sha256sum -c SHA256SUMS` checks it by hand).
SUMS = "SHA256SUMS"
#: Seconds a child gets to end after SIGTERM before it is killed.
STOP_GRACE = 10.0


class ToolchainError(Exception):
    """No usable toolchain; the message says what is missing and how to fix it."""


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived; raised so that every `finally`/`except` on the way out cleans up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say(text: str) -> None:
    print(f"[pulumi-toolchain] {text}", file=sys.stderr, flush=True)


def pinned_version(build: Build = CLI) -> str:
    """The version a build's wrapper pins for the module it reports, without the `v`."""
    match = re.search(rf"^\s*{re.escape(build.version_module)} v(\S+)", (build.wrapper / "go.mod").read_text(), re.M)
    if not match:
        raise ToolchainError(f"{build.wrapper / 'go.mod'} does not pin {build.version_module}")
    return match.group(1)


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bandwidth-pulumi"


def build_dir() -> Path:
    """One directory per pinned set of modules: any change to a wrapper's go.mod/go.sum builds anew."""
    digest = hashlib.sha256()
    for wrapper in sorted({b.wrapper for b in BUILDS}):
        for name in ("go.mod", "go.sum"):
            digest.update((wrapper / name).read_bytes())
    return cache_root() / f"pulumi-{pinned_version()}-{digest.hexdigest()[:12]}"


def expected_files() -> list[str]:
    return sorted((*(b.name for b in BUILDS), *SCRIPTS))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(target: Path) -> None:
    """Write what the build produced: one `<sha256>  bin/<name>` line per file."""
    lines = [f"{sha256(target / 'bin' / name)}  bin/{name}\n" for name in expected_files()]
    (target / SUMS).write_text("".join(lines))


def mismatch(target: Path) -> str | None:
    """Why a cached build cannot be trusted as it is, or None when it matches its recorded sums."""
    bin_dir = target / "bin"
    if not bin_dir.is_dir():
        return "no bin/ directory"
    try:
        recorded: dict[str, str] = {}
        for line in (target / SUMS).read_text().splitlines():
            digest, relative = line.split(None, 1)
            recorded[relative] = digest
    except (OSError, ValueError):
        return f"no readable {SUMS} (a build from an older version of this script, or an interrupted one)"
    wanted = {f"bin/{name}" for name in expected_files()}
    if set(recorded) != wanted:
        return f"{SUMS} lists {sorted(recorded)}, expected {sorted(wanted)}"
    present = {f"bin/{p.name}" for p in bin_dir.iterdir()}
    if present - wanted:
        return "bin/ holds files that were not built: " + ", ".join(sorted(present - wanted))
    if wanted - present:
        return "files are missing: " + ", ".join(sorted(wanted - present))
    for relative, digest in sorted(recorded.items()):
        path = target / relative
        if not os.access(path, os.X_OK):
            return f"{relative} is not executable"
        if sha256(path) != digest.strip().lower():
            return f"{relative} differs from what was built (SHA-256 mismatch)"
    return None


def check_private(path: Path) -> None:
    """Refuse a cache directory that another user owns or others can write: they could swap the binaries."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        raise ToolchainError(f"refusing the toolchain cache {path}: it is not a directory")
    uid = os.geteuid()
    if info.st_uid != uid:
        raise ToolchainError(
            f"refusing the toolchain cache {path}: it is owned by uid {info.st_uid}, not by you (uid {uid}); "
            "set XDG_CACHE_HOME to a directory of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ToolchainError(
            f"refusing the toolchain cache {path}: others can write to it (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run `chmod go-w {path}` or set XDG_CACHE_HOME to a directory of your own"
        )


def private_dir(path: Path) -> Path:
    """Create `path` (mode 0700 whatever the umask) or check the existing one."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
    check_private(path)
    return path


def from_path() -> Path | None:
    """A `pulumi` on PATH, if recent enough; older ones are reported and passed over."""
    found = shutil.which("pulumi")
    if found is None:
        return None
    try:
        out = subprocess.run([found, "version"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"ignoring {found}: `pulumi version` failed ({exc})")
        return None
    version = parse_version(out)
    if version is None or version < MIN_PATH_VERSION:
        say(f"ignoring {found}: version {out.strip() or '?'} is older than 3.216.0")
        return None
    bin_dir = Path(found).resolve().parent
    say(f"using the Pulumi CLI on PATH: {found} ({out.strip()})")
    if not (bin_dir / "pulumi-language-python").exists() and shutil.which("pulumi-language-python") is None:
        say("warning: no pulumi-language-python next to it or on PATH; Python programs will not run")
    return bin_dir


def go_env() -> dict[str, str]:
    """Reproducible, offline-friendly Go settings: pinned go.sum, no VCS stamping, no cgo."""
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="0",
        GOFLAGS="-mod=readonly -buildvcs=false",
        # The hosts' pseudo-versions are unknown to the checksum database; go.sum pins their hashes instead.
        GONOSUMDB="github.com/pulumi/pulumi/sdk/python/cmd,github.com/pulumi/pulumi/sdk/nodejs/cmd,"
        "github.com/pulumi/pulumi/sdk/go/pulumi-language-go",
    )
    return env


def stop(proc: subprocess.Popen[str]) -> None:
    """End a child and everything it started (`go build` runs compilers and the linker): its whole group."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            pass
        # Whatever is left of the group (the leader past its grace, or its compilers) is killed outright.
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    # A session (and so a process group) of its own: on an interruption the whole tree is ended at once.
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate()
    except BaseException:
        stop(proc)
        raise
    if proc.returncode != 0:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
        raise ToolchainError(f"`{' '.join(cmd)}` failed in {cwd} (exit {proc.returncode}):\n{tail}")
    return stdout


def go_build(go: str, build: Build, bin_dir: Path, env: dict[str, str]) -> None:
    version = pinned_version(build)
    ldflags = f"-s -w -X {build.version_var}=v{version}"
    out = bin_dir / build.name
    cmd = [
        go,
        "build",
        "-trimpath",
        "-tags",
        "osusergo,grpcnotrace",
        "-ldflags",
        ldflags,
        "-o",
        str(out),
        build.package,
    ]
    started = time.monotonic()
    say(f"building {build.name} v{version} (the first build on a machine takes minutes) ...")
    run(cmd, build.wrapper, env)
    out.chmod(0o755)
    say(f"built {build.name} in {time.monotonic() - started:.0f} s")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Two runs on one machine (quickstart and tests) build once; the second waits, then reuses."""
    private_dir(path.parent)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(target: Path) -> Path:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(f"no `pulumi` (>= 3.216) on PATH and no `go` to build one. {INSTALL_HINT}")
    env = go_env()
    version = pinned_version()
    started = time.monotonic()
    for stale in target.parent.glob(".build-*"):
        # We hold the lock, so no build is in progress: this one was killed (SIGKILL, power loss).
        say(f"removing {stale}, left by an interrupted build")
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        bin_dir = staging / "bin"
        bin_dir.mkdir(mode=0o755)
        bin_dir.chmod(0o755)
        for item in BUILDS:
            go_build(go, item, bin_dir, env)
        sdk_dir = Path(run([go, "list", "-m", "-f", "{{.Dir}}", SDK_MODULE], CLI.wrapper, env).strip())
        for name, relative in SCRIPTS.items():
            # Module files are read-only and not executable; the host looks for its exec script beside itself.
            shutil.copyfile(sdk_dir / relative, bin_dir / name)
            (bin_dir / name).chmod(0o755)
        reported = run([str(bin_dir / "pulumi"), "version"], ROOT, env).strip()
        if parse_version(reported) != parse_version(version):
            raise ToolchainError(f"the built pulumi reports {reported!r}, expected v{version}")
        record(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"toolchain v{version} ready in {time.monotonic() - started:.0f} s: {target / 'bin'}")
    return target / "bin"


def ensure(force_build: bool = False) -> Path:
    """The `bin/` directory of a usable toolchain, building it if need be (raises ToolchainError)."""
    if not force_build:
        on_path = from_path()
        if on_path is not None:
            return on_path
    target = build_dir()
    with locked(cache_root() / ".lock"):
        if target.exists():
            check_private(target)
            check_private(target / "bin")
            reason = mismatch(target)
            if reason is None:
                say(f"reusing the cached build (checked against its {SUMS}): {target / 'bin'}")
                return target / "bin"
            say(f"not reusing the cached build in {target}: {reason}; building it again")
        return build(target)


def offline_env(bin_dir: Path, backend: Path, home: Path, passphrase: str) -> dict[str, str]:
    """Environment for running `pulumi` hermetically: local file backend, no update check or downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "BANDWIDTH_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PULUMI_BACKEND_URL=backend.resolve().as_uri(),
        PULUMI_HOME=str(home.resolve()),
        PULUMI_CONFIG_PASSPHRASE=passphrase,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="true",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # A second signal must not cut the clean-up short.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="ignore a pulumi on PATH; use or make the pinned build")
    args = parser.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _interrupt)
    try:
        bin_dir = ensure(force_build=args.build)
    except ToolchainError as exc:
        print(f"pulumi toolchain: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(f"pulumi toolchain: interrupted by {exc}; the partial build was removed", file=sys.stderr)
        return 128 + exc.signum
    print(bin_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
