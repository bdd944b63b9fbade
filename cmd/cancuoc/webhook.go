package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/webhook"
)

// webhookConfig is the part of the configuration for partners' webhooks.
type webhookConfig struct {
	KeyFile     string // CANCUOC_WEBHOOK_KEY: whsk_ Ed25519 signing key, created on first start; default DATA_DIR/webhook.key
	PolicyFile  string // CANCUOC_WEBHOOK_POLICY: JSON {"partner": {"event_types": [...], "fields": [...]}}
	FirstRetry  time.Duration
	MaxRetry    time.Duration
	MaxAttempts int
	MaxAge      time.Duration
	AllowNets   string // CANCUOC_WEBHOOK_ALLOW_NETS: comma-separated CIDRs
}

// bindWebhookConfig registers the webhook flags on fs, with defaults from
// the environment.
func bindWebhookConfig(fs *flag.FlagSet, getenv func(string) string) *webhookConfig {
	d := webhook.DefaultConfig()
	wc := &webhookConfig{}
	dur := func(name string, def time.Duration) time.Duration {
		if v, err := time.ParseDuration(getenv(name)); err == nil && v > 0 {
			return v
		}
		return def
	}
	fs.StringVar(&wc.KeyFile, "webhook-key", getenv("CANCUOC_WEBHOOK_KEY"),
		"file of the Ed25519 key webhooks are signed with (whsk_…), created on first start; the same on every node; default DATA_DIR/webhook.key (CANCUOC_WEBHOOK_KEY)")
	fs.StringVar(&wc.PolicyFile, "webhook-policy", getenv("CANCUOC_WEBHOOK_POLICY"),
		`JSON file of what each partner may receive: {"partner-id": {"event_types": ["citizen.died"], "fields": ["pin"]}}; none: no partner may subscribe (CANCUOC_WEBHOOK_POLICY)`)
	fs.DurationVar(&wc.FirstRetry, "webhook-first-retry", dur("CANCUOC_WEBHOOK_FIRST_RETRY", d.FirstRetry), "delay before a failed webhook's first retry, doubling after (CANCUOC_WEBHOOK_FIRST_RETRY)")
	fs.DurationVar(&wc.MaxRetry, "webhook-max-retry", dur("CANCUOC_WEBHOOK_MAX_RETRY", d.MaxRetry), "longest delay between retries (CANCUOC_WEBHOOK_MAX_RETRY)")
	fs.IntVar(&wc.MaxAttempts, "webhook-max-attempts", d.MaxAttempts, "attempts before a webhook goes to the dead-letter list")
	fs.DurationVar(&wc.MaxAge, "webhook-max-age", dur("CANCUOC_WEBHOOK_MAX_AGE", d.MaxAge), "age after which a failing webhook goes to the dead-letter list (CANCUOC_WEBHOOK_MAX_AGE)")
	fs.StringVar(&wc.AllowNets, "webhook-allow-net", getenv("CANCUOC_WEBHOOK_ALLOW_NETS"),
		"comma-separated private networks (CIDR) webhook receivers may be in, e.g. a government network 10.20.0.0/16; loopback, link-local and private addresses are refused otherwise (CANCUOC_WEBHOOK_ALLOW_NETS)")
	return wc
}

// parseNets reads a comma-separated list of CIDR prefixes.
func parseNets(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--webhook-allow-net: %q is not a network in CIDR form such as 10.20.0.0/16", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// openWebhooks builds the webhook service: key (created if needed) and
// policy. http:// receivers are allowed only to localhost, and only when
// the server itself listens on loopback (a laptop).
func (a *app) openWebhooks(c *Config, wc *webhookConfig, log *slog.Logger) error {
	if wc.KeyFile == "" {
		wc.KeyFile = filepath.Join(c.DataDir, "webhook.key")
	}
	signer, created, err := webhook.LoadOrCreateSigner(wc.KeyFile)
	if err != nil {
		return fmt.Errorf("webhook key %s: %w", wc.KeyFile, err)
	}
	if created {
		log.Info("created the webhook signing key", "file", wc.KeyFile, "key_id", webhook.KeyID(signer.PublicKey()),
			"public_key", webhook.MarshalPublicKey(signer.PublicKey()))
	}
	// The partners' policies decide, unless a policy file is given (for
	// systems not registered as partners).
	var policy webhook.Policy = a.verify
	if wc.PolicyFile != "" {
		if policy, err = webhook.LoadPolicy(wc.PolicyFile); err != nil {
			return err
		}
	}
	nets, err := parseNets(wc.AllowNets)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	ip := net.ParseIP(host)
	cfg := webhook.Config{FirstRetry: wc.FirstRetry, MaxRetry: wc.MaxRetry, MaxAttempts: wc.MaxAttempts, MaxAge: wc.MaxAge,
		AllowHTTPDev: host == "localhost" || (ip != nil && ip.IsLoopback()), AllowNets: nets}
	a.hooks = webhook.New(a.store, policy, signer, cfg, log.With("component", "webhook"))
	return nil
}

// startWebhooks opens the service, subscribes its fan-out to the event
// dispatcher and runs a delivery worker until ctx ends.
func (a *app) startWebhooks(ctx context.Context, c *Config, wc *webhookConfig, log *slog.Logger) error {
	if err := a.openWebhooks(c, wc, log); err != nil {
		return err
	}
	// Every event type: the subscriptions, not the dispatcher, choose.
	a.events.Subscribe("webhooks", nil, a.hooks.HandleEvent)
	a.hookWorker = a.hooks.NewWorker(nil)
	go a.hookWorker.Run(ctx)
	return nil
}

const createWebhookUsage = "usage: cancuoc admin create-webhook --partner ID --url https://… --events citizen.died[,…] [--webhook-policy FILE]"

// cmdCreateWebhook runs "cancuoc admin create-webhook".
func cmdCreateWebhook(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin create-webhook", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	wc := bindWebhookConfig(fs, getenv)
	var ns webhook.NewSubscription
	var events string
	fs.StringVar(&ns.PartnerID, "partner", "", "partner (principal) ID that receives the webhooks")
	fs.StringVar(&ns.URL, "url", "", "https URL of the partner's receiver")
	fs.StringVar(&events, "events", "", "comma-separated event types, e.g. citizen.died,citizen.updated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	if ns.PartnerID == "" || ns.URL == "" || events == "" {
		return fmt.Errorf("%s", createWebhookUsage)
	}
	ns.EventTypes = strings.Split(events, ",")
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.openWebhooks(c, wc, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	operator := &cancuoc.Principal{ID: "cli", Role: cancuoc.RoleNationalAdmin}
	sub, err := a.hooks.Subscribe(ctx, operator, ns)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sub)
}
