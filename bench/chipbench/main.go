// Command chipbench measures chip-card verification beside its reference in
// the same run: verifications per second (passive + active authentication
// + registry comparison, with the challenge stored and consumed and the
// access-log entry committed), in process and over HTTP, against the raw
// ECDSA P-256 verifications that one verification contains (the SOD
// signature, the document signer's certificate, the chip's active-
// authentication answer) done directly with crypto/ecdsa on the same data.
// It writes a Markdown part for bench/results. Run it through bench/chip.sh.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	encasn1 "encoding/asn1"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/card"
	"github.com/cancuoc/cancuoc/chipcheck"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/mrtd"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/synth"
)

func main() {
	var (
		citizens = flag.Int("citizens", 20000, "synthetic citizens in each registry")
		cards    = flag.Int("cards", 200, "distinct personalized cards verified in rotation")
		duration = flag.Duration("duration", 10*time.Second, "length of each measurement")
		workers  = flag.Int("workers", 2*runtime.GOMAXPROCS(0), "concurrent verifiers (closed loop)")
		rounds   = flag.Int("rounds", 3, "interleaved rounds; medians are reported")
		pgURL    = flag.String("pg", "", "PostgreSQL URL; empty: SQLite only")
		port     = flag.Int("port", 19250, "port of the HTTP server")
		out      = flag.String("out", "bench/results/30-chip.md", "Markdown part to write")
		machine  = flag.String("machine", "", "machine description for the report")
	)
	flag.Parse()
	ctx := context.Background()
	if err := run(ctx, params{*citizens, *cards, *duration, *workers, *rounds, *pgURL, *port, *out, *machine}); err != nil {
		fmt.Fprintln(os.Stderr, "chipbench:", err)
		os.Exit(1)
	}
}

type params struct {
	citizens, cards int
	duration        time.Duration
	workers, rounds int
	pg              string
	port            int
	out, machine    string
}

// backend is one registry under measurement.
type backend struct {
	name  string
	store cancuoc.Store
	w     *audit.Writer
	check *chipcheck.Checker
	cards []*mrtd.TestCard
	srv   *http.Server
	base  string
	key   string
}

func run(ctx context.Context, p params) error {
	ca, err := mrtd.NewTestCA(mrtd.ECDSAP256, time.Now())
	if err != nil {
		return err
	}
	var bs []*backend
	tmp, err := os.MkdirTemp("", "chipbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	st, err := sqlite.Open(ctx, filepath.Join(tmp, "chip.db"))
	if err != nil {
		return err
	}
	bs = append(bs, &backend{name: "SQLite", store: st})
	if p.pg != "" {
		conn, err := pgx.Connect(ctx, p.pg)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS bench_chip CASCADE; CREATE SCHEMA bench_chip"); err != nil {
			return err
		}
		defer conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS bench_chip CASCADE")
		pst, err := postgres.Open(ctx, p.pg, postgres.WithSchema("bench_chip"))
		if err != nil {
			return err
		}
		bs = append(bs, &backend{name: "PostgreSQL", store: pst})
	}
	for i, b := range bs {
		if err := b.setup(ctx, ca, p, p.port+i); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		defer b.close()
	}
	raw, err := newRaw(ca, bs[0].cards[0])
	if err != nil {
		return err
	}
	res := map[string][]float64{}
	for r := 0; r < p.rounds; r++ {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", r+1, p.rounds)
		res["raw"] = append(res["raw"], measure(p, func(i int) error { return raw.once(i) }))
		for _, b := range bs {
			res[b.name+"/inproc"] = append(res[b.name+"/inproc"], measure(p, b.inProcess))
			res[b.name+"/http"] = append(res[b.name+"/http"], measure(p, b.overHTTP))
		}
	}
	return report(p, bs, res)
}

