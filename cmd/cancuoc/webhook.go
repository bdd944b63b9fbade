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
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/webhook"
)

// webhookConfig is the part of the configuration for partners' webhooks.
type webhookConfig struct {
	KeyFile     string // CANCUOC_WEBHOOK_KEY: whsk_ Ed25519 key of a deployment from before keys were stored; default DATA_DIR/webhook.key
	Secret      string // CANCUOC_WEBHOOK_SECRET(_FILE): hex, ≥32 bytes, seals the stored keys; default DATA_DIR/webhook-secret
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
		"file of an Ed25519 webhook key (whsk_…) to carry over as the first stored signing key when the database has none (deployments from before keys were stored); default DATA_DIR/webhook.key if it exists (CANCUOC_WEBHOOK_KEY)")
	secret := getenv("CANCUOC_WEBHOOK_SECRET")
	if f := getenv("CANCUOC_WEBHOOK_SECRET_FILE"); secret == "" && f != "" {
		if b, err := os.ReadFile(f); err == nil {
			secret = strings.TrimSpace(string(b))
		}
	}
	fs.StringVar(&wc.Secret, "webhook-secret", secret,
		"hex secret the webhook signing keys are sealed under in the database (≥32 bytes), the same on every node; default DATA_DIR/webhook-secret, created on first start (CANCUOC_WEBHOOK_SECRET, CANCUOC_WEBHOOK_SECRET_FILE)")
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

// secret returns the sealing secret of the webhook keys: given, or kept in
// the data directory so that the sealed keys open after a restart.
func (wc *webhookConfig) secret(c *Config) ([]byte, error) {
	return dataSecret(wc.Secret, "webhook-secret", c.DataDir, "webhook-secret", "webhook secret")
}

// openWebhooks builds the webhook service: its signing keys (stored,
// sealed; the key file of an older deployment carried over as the first)
// and policy. http:// receivers are allowed only to localhost, and only
// when the server itself listens on loopback (a laptop).
func (a *app) openWebhooks(ctx context.Context, c *Config, wc *webhookConfig, log *slog.Logger) error {
	keyFile := wc.KeyFile
	if keyFile == "" {
		keyFile = filepath.Join(c.DataDir, "webhook.key")
	}
	var first *webhook.Signer
	if b, err := os.ReadFile(keyFile); err == nil {
		if first, err = webhook.ParseSecret(string(b)); err != nil {
			return fmt.Errorf("webhook key %s: %w", keyFile, err)
		}
	} else if wc.KeyFile != "" {
		return fmt.Errorf("webhook key: %w", err)
	}
	secret, err := wc.secret(c)
	if err != nil {
		return err
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
	a.hooks = webhook.New(a.store, policy, first, cfg, log.With("component", "webhook"))
	if err := a.hooks.UseStoredKeys(ctx, secret, first); err != nil {
		return fmt.Errorf("webhook signing keys: %w", err)
	}
	return nil
}

// startWebhooks opens the service, subscribes its fan-out to the event
// dispatcher and runs a delivery worker until ctx ends.
func (a *app) startWebhooks(ctx context.Context, c *Config, wc *webhookConfig, log *slog.Logger) error {
	if err := a.openWebhooks(ctx, c, wc, log); err != nil {
		return err
	}
	// The types a partner could ever receive (the registry's citizen.*
	// and citizens.* under the partners' policies), so the stream does
	// not hand the fan-out every procedure event to skip; the
	// subscriptions choose among them. A NATS server before 2.10 takes one
	// filter per consumer and none covers both: there the consumer stays
	// unfiltered and the dispatcher skips the other types, as before. (One
	// consumer per type was tried and dropped: moving between one and two
	// consumers, on a NATS upgrade or a crash half-way, could skip events.)
	types := a.hooks.EventTypes()
	if !dispatch.ValidTypes(types) {
		types = nil // a policy file's type that is no subject: every type, as before
	}
	a.events.Subscribe("webhooks", types, a.hooks.HandleEvent)
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
	if err := a.openWebhooks(ctx, c, wc, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
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

// webhookUsage lists the webhook commands for the admin usage message.
var webhookUsage = `webhooks:
  ` + createWebhookUsage[len("usage: "):] + `
  ` + enableWebhookUsage[len("usage: "):] + `
  ` + rotateWebhookKeyUsage[len("usage: "):]

const rotateWebhookKeyUsage = "usage: cancuoc admin rotate-webhook-key [--by NAME]"

// cmdRotateWebhookKey runs "cancuoc admin rotate-webhook-key": a new
// signing key becomes current on every node within a minute; the older
// keys co-sign and stay published for the retry window (webhook-max-age
// plus webhook-max-retry), then retire. The rotation is in the access log.
func cmdRotateWebhookKey(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin rotate-webhook-key", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	wc := bindWebhookConfig(fs, getenv)
	by := fs.String("by", "cli", "who rotates, for the access log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	if fs.NArg() > 0 || *by == "" {
		return fmt.Errorf("%s", rotateWebhookKeyUsage)
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.openWebhooks(ctx, c, wc, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	k, err := a.hooks.RotateKey(ctx, &cancuoc.Principal{ID: *by, Role: cancuoc.RoleNationalAdmin})
	if err != nil {
		return err
	}
	keys, err := a.hooks.PublishedKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new webhook signing key %s; older keys co-sign until they retire:\n", k.KeyID)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(keys)
}

const enableWebhookUsage = "usage: cancuoc admin enable-webhook --id SUBSCRIPTION [--by NAME]"

// cmdEnableWebhook runs "cancuoc admin enable-webhook": a subscription
// disabled by a 410 (or an operator) becomes active; its pending deliveries
// go out from the next claim of any node. Audited.
func cmdEnableWebhook(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin enable-webhook", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	wc := bindWebhookConfig(fs, getenv)
	id := fs.String("id", "", "subscription ID (wh_…)")
	by := fs.String("by", "cli", "who enables it, for the access log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	if *id == "" || *by == "" || fs.NArg() > 0 {
		return fmt.Errorf("%s", enableWebhookUsage)
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.openWebhooks(ctx, c, wc, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	sub, err := a.hooks.Enable(ctx, &cancuoc.Principal{ID: *by, Role: cancuoc.RoleNationalAdmin}, *id)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sub)
}
