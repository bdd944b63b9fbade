package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/internal/webauthntest"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// Password is every benchmark account's password.
const Password = "mật khẩu của phép đo 2026"

// state is what prepare leaves for run: the client, and the accounts with
// what their holders know (TOTP secret, passkey) and the last TOTP step and
// passkey counter used, so that runs go on where the previous one stopped.
type state struct {
	Issuer   string      `json:"issuer"`
	Client   string      `json:"client"`
	Secret   string      `json:"client_secret"`
	Redirect string      `json:"redirect"`
	Accounts []*account  `json:"accounts"`
	Passkeys []*passkeyH `json:"passkeys"`
}

type account struct {
	PIN  cancuoc.PIN `json:"pin"`
	ID   string      `json:"id"`
	TOTP string      `json:"totp"`
	Last int64       `json:"last_step"`
}

type passkeyH struct {
	PIN    cancuoc.PIN `json:"pin"`
	ID     string      `json:"id"`
	Key    []byte      `json:"key"` // PKCS#8
	CredID []byte      `json:"cred_id"`
	Count  uint32      `json:"count"`
}

func openStore(ctx context.Context, db string) (cancuoc.Store, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return postgres.Open(ctx, db)
	}
	return sqlite.Open(ctx, db)
}

type nopSender struct{}

func (nopSender) Send(context.Context, string, string) error { return nil }

func runPrepare(ctx context.Context, fs *flag.FlagSet, args []string) (any, error) {
	db := fs.String("database", "", "the server's database (SQLite file or postgres:// URL)")
	secretHex := fs.String("secret", "", "the server secret (hex), as given to cancuoc serve")
	issuer := fs.String("issuer", "", "the server's issuer URL")
	origin := fs.String("origin", "", "the server's WebAuthn origin (http://ADDR)")
	n := fs.Int("accounts", 2000, "accounts with password and TOTP")
	np := fs.Int("passkeys", 100, "of which this many also get a passkey")
	path := fs.String("state", "oidcbench.json", "state file to write")
	_ = fs.Parse(args)
	secret, err := hex.DecodeString(*secretHex)
	if err != nil || len(secret) < 32 {
		return nil, errors.New("-secret must be the server secret in hex (≥ 32 bytes)")
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	start := time.Now()

	prov, err := oidc.New(st, nil, oidc.Config{Issuer: *issuer, Secret: secret, Insecure: true})
	if err != nil {
		return nil, err
	}
	s := &state{Issuer: *issuer, Client: "bench", Redirect: "http://127.0.0.1/cb"}
	_, s.Secret, err = prov.CreateClient(ctx, nil, oidc.NewClient{ID: s.Client, Name: "Phép đo", Purpose: "Đo hiệu năng đăng nhập",
		RedirectURIs: []string{s.Redirect}})
	if err != nil {
		return nil, err
	}
	cfg := eid.DefaultConfig()
	cfg.Secret = secret
	cfg.RPID, cfg.RPOrigins = "localhost", []string{*origin}
	es, err := eid.New(st, nopSender{}, cfg)
	if err != nil {
		return nil, err
	}
	// One hash for every account: the same password, and the cost of
	// hashing is measured separately.
	hash, err := eid.HashPassword(Password, cfg.Password)
	if err != nil {
		return nil, err
	}
	const batch = 500
	for lo := 0; lo < *n; lo += batch {
		hi := min(lo+batch, *n)
		err := st.InTx(ctx, func(tx cancuoc.Tx) error {
			now := time.Now().UTC().Truncate(time.Microsecond)
			for i := lo; i < hi; i++ {
				pin := storetest.PINFor("079", cancuoc.Female, 1985, 500000+i)
				c := storetest.Citizen(pin)
				c.Household, c.Father, c.Mother, c.Spouse = nil, nil, nil, nil
				if err := tx.InsertCitizen(ctx, c); err != nil {
					return fmt.Errorf("citizen %d: %w", i, err)
				}
				a := &cancuoc.Account{ID: fmt.Sprintf("a_bench%07d", i), Kind: cancuoc.AccountCitizen, PIN: pin, Level: cancuoc.Level1,
					Status: cancuoc.AccountActive, Phone: "+84912000000", CreatedAt: now, UpdatedAt: now, Version: 1}
				if err := tx.InsertAccount(ctx, a); err != nil {
					return err
				}
				if err := tx.PutSecrets(ctx, &cancuoc.AccountSecrets{AccountID: a.ID, PasswordHash: hash, PasswordSetAt: now}); err != nil {
					return err
				}
				if err := tx.PutConsent(ctx, &cancuoc.Consent{PIN: pin, ClientID: s.Client, Scopes: []string{"openid", "profile"}, GrantedAt: now}); err != nil {
					return err
				}
				s.Accounts = append(s.Accounts, &account{PIN: pin, ID: a.ID})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// TOTP and passkeys through the eID service, as a holder enrols them.
	for i, a := range s.Accounts {
		acc, err := st.Account(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		en, err := es.BeginTOTP(ctx, acc)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		code, _ := eid.TOTPCode(en.Secret, now, 6)
		if err := es.ConfirmTOTP(ctx, acc, en.ChallengeID, code); err != nil {
			return nil, fmt.Errorf("TOTP of account %d: %w", i, err)
		}
		a.TOTP, a.Last = en.Secret, now.Unix()/30 // the step the enrolment code was made for
		if i < *np {
			pk, err := enrolPasskey(ctx, es, acc, *origin)
			if err != nil {
				return nil, fmt.Errorf("passkey of account %d: %w", i, err)
			}
			s.Passkeys = append(s.Passkeys, pk)
		}
	}
	if err := save(*path, s); err != nil {
		return nil, err
	}
	return map[string]any{"accounts": len(s.Accounts), "passkeys": len(s.Passkeys), "seconds": time.Since(start).Seconds()}, nil
}

func enrolPasskey(ctx context.Context, es *eid.Service, acc *cancuoc.Account, origin string) (*passkeyH, error) {
	auth := webauthntest.New(fatal{}, "localhost", origin)
	reg, err := es.BeginPasskeyRegistration(ctx, acc)
	if err != nil {
		return nil, err
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(auth.Create(reg.Options.Response.Challenge)))
	r.Header.Set("Content-Type", "application/json")
	if _, err := es.FinishPasskeyRegistration(ctx, acc, reg.ChallengeID, "phép đo", r); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(auth.Key)
	if err != nil {
		return nil, err
	}
	return &passkeyH{PIN: acc.PIN, ID: acc.ID, Key: der, CredID: auth.CredID, Count: auth.Count}, nil
}

func save(path string, s *state) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func load(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s state
	return &s, json.Unmarshal(b, &s)
}