func (b *backend) setup(ctx context.Context, ca *mrtd.TestCA, p params, port int) error {
	b.w = audit.NewWriter(b.store, 0)
	reg := registry.New(b.store, b.w)
	fmt.Fprintf(os.Stderr, "%s: seeding %d citizens\n", b.name, p.citizens)
	var holders []*cancuoc.Citizen
	meta := registry.Meta{Reason: "benchmark", LegalBasis: "benchmark"}
	err := synth.Generate(ctx, synth.Config{Citizens: p.citizens, Seed: 7, Now: time.Now(), BatchSize: 5000}, func(batch []*cancuoc.Citizen) error {
		for _, c := range batch {
			if len(holders) < p.cards && c.LifeStatus == cancuoc.Alive && len(c.Cards) > 0 && c.Cards[len(c.Cards)-1].Status == cancuoc.CardValid {
				holders = append(holders, c.Clone())
			}
		}
		return reg.Import(ctx, nil, batch, meta)
	})
	if err != nil {
		return err
	}
	for _, c := range holders {
		k, err := ca.Personalize(c, mrtd.CardOptions{Now: time.Now()})
		if err != nil {
			return err
		}
		b.cards = append(b.cards, k)
	}
	if len(b.cards) == 0 {
		return fmt.Errorf("no card holders among %d citizens", p.citizens)
	}
	b.check = chipcheck.New(b.store, b.w, ca.Trust)
	// Every card must pass, or the figures measure refusals.
	if v, err := b.verifyOnce(0); err != nil || !v.Accepted {
		return fmt.Errorf("the first card is not accepted: %v %+v", err, v)
	}
	_, key, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "bench bank", Role: cancuoc.RoleMinistrySystem})
	if err != nil {
		return err
	}
	b.key = key
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(reg, log).WithChip(b.check, card.New(reg)).Routes(mux)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	b.base = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: httpapi.Handler(mux, log, nil)}
	go b.srv.Serve(ln)
	return nil
}

func (b *backend) close() {
	if b.srv != nil {
		b.srv.Close()
	}
	b.w.Close()
	b.store.Close()
}

var caller = chipcheck.Caller{ID: "bench-bank", Role: cancuoc.RoleMinistrySystem}

func (b *backend) verifyOnce(i int) (*chipcheck.Verdict, error) {
	ctx := context.Background()
	k := b.cards[i%len(b.cards)]
	ch, err := b.check.NewChallenge(ctx, caller)
	if err != nil {
		return nil, err
	}
	sig, err := k.RespondActive(ch.Challenge)
	if err != nil {
		return nil, err
	}
	return b.check.Verify(ctx, caller, &chipcheck.Request{Chip: k.Chip, ChallengeID: ch.ID, AASignature: sig, Purpose: "benchmark"})
}

