#!/bin/sh
# Runs a Pulumi project's Bandwidth subscriptions against the local emulator, with no Bandwidth account:
# starts `bandwidth-subscriptions emulator` on a free loopback port, creates a throwaway stack on a
# throwaway local backend, then preview -> up -> preview --expect-no-changes -> destroy, and fails if
# destroy left any subscription behind. What .github/workflows/emulator.yml runs, and what
# tests/e2e/test_ci_recipe.py runs with the real pulumi.
#
# usage: run-against-emulator.sh [-n STACK] [-c KEY=VALUE]... [-s KEY]... [-o DIR] PROJECT_DIR
#   PROJECT_DIR   the directory holding your Pulumi.yaml
#   -n STACK      stack name (default: emulator-ci); created and removed again, never a real stack
#   -c KEY=VALUE  plain stack config your program needs (repeatable)
#   -s KEY        secret stack config your program needs, e.g. -s callbackPassword (repeatable);
#                 set to a random value, because nothing real receives it
#   -o DIR        also write after-up.json, outputs.json and after-destroy.json there (e.g. CI artifacts)
# Needs `pulumi` (>= 3.216) and `bandwidth-subscriptions` on PATH, or BANDWIDTH_SUBSCRIPTIONS set to the
# command, or a venv/ or .venv/ in PROJECT_DIR that has it (what `pulumi install` creates).
set -eu

die() {
  echo "run-against-emulator: $*" >&2
  exit 2
}
step() { printf '\n==> %s\n' "$*"; }
random() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bw-emulator-ci.XXXXXX")
stack=emulator-ci
out_dir=
emu_pid=
stack_created=
: >"$work/config"
: >"$work/secrets"

cleanup() {
  status=$?
  trap - EXIT INT TERM
  if [ -n "$stack_created" ]; then
    pulumi stack rm --yes --force --non-interactive "$stack" >/dev/null 2>&1 </dev/null || true
  fi
  if [ -n "$emu_pid" ]; then
    kill "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$work/emulator.log" ]; then
    echo "--- emulator log (last 40 lines) ---" >&2
    tail -n 40 "$work/emulator.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

while getopts n:c:s:o:h opt; do
  case "$opt" in
    n) stack=$OPTARG ;;
    c)
      case "$OPTARG" in *=*) ;; *) die "-c takes KEY=VALUE, got '$OPTARG'" ;; esac
      printf '%s\n' "$OPTARG" >>"$work/config"
      ;;
    s) printf '%s\n' "$OPTARG" >>"$work/secrets" ;;
    o) out_dir=$OPTARG ;;
    h)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *) die "unknown option (see -h)" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || die "give exactly one PROJECT_DIR (see -h)"
[ -f "$1/Pulumi.yaml" ] || die "no Pulumi.yaml in $1"
project=$(cd "$1" && pwd)
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  out_dir=$(cd "$out_dir" && pwd)
fi

bws=${BANDWIDTH_SUBSCRIPTIONS:-}
if [ -z "$bws" ]; then
  for candidate in "$(command -v bandwidth-subscriptions || true)" "$project/venv/bin/bandwidth-subscriptions" \
    "$project/.venv/bin/bandwidth-subscriptions"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      bws=$candidate
      break
    fi
  done
fi
[ -n "$bws" ] || die "bandwidth-subscriptions not found: pip install bandwidth-pulumi, or set BANDWIDTH_SUBSCRIPTIONS"
command -v pulumi >/dev/null || die "pulumi not found on PATH"

# Nothing real may reach this run: no Bandwidth credentials or endpoints from the environment (the
# provider falls back to BANDWIDTH_* variables), and a backend and passphrase of its own, so a real
# stack's state can never be touched.
unset BANDWIDTH_ACCOUNT_ID BANDWIDTH_CLIENT_ID BANDWIDTH_CLIENT_SECRET BANDWIDTH_USERNAME BANDWIDTH_PASSWORD \
  BANDWIDTH_API_URL BANDWIDTH_TOKEN_URL PULUMI_ACCESS_TOKEN PULUMI_CONFIG_PASSPHRASE_FILE
mkdir "$work/backend"
PULUMI_BACKEND_URL="file://$work/backend"
PULUMI_CONFIG_PASSPHRASE=$(random)
PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE PULUMI_SKIP_UPDATE_CHECK

account=9900000
client_id=emulator-ci
client_secret=$(random)

step "starting the Bandwidth emulator ($bws emulator)"
# The ready line is read from a FIFO: a blocking read, no polling. The FIFO stays open (fd 3) until
# the end, so the emulator never writes to a closed pipe.
mkfifo "$work/ready"
"$bws" emulator --host 127.0.0.1 --port 0 --oauth-client "$client_id:$client_secret:$account" \
  >"$work/ready" 2>"$work/emulator.log" &
emu_pid=$!
exec 3<"$work/ready"
if ! IFS= read -r ready <&3; then
  echo "run-against-emulator: the emulator exited before it was ready" >&2
  exit 1
fi
echo "$ready"
api_url=${ready#*API }
api_url=${api_url%% *}
case "$api_url" in http://127.0.0.1:*/api) ;; *) die "unexpected ready line: $ready" ;; esac

list() {
  BANDWIDTH_API_URL=$api_url BANDWIDTH_ACCOUNT_ID=$account BANDWIDTH_CLIENT_ID=$client_id \
    BANDWIDTH_CLIENT_SECRET=$client_secret "$bws" list "$@"
}

cd "$project"
step "stack $stack on a throwaway local backend, pointed at $api_url"
pulumi stack init "$stack" --non-interactive </dev/null
stack_created=1
pulumi config set bandwidth:apiUrl "$api_url" --non-interactive </dev/null
pulumi config set bandwidth:accountId "$account" --non-interactive </dev/null
pulumi config set bandwidth:clientId "$client_id" --non-interactive </dev/null
# Secret values go in on standard input, never on a command line (visible in the process list).
printf '%s' "$client_secret" | pulumi config set --secret bandwidth:clientSecret --non-interactive
while IFS= read -r pair; do
  pulumi config set "${pair%%=*}" "${pair#*=}" --non-interactive </dev/null
done <"$work/config"
while IFS= read -r key; do
  random | pulumi config set --secret "$key" --non-interactive
done <"$work/secrets"

step "pulumi preview"
pulumi preview --non-interactive </dev/null
step "pulumi up"
pulumi up --yes --skip-preview --non-interactive </dev/null
step "the emulator now holds"
list
if [ -n "$out_dir" ]; then
  list --json >"$out_dir/after-up.json"
  pulumi stack output --json --non-interactive </dev/null >"$out_dir/outputs.json"
fi
step "pulumi preview --expect-no-changes"
pulumi preview --expect-no-changes --non-interactive </dev/null
step "pulumi destroy"
pulumi destroy --yes --skip-preview --non-interactive </dev/null
step "the emulator must now be empty"
left=$(list --json)
[ -z "$out_dir" ] || printf '%s\n' "$left" >"$out_dir/after-destroy.json"
if [ "$left" != "[]" ]; then
  printf '%s\n' "$left"
  echo "run-against-emulator: destroy left subscriptions behind" >&2
  exit 1
fi
list
step "done: preview, up, preview (no changes) and destroy all succeeded against the emulator"
