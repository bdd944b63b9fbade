"""Writes bench/results/20-oidc.md from the JSON files bench/oidc.sh leaves
in its output directory. Arguments: OUT ACCOUNTS PASSKEYS CLIENTS DURATION."""
import datetime
import json
import os
import platform
import subprocess
import sys

out, accounts, passkeys, clients, duration = sys.argv[1:6]


def load(name):
    with open(os.path.join(out, name)) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


cpu_model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
mem = sh("free -h | awk '/Mem:/ {print $2}'")
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
h = load("hash.json")
p = print
p("## OpenID Connect provider: complete logins, password hashing, introspection (`bench/oidc.sh`)")
p()
p(f"Written by `bench/oidc.sh` (rerun it to refresh) on {now}.")
p()
p(f"Machine: {os.cpu_count()} cores ({cpu_model}), {mem} memory; Linux {platform.release()}; "
  f"{sh('psql --version')}; {sh('go version').replace('go version ', 'Go ')}. The load generator "
  "(`bench/oidcbench`), cancuoc, PostgreSQL and wrk share the same two cores, and the machine was "
  "shared with other engineers' builds and tests (the load average before and after each run is in "
  "the table), so "
  "absolute rates are low and noisy; the server's CPU time per login, the ratios taken in the same run, "
  "and the reference handler beside introspection are the figures to compare.")
p()
p(f"Scale of this run: {accounts} accounts with password and TOTP ({passkeys} also with a passkey), "
  f"{clients} concurrent logins (closed loop), {duration} per run. Full size: "
  "`ACCOUNTS=30000 PASSKEYS=2000 CLIENTS=64 DURATION=60s bash bench/oidc.sh`.")
p()
p("A complete login is what a citizen's browser and the relying party do together: `GET /authorize` "
  "(PKCE S256, state, nonce), answered with the login page itself → password then TOTP code (or the passkey ceremony: "
  "the discoverable ceremony's options carried by the login page, an ECDSA P-256 assertion from the "
  "software authenticator of `internal/webauthntest`, `/login/passkey`) → consent already given → "
  "redirect with the code → `POST /oauth/token` (client_secret_basic; the relying party checks the ID "
  "token's signature, issuer, audience, nonce and expiry) → `GET /userinfo` (profile claims from the registry). "
  "Every login writes its records: the login on the account, the access-log entries of the token and "
  "of the userinfo release (hash-chained), the code's single use, the TOTP step or passkey counter. "
  "A passkey login is four HTTP requests: two by the browser (`/authorize`, `/login/passkey`), two by the "
  "relying party (token, userinfo). Each load-generator worker keeps one keep-alive connection and each "
  "login a fresh browser (its own cookies).")
p()
p("### Complete logins per second")
p()
p("| database | factor | logins/s | p50 | p99 | server CPU per login | PostgreSQL backends CPU per login | "
  "load generator CPU per login | capacity of 2 idle cores (server alone) | (server + backends + generator) | "
  "errors | ratio to goal (1,000/s) | ratio to Keycloak (15/s per vCPU, 30/s here) | load average before → after |")
p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
per_login = {}
for db, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
    for mode, fl in (("totp", "password + TOTP"), ("passkey", "passkey")):
        try:
            r = load(f"{db}-{mode}.json")
            c = load(f"{db}-{mode}-cpu.json")
        except (OSError, ValueError):
            continue
        per = c["server_cpu_s"] * 1000 / r["flows"] if r["flows"] else 0
        cli = r.get("client_cpu_s", 0) * 1000 / r["flows"] if r["flows"] else 0
        dbc = c.get("db_cpu_s", 0) * 1000 / r["flows"] if r["flows"] else 0
        per_login[(db, mode)] = (per, cli)
        cap = f"{2000 / per:.0f}/s" if per else "–"
        cap2 = f"{2000 / (per + dbc + cli):.0f}/s" if per + dbc + cli else "–"
        dbs = f"{dbc:.2f} ms" if db == "pg" else "— (in the server)"
        try:
            with open(os.path.join(out, f"{db}-{mode}-load.txt")) as f:
                la = " → ".join(l.split()[0] for l in f.read().split("\n") if l.strip())
        except OSError:
            la = "?"
        p(f"| {label} | {fl} | {r['flows_per_s']:.0f} | {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | "
          f"{per:.2f} ms | {dbs} | {cli:.2f} ms | {cap} | {cap2} | {r['errors']} | **{r['flows_per_s'] / 1000:.2f}** | "
          f"{r['flows_per_s'] / 30:.1f} | {la} |")