func (b *backend) inProcess(i int) error {
	v, err := b.verifyOnce(i)
	if err == nil && !v.Accepted {
		err = fmt.Errorf("refused: %+v", v.Reasons)
	}
	return err
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func (b *backend) post(path string, body any, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest("POST", b.base+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+b.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, msg)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// overHTTP is what a counter device does: ask for a challenge, let the
// chip sign it, post the chip data with the answer.
func (b *backend) overHTTP(i int) error {
	k := b.cards[i%len(b.cards)]
	var ch chipcheck.Challenge
	if err := b.post("/v1/chip/challenges", nil, &ch); err != nil {
		return err
	}
	sig, err := k.RespondActive(ch.Challenge)
	if err != nil {
		return err
	}
	var v chipcheck.Verdict
	if err := b.post("/v1/chip/verifications", map[string]any{"chip": k.Chip, "challenge_id": ch.ID, "aa_signature": sig, "purpose": "benchmark"}, &v); err != nil {
		return err
	}
	if !v.Accepted {
		return fmt.Errorf("refused: %+v", v.Reasons)
	}
	return nil
}

// rawVerify is the reference: the three ECDSA P-256 verifications of one
// chip verification, on the same keys and data, with crypto/ecdsa.
type rawVerify struct {
	dsKey, cscaKey, aaKey *ecdsa.PublicKey
	attrs, sodSig         []byte
	tbs, certSig          []byte
	challenge, aaSig      []byte
}

func newRaw(ca *mrtd.TestCA, k *mrtd.TestCard) (*rawVerify, error) {
	sod, err := mrtd.ParseSOD(k.Chip.SOD)
	if err != nil {
		return nil, err
	}
	aa, err := mrtd.ParseDG15(k.Chip.DataGroups[15])
	if err != nil {
		return nil, err
	}
	r := &rawVerify{dsKey: sod.Signer.PublicKey.Key.(*ecdsa.PublicKey), cscaKey: ca.CSCA.PublicKey.Key.(*ecdsa.PublicKey),
		aaKey: aa.Key.(*ecdsa.PublicKey), attrs: sod.SignedAttributes, sodSig: sod.Signature, challenge: []byte("12345678")}
	// The certificate's outer SEQUENCE { tbs, algorithm, BIT STRING }.
	in := cryptobyte.String(sod.Signer.Raw)
	var cert, tbs, alg cryptobyte.String
	var sig encasn1.BitString
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!cert.ReadASN1(&alg, cbasn1.SEQUENCE) || !cert.ReadASN1BitString(&sig) {
		return nil, fmt.Errorf("signer certificate")
	}
	r.tbs, r.certSig = tbs, sig.RightAlign()
	if r.aaSig, err = k.RespondActive(r.challenge); err != nil {
		return nil, err
	}
	return r, r.once(0)
}

func (r *rawVerify) once(int) error {
	h := sha256.Sum256(r.attrs)
	if !ecdsa.VerifyASN1(r.dsKey, h[:], r.sodSig) {
		return fmt.Errorf("SOD signature")
	}
	h = sha256.Sum256(r.tbs)
	if !ecdsa.VerifyASN1(r.cscaKey, h[:], r.certSig) {
		return fmt.Errorf("certificate signature")
	}
	h = sha256.Sum256(r.challenge)
	n := len(r.aaSig) / 2
	if !ecdsa.Verify(r.aaKey, h[:], new(big.Int).SetBytes(r.aaSig[:n]), new(big.Int).SetBytes(r.aaSig[n:])) {
		return fmt.Errorf("active-authentication signature")
	}
	return nil
}

// measure runs op from p.workers goroutines for p.duration and returns
// operations per second; any error stops the run.
func measure(p params, op func(i int) error) float64 {
	var n atomic.Int64
	var failed atomic.Value
	stop := time.Now().Add(p.duration)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < p.workers; w++ {
		wg.Go(func() {
			for i := w; time.Now().Before(stop); i += p.workers {
				if err := op(i); err != nil {
					failed.Store(err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		fmt.Fprintln(os.Stderr, "chipbench: operation failed:", err)
		os.Exit(1)
	}
	return float64(n.Load()) / time.Since(start).Seconds()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func rounds(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(parts, ", ")
}

func report(p params, bs []*backend, res map[string][]float64) error {
	var b strings.Builder
	raw := median(res["raw"])
	fmt.Fprintf(&b, "## Chip-card verification (`bench/chip.sh`)\n\n")
	fmt.Fprintf(&b, "Written by `bench/chip.sh` (rerun it to refresh) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	if p.machine != "" {
		fmt.Fprintf(&b, "Machine: %s. The machine is shared with other work, so compare ratios taken in the same run, not absolute figures across runs.\n\n", p.machine)
	}
	fmt.Fprintf(&b, "One verification is what a bank's counter device asks for: `chipcheck` issues an active-authentication challenge (stored, single use), then verifies the chip data: "+
		"passive authentication (SOD CMS signature, the document signer's certificate against the CSCA, validity, every data group's SHA-256), "+
		"active authentication (the chip's ECDSA answer to the challenge, which is consumed from the store), DG14, the comparison of DG1/DG13 with the registry record and its card records, "+
		"and the access-log entry committed before the answer. Over HTTP the client makes both calls (`POST /v1/chip/challenges`, `POST /v1/chip/verifications`, base64 JSON of ~%d bytes) with an API key. "+
		"Reference: the three ECDSA P-256 signature verifications one verification contains (SOD, signer certificate, active authentication), on the same keys and data, with `crypto/ecdsa` directly. "+
		"All with %d concurrent workers (closed loop) for %s per run, %d interleaved rounds, medians; %d citizens per registry, %d distinct cards (test CSCA and keys ECDSA P-256).\n\n",
		approxBody(bs[0].cards[0]), p.workers, p.duration, p.rounds, p.citizens, len(bs[0].cards))
	fmt.Fprintf(&b, "| what | verifications/s | ratio to raw signatures (goal: in process ≥ 0.3, HTTP ≥ 0.2) |\n|---|---:|---:|\n")
	fmt.Fprintf(&b, "| raw: 3 × ECDSA P-256 verify (reference) | %.0f | 1 |\n", raw)
	for _, be := range bs {
		for _, kind := range []struct{ key, label string }{{"inproc", "in process"}, {"http", "over HTTP"}} {
			m := median(res[be.name+"/"+kind.key])
			fmt.Fprintf(&b, "| chipcheck on %s, %s | %.0f | **%.2f** |\n", be.name, kind.label, m, m/raw)
		}
	}
	fmt.Fprintf(&b, "\nEach round (verifications/s): raw %s", rounds(res["raw"]))
	for _, be := range bs {
		fmt.Fprintf(&b, "; %s in process %s, over HTTP %s", be.name, rounds(res[be.name+"/inproc"]), rounds(res[be.name+"/http"]))
	}
	fmt.Fprintf(&b, ".\n")
	if err := os.MkdirAll(filepath.Dir(p.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p.out, []byte(b.String()), 0o644)
}

func approxBody(k *mrtd.TestCard) int {
	raw, _ := json.Marshal(map[string]any{"chip": k.Chip})
	return len(raw)
}
