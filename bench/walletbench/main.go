// Command walletbench measures the wallet's documents issued and
// presentations verified per second beside raw ES256 signing and
// verification, in the same process and the same interleaved rounds, and
// prints a Markdown table (bench/wallet.sh writes it to the results).
//
//	go run ./bench/walletbench -holders 1000 -dur 5s -rounds 3 [-pg URL]
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/sdjwt"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/wallet"
)

func main() {
	holders := flag.Int("holders", 1000, "citizens with a wallet key, issued to round-robin")
	dur := flag.Duration("dur", 5*time.Second, "length of each measurement")
	rounds := flag.Int("rounds", 3, "interleaved rounds; medians are reported")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "goroutines for the CPU-bound measures")
	dbWorkers := flag.Int("db-workers", 8, "goroutines issuing through the store")
	pg := flag.String("pg", "", "PostgreSQL URL (a bench_wallet schema is created); SQLite in a temporary file when empty")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measurements here")
	flag.Parse()
	ctx := context.Background()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	var st cancuoc.Store
	var err error
	backend := "SQLite (file, WAL)"
	if *pg != "" {
		st, err = postgres.Open(ctx, *pg, postgres.WithSchema(fmt.Sprintf("bench_wallet_%d", time.Now().Unix())))
		backend = "PostgreSQL"
	} else {
		dir, _ := os.MkdirTemp("", "walletbench")
		defer os.RemoveAll(dir)
		st, err = sqlite.Open(ctx, filepath.Join(dir, "w.db"))
	}
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	w, err := wallet.New(st, wallet.Config{BaseURL: "https://id.example.vn", Secret: []byte("walletbench server secret 0123456789")})
	if err != nil {
		log.Fatal(err)
	}
	hs := setup(ctx, st, w, *holders)

	issuer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := make([]byte, 900) // about an issued document's JWS signing input
	_, _ = rand.Read(payload)
	digest := sha256.Sum256(payload)
	sig, _ := ecdsa.SignASN1(rand.Reader, issuer, digest[:])
	admin := &cancuoc.Principal{ID: "bench", Role: cancuoc.RoleNationalAdmin}

	measures := []struct {
		name    string
		workers int
		op      func(i int64) error
		prep    func() // before each round
	}{
		{"raw ES256 sign (SHA-256 + ECDSA P-256)", *workers, func(int64) error {
			h := sha256.Sum256(payload)
			_, err := ecdsa.SignASN1(rand.Reader, issuer, h[:])
			return err
		}, nil},
		{"SD-JWT VC issued (sdjwt.Issue: 8 salted disclosures, 2 decoys, ES256)", *workers, func(i int64) error {
			_, err := sdjwt.Issue(sdjwt.Key{ID: "k", Signer: issuer}, plainClaims(hs[i%int64(len(hs))]), claims(hs[i%int64(len(hs))].pin), sdjwt.IssueOptions{Decoys: 2})
			return err
		}, nil},
		{"document issued end to end (wallet.Issue: policy, schema, one transaction with slot, document, audit entry, event)", *dbWorkers, func(i int64) error {
			h := hs[i%int64(len(hs))]
			_, err := w.Issue(ctx, admin, wallet.IssueRequest{Type: "driver_licence", PIN: h.pin.String(), Claims: claims(h.pin)})
			return err
		}, nil},
		{"raw ES256 verify", *workers, func(int64) error {
			if !ecdsa.VerifyASN1(&issuer.PublicKey, digest[:], sig) {
				return fmt.Errorf("bad signature")
			}
			return nil
		}, nil},
	}
	// Presentations are made fresh before each round (their key binding
	// lives five minutes), then verified with the platform's checker.
	// Cold: every presentation is of a document the checker has not seen
	// (its signature cache never hits: entries expire at once, but are
	// still looked up and stored, as for a stream of distinct documents).
	// Warm: a few documents presented again and again, each presentation
	// with its own freshly signed key-binding JWT.
	var coldPres, warmPres []string
	warm := w.Checker(ctx)
	cold := *warm
	cold.Cache = sdjwt.NewSigCache(100000, time.Nanosecond)
	check := func(c *wallet.Checker, pres *[]string) func(int64) error {
		return func(i int64) error {
			p := *pres
			v := c.Check(p[i%int64(len(p))], wallet.Expect{Nonce: "bench-nonce-1", Audience: "https://bank.example", RequireKB: true})
			if !v.Valid {
				return fmt.Errorf("verdict %s", v.Code)
			}
			return nil
		}
	}
	type measure = struct {
		name    string
		workers int
		op      func(i int64) error
		prep    func()
	}
	measures = append(measures,
		measure{"presentation verified, cold: a document not seen before (issuer signature, 3 disclosures, key-binding signature, nonce/aud/freshness, status list)", *workers, check(&cold, &coldPres),
			func() { coldPres = presentations(ctx, w, hs, 400, 1) }},
		measure{"presentation verified, warm: the same documents presented again, each time with a fresh key-binding JWT (issuer signature cached for a minute; all else checked)", *workers, check(warm, &warmPres),
			func() { warmPres = presentations(ctx, w, hs, 20, 100) }})

	results := make([][]float64, len(measures))
	for r := 0; r < *rounds; r++ {
		for m, ms := range measures {
			if ms.prep != nil {
				ms.prep()
			}
			rate, err := run(ms.workers, *dur, ms.op)
			if err != nil {
				log.Fatalf("%s: %v", ms.name, err)
			}
			results[m] = append(results[m], rate)
			fmt.Fprintf(os.Stderr, "round %d: %s: %.0f per CPU-second\n", r+1, ms.name, rate)
		}
	}
	med := make([]float64, len(results))
	for i, rs := range results {
		s := slices.Clone(rs)
		slices.Sort(s)
		med[i] = s[len(s)/2]
	}
	rawSign, rawVerify := med[0], med[3]
	fmt.Printf("Backend for end-to-end issuance: %s; %d holders; %d CPU workers, %d issuing goroutines; %s per measure, %d interleaved rounds, medians.\n\n",
		backend, len(hs), *workers, *dbWorkers, *dur, *rounds)
	fmt.Println("| what | ES256 signatures made or checked | per CPU-second | raw cost of those signatures, per CPU-second | ratio | goal |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	row := func(i, sigs int, ref float64, goal string) {
		ratio, raw := "1", "—"
		if ref != 0 {
			ratio = fmt.Sprintf("**%.2f**", med[i]/(ref/float64(sigs)))
			raw = fmt.Sprintf("%.0f", ref/float64(sigs))
		}
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s |\n", measures[i].name, sigs, med[i], raw, ratio, goal)
	}
	row(0, 1, 0, "")
	row(1, 1, rawSign, "≥ 0.5")
	row(2, 1, rawSign, "")
	row(3, 1, 0, "")
	row(4, 2, rawVerify, "")
	row(5, 1, rawVerify, "")
	fmt.Println()
	fmt.Printf("Each round (per CPU-second): ")
	for i, rs := range results {
		if i > 0 {
			fmt.Print("; ")
		}
		fmt.Printf("%s %v", short(measures[i].name), rounded(rs))
	}
	fmt.Println(".")
	fmt.Printf("\nAgainst one raw verify (the issue's literal reference), cold is %.2f and warm %.2f.\n", med[4]/rawVerify, med[5]/rawVerify)
}