p()
p("*Capacity of 2 idle cores* is 2,000 ms of CPU per second divided by the CPU per login: what the "
  "provider process (server alone), or the provider with this load generator beside it, could serve "
  "with the machine to itself. On SQLite the server's CPU includes the database's work (embedded); on "
  "PostgreSQL it does not: the CPU of the PostgreSQL backends serving the provider (found by its "
  "`application_name`, utime + stime from `/proc`) is its own column, and the last capacity column "
  "counts all three. The load generator plays "
  "the citizens' browsers (including the passkey's ECDSA signature) and the relying party; in "
  "service that work is on their machines, not the provider's.")
p()
p(f"Password hashing alone (argon2id at the default parameters: {h['memory_kib'] // 1024} MiB, "
  f"{h['time']} passes, {h['threads']} lane), {os.cpu_count()} goroutines: "
  f"**{h['hashes_per_s']:.0f} hashes/s** ({h['hashes']} in {h['seconds']:.0f} s), "
  f"**{h.get('cpu_ms_per_hash', 0):.1f} ms of CPU per hash**, measured at the start of the run.")
p()
p("#### A password + TOTP login with its password hash reported apart")
p()
p("A citizen's account always has a password; TOTP is its second factor, never the first, so a "
  "TOTP-only login is not a product option and is not measured. Instead the password + TOTP row's "
  "server CPU per login is taken apart: the one argon2id hash it contains (CPU per hash, measured above "
  "in the same run) and the rest (pages, the TOTP check and its replay record, lockout bookkeeping, "
  "code, tokens, userinfo, the writes).")
p()
p("| database | server CPU per password + TOTP login | of which the argon2id hash | the rest | "
  "capacity of 2 idle cores for the rest | passkey login, for comparison |")
p("|---|---:|---:|---:|---:|---:|")
for db, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
    if (db, "totp") not in per_login:
        continue
    per = per_login[(db, "totp")][0]
    hc = h.get("cpu_ms_per_hash", 0)
    rest = per - hc
    pk = per_login.get((db, "passkey"), (0, 0))[0]
    capr = f"{2000 / rest:.0f}/s" if rest > 0 else "–"
    p(f"| {label} | {per:.2f} ms | {hc:.2f} ms | {rest:.2f} ms | {capr} | {pk:.2f} ms |")
p()
p("A login with a password includes exactly one such hash (the TOTP check is a few HMACs), so on this "
  "machine password logins cannot exceed the hash rate, whatever the rest costs; the hash is slow on "
  "purpose (it is what makes a stolen password table expensive to guess). The rest of the login is "
  "measured by the passkey row, which has no password: its server CPU per login is the cost of "
  "everything else (pages, cookies, code, ID token signature, token, userinfo, the writes). "
  "Argon2id runs in as many slots as there are processors (`eid/hashslots.go`), so a burst of "
  "password logins queues instead of holding 19 MiB per waiting login. "
  "For scale: eSignet's published sizing is about 20 logins/s per 1.5-vCPU pod; Keycloak's about 15 "
  "password logins/s per vCPU.")
p()
p("### Token introspection beside a plain Go HTTP handler")
p()
p(f"`POST /oidc/oauth/introspect` by the client (HTTP Basic, token in the form), wrk with {clients} "
  "connections: client authentication, the token looked up and checked, the answer as JSON. Reference: "
  "a Go `net/http` handler that parses the same form and writes a JSON answer of the same size with no "
  "work behind it, on the same machine in the same run.")
p()
p("| database | introspection requests/s | p50 | p99 | plain handler requests/s | ratio |")
p("|---|---:|---:|---:|---:|---:|")
for db, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
    try:
        i = load(f"{db}-introspect.json")
        pl = load(f"{db}-plain.json")
    except (OSError, ValueError):
        continue
    p(f"| {label} | {i['rps']:.0f} | {i['p50_ms']:.2f} ms | {i['p99_ms']:.2f} ms | {pl['rps']:.0f} | "
      f"**{i['rps'] / pl['rps']:.2f}** |")
p()
with open(os.path.join(os.path.dirname(__file__), "oidc_profile.md")) as f:
    p(f.read().rstrip())
