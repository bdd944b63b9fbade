package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/verifypage"
	"github.com/cancuoc/cancuoc/wallet"
)

// walletConfig configures the document wallet.
type walletConfig struct {
	BaseURL string // CANCUOC_WALLET_BASE_URL: public URL issuers, vct and status lists live under
	Secret  string // CANCUOC_WALLET_SECRET(_FILE): hex, ≥32 bytes; default DATA_DIR/wallet-secret
}

func bindWallet(fs *flag.FlagSet, getenv func(string) string) *walletConfig {
	wc := &walletConfig{}
	secret := getenv("CANCUOC_WALLET_SECRET")
	if f := getenv("CANCUOC_WALLET_SECRET_FILE"); secret == "" && f != "" {
		if b, err := os.ReadFile(f); err == nil {
			secret = strings.TrimSpace(string(b))
		}
	}
	fs.StringVar(&wc.BaseURL, "wallet-base-url", getenv("CANCUOC_WALLET_BASE_URL"),
		"public URL of this platform for wallet documents (issuer, vct and status-list URIs), e.g. https://id.example.vn; default http://ADDR (CANCUOC_WALLET_BASE_URL)")
	fs.StringVar(&wc.Secret, "wallet-secret", secret,
		"hex secret the issuers' signing keys are sealed under (≥32 bytes); default DATA_DIR/wallet-secret, created on first start (CANCUOC_WALLET_SECRET, CANCUOC_WALLET_SECRET_FILE)")
	return wc
}

// secret returns the sealing secret: given, or kept in the data directory
// so that sealed issuer keys open after a restart.
func (wc *walletConfig) secret(c *Config) ([]byte, error) {
	return dataSecret(wc.Secret, "wallet-secret", c.DataDir, "wallet-secret", "wallet secret")
}

// startWallet builds the wallet service. API keys issue as their agency
// allows (wallet.AgencyPolicy); partners' systems issue the document types
// their policies list (wallet.PartnerPolicy).
func (a *app) startWallet(c *Config, wc *walletConfig, log *slog.Logger) error {
	secret, err := wc.secret(c)
	if err != nil {
		return err
	}
	base := wc.BaseURL
	if base == "" {
		base = "http://" + c.Addr
	}
	s, err := wallet.New(a.store, wallet.Config{BaseURL: base, Secret: secret,
		Policy: wallet.PartnerPolicy{Partners: a.verify, Fallback: wallet.AgencyPolicy{}}})
	if err != nil {
		return err
	}
	a.wallet = s
	log.Info("document wallet", "base_url", base)
	return nil
}

// subscribeWallet makes documents follow the holder's life status: a
// death revokes them, a missing declaration suspends them until the person
// is back; and puts procedures' documents into the wallet. The handlers
// are idempotent, as at-least-once delivery requires.
func (a *app) subscribeWallet() {
	if a.wallet != nil && a.events != nil {
		a.events.Subscribe("wallet-documents", []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenMissing, cancuoc.EventCitizenUpdated},
			a.wallet.HandleRegistryEvent)
		// The birth certificate and the child's health card issued by the
		// interlinked procedures land in the child's wallet too. The
		// subjects' wallet keys are read once per batch of events.
		a.events.Subscribe("wallet-procedure-documents", []string{wallet.EventProcedureStepCompleted}, a.wallet.HandleProcedureEvent,
			dispatch.PrepareBatch(a.wallet.PrepareProcedureEvents))
	}
}

// mountVerifierPage serves the verifier page at /verify.
func (a *app) mountVerifierPage(mux *http.ServeMux, log *slog.Logger) {
	if a.wallet != nil {
		verifypage.Routes(mux, a.wallet, log)
	}
}