func short(s string) string {
	for i, c := range s {
		if c == '(' {
			return s[:i-1]
		}
	}
	return s
}

func rounded(rs []float64) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = int(r)
	}
	return out
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// run calls op from workers goroutines for d and returns calls per
// second of this process's CPU time. The machine is shared: wall-clock
// rates measure how much of it other work left us, CPU rates measure what
// an operation costs, which is what the ratios compare.
func run(workers int, d time.Duration, op func(int64) error) (float64, error) {
	cpu0 := cpuTime()
	var n atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := n.Add(1)
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok {
		return 0, e
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	fmt.Fprintf(os.Stderr, "  %.0f/s wall-clock, %.0f%% of %d cores\n", float64(n.Load())/wall.Seconds(), 100*cpu.Seconds()/wall.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	return float64(n.Load()) / cpu.Seconds(), nil
}

type holder struct {
	pin cancuoc.PIN
	acc *cancuoc.Account
	key *ecdsa.PrivateKey
	jwk json.RawMessage // as wallet.mint puts it in cnf: the registered key's JSON
}

func setup(ctx context.Context, st cancuoc.Store, w *wallet.Service, n int) []*holder {
	hs := make([]*holder, n)
	for i := range n {
		c := storetest.Citizen(storetest.PIN(i + 1))
		if err := st.InsertCitizen(ctx, c); err != nil {
			log.Fatal(err)
		}
		acc := &cancuoc.Account{ID: fmt.Sprintf("acc-%d", i), Kind: cancuoc.AccountCitizen, PIN: c.PIN, Level: 1,
			Status: cancuoc.AccountActive, Version: 1, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := st.InsertAccount(ctx, acc); err != nil {
			log.Fatal(err)
		}
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		raw, _ := json.Marshal(&jose.JSONWebKey{Key: k.Public()})
		if _, _, err := w.RegisterHolderKey(ctx, acc, "", raw); err != nil {
			log.Fatal(err)
		}
		hs[i] = &holder{pin: c.PIN, acc: acc, key: k, jwk: raw}
	}
	return hs
}

func claims(pin cancuoc.PIN) map[string]any {
	return map[string]any{"family_name": "Nguyễn", "given_name": "Văn An", "birth_date": "1990-02-01",
		"licence_number": pin.String(), "categories": []any{"A1", "B2"}, "issue_date": "2024-05-06",
		"expiry_date": "2034-05-06", "issuing_authority": "Cục Cảnh sát giao thông"}
}

func plainClaims(h *holder) map[string]any {
	now := time.Now()
	return map[string]any{"iss": "https://id.example.vn/issuers/transport", "iat": now.Unix(), "exp": now.Add(10 * 365 * 24 * time.Hour).Unix(),
		"vct": "https://id.example.vn/vct/driver_licence", "cnf": map[string]any{"jwk": h.jwk},
		"status": map[string]any{"status_list": map[string]any{"idx": 12345, "uri": "https://id.example.vn/statuslists/transport/0"}}}
}

// presentations issues docs documents and presents each kbs times, every
// time with a freshly signed key binding, as the wallet app would.
func presentations(ctx context.Context, w *wallet.Service, hs []*holder, docs, kbs int) []string {
	admin := &cancuoc.Principal{ID: "bench", Role: cancuoc.RoleNationalAdmin}
	out := make([]string, 0, docs*kbs)
	for i := range docs {
		h := hs[i%len(hs)]
		d, err := w.Issue(ctx, admin, wallet.IssueRequest{Type: "driver_licence", PIN: h.pin.String(), Claims: claims(h.pin)})
		if err != nil {
			log.Fatal(err)
		}
		p, err := w.PreparePresentation(ctx, h.acc, d.ID, wallet.PresentRequest{Claims: []string{"given_name", "birth_date", "categories"},
			Nonce: "bench-nonce-1", Audience: "https://bank.example"})
		if err != nil {
			log.Fatal(err)
		}
		for range kbs {
			dg := sha256.Sum256([]byte(p.SigningInput))
			r, s, _ := ecdsa.Sign(rand.Reader, h.key, dg[:])
			sig := make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
			out = append(out, p.SDJWT+p.SigningInput+"."+base64.RawURLEncoding.EncodeToString(sig))
		}
	}
	return out
}
