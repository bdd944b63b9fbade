package main

import (
	"flag"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cancuoc/cancuoc/eid"
)

// runHash measures argon2id password verifications per second at the
// default (configured) parameters, on -threads goroutines.
func runHash(fs *flag.FlagSet, args []string) (any, error) {
	dur := fs.Duration("d", 10*time.Second, "duration")
	threads := fs.Int("threads", 2, "goroutines hashing at once")
	_ = fs.Parse(args)
	p := eid.DefaultPasswordParams()
	h, err := eid.HashPassword(Password, p)
	if err != nil {
		return nil, err
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(*dur)
	t0, cpu0 := time.Now(), cpuSeconds()
	for range *threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if ok, _, err := eid.VerifyPassword(h, Password, p); err != nil || !ok {
					panic("the password does not verify")
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	el, cpu := time.Since(t0).Seconds(), cpuSeconds()-cpu0
	// CPU time per hash is what a password login spends on its hash
	// wherever it runs; the report subtracts it from the server's CPU per
	// password login to show the rest of that login.
	return map[string]any{"hashes": n.Load(), "seconds": el, "hashes_per_s": float64(n.Load()) / el,
		"cpu_s": cpu, "cpu_ms_per_hash": cpu * 1000 / float64(max(n.Load(), 1)),
		"memory_kib": p.Memory, "time": p.Time, "threads": p.Threads}, nil
}

// runPlain serves the reference for introspection: a Go HTTP handler that
// reads the same form and answers a JSON object of the same size, with no
// work behind it.
func runPlain(fs *flag.FlagSet, args []string) error {
	addr := fs.String("addr", "127.0.0.1:18861", "listen address")
	_ = fs.Parse(args)
	body := []byte(`{"active":true,"scope":"openid profile","client_id":"bench","token_type":"Bearer","exp":1900000000,"iat":1800000000,"auth_time":1800000000,"aud":["bench"],"iss":"http://127.0.0.1/oidc","sub":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","jti":"xxxxxxxxxxxxxxxxxxxxxxxx","amr":["pwd","otp","mfa"],"acr":"urn:cancuoc:eid:loa1"}`)
	return http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("token") == "" {
			http.Error(w, "no token", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}
