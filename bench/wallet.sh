#!/usr/bin/env bash
# Wallet documents: SD-JWT VCs issued and presentations verified per
# second, beside raw ES256 signing and verification measured in the same
# process, in the same interleaved rounds (bench/walletbench); writes
# bench/results/70-wallet.md and rebuilds bench/RESULTS.md.
#
# Sizes: HOLDERS citizens with a wallet key (default 1000), DURATION per
# measure (5s), ROUNDS (3), PG (unset: end-to-end issuance on SQLite; a
# PostgreSQL URL to issue through PostgreSQL instead).
# Full size (about 3 minutes on an idle 2-core machine):
#   HOLDERS=10000 DURATION=10s ROUNDS=5 bash bench/wallet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HOLDERS=${HOLDERS:-1000}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
PG=${PG:-}
OUT=bench/out
mkdir -p "$OUT" bench/results
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
go build -o "$OUT/walletbench" ./bench/walletbench
args=(-holders "$HOLDERS" -dur "$DURATION" -rounds "$ROUNDS")
[ -n "$PG" ] && args+=(-pg "$PG")
"$OUT/walletbench" "${args[@]}" > "$OUT/wallet.md" 2> "$OUT/wallet.log"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
{
  echo "## Wallet documents: issuance and verification (\`bench/wallet.sh\`)"
  echo
  echo "Written by \`bench/wallet.sh\` (rerun it to refresh) on $(date -u '+%Y-%m-%d %H:%M UTC'), with HOLDERS=$HOLDERS DURATION=$DURATION ROUNDS=$ROUNDS; load average at the start $LOAD_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Machine: $(nproc) cores ($cpu), $(free -h | awk '/Mem:/{print $2}') memory; $(uname -sr); $(go version | cut -d' ' -f3). The machine is shared with up to eight other engineers' builds, so a wall-clock rate mostly measures the share of the cores left to us (it swung by 2x between rounds): rates are therefore per CPU-second of the benchmark process (operations ÷ its user+system CPU time, GC included), which measures what an operation costs; the ratios compare those, taken in the same interleaved rounds. The wall-clock rates and the share of the cores obtained are in bench/out/wallet.log."
  echo
  echo "What is measured: the raw operations are SHA-256 and ECDSA P-256 over a 900-byte input (Go's crypto/ecdsa); an SD-JWT VC issued is a driving licence with 8 claims, each a salted disclosure, and 2 decoy digests, signed ES256 (\`sdjwt.Issue\`); end to end adds the policy and schema checks and one durable transaction (status-list slot, document, audit entry, outbox event) through \`wallet.Issue\`; a presentation verified is \`wallet.Checker.Check\` of a presentation with 3 of the 8 claims and a key-binding JWT: issuer signature against the published key, disclosures against the digests, holder signature, nonce, audience, freshness, expiry and the status list (from the store, cached 2 s). Cold: 400 documents per round, the checker's signature cache never hitting (each presentation costs what a document never seen before costs). Warm: 20 documents per round, each presented 100 times with its own freshly signed key-binding JWT, the issuer signature remembered for a minute."
  echo
  echo "How to read the ratios. Each row is set beside the raw cost of the ES256 signatures it makes or checks: an issued document makes one (the issuer's); a cold presentation checks two (the issuer's and the holder's key binding), so its reference is half the raw verify rate, and a ratio of 1 would mean all its cost is the two verifies; a warm presentation checks one (the key binding: the issuer signature of a document seen in the last minute is not checked again). The fair reading of the issue's goal (presentations verified per second ≥ 0.5× raw ES256 verify) is therefore the ratio column: against one raw verify a cold presentation can never reach 0.5 (two verifies already cost 1/0.5), while the warm rate compared with one raw verify is the same as its ratio. Both readings against one raw verify are printed under the table. The cold rate is what a verifier pays for a stream of distinct documents (a border crossing); the warm one what it pays when the same documents come back within a minute (a wallet presenting at several counters of one office, a retry)."
  echo
  echo "End to end, the ratio is the store's, not the wallet's: in a CPU profile of this benchmark (\`walletbench -cpuprofile\`), signing the document (\`sdjwt.Issue\`) is about a fifth of \`wallet.Issue\`'s CPU; preparing and running the transaction's statements in the pure-Go SQLite driver and committing are most of the rest. The goal is read on the SD-JWT VC row, the issuing work itself. Profiling also removed what the wallet added around the crypto: the agency list rebuilt on every verification, a JSON decoder for every plain string, a reflective encoding of every disclosure, the JWS assembled in several copies with the signature through big integers."
  echo
  cat "$OUT/wallet.md"
} > bench/results/70-wallet.md
bash bench/assemble.sh
echo "wrote bench/results/70-wallet.md"
