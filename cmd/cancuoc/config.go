package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything the binary can be told, from flags or CANCUOC_*
// environment variables (flags win). A secret may also come from a file
// named by the variable with _FILE appended, so it never sits in the
// environment of every process.
type Config struct {
	Addr            string        // CANCUOC_ADDR
	DataDir         string        // CANCUOC_DATA_DIR
	Database        string        // CANCUOC_DATABASE: postgres://… or an SQLite file path; secret
	DemoCitizens    int           // CANCUOC_DEMO_CITIZENS: population seeded on first start (0: none)
	LogFormat       string        // CANCUOC_LOG_FORMAT: text or json
	LogLevel        string        // CANCUOC_LOG_LEVEL: debug, info, warn, error
	ShutdownTimeout time.Duration // CANCUOC_SHUTDOWN_TIMEOUT
	DebugAddr       string        // CANCUOC_DEBUG_ADDR: pprof listener, off when empty
	AuditLinger     time.Duration // CANCUOC_AUDIT_LINGER: wait for more read-audit entries before a commit
	AuditKey        string        // CANCUOC_AUDIT_KEY: PEM file of the access log's Ed25519 signing key
	AuditCheckpoint time.Duration // CANCUOC_AUDIT_CHECKPOINT: how often to sign a tree head; 0: never
	ReconcileKeep   time.Duration // CANCUOC_RECONCILE_KEEP: how long finished reconciliation reports are kept
}

// bindConfig registers the shared flags on fs with defaults taken from the
// environment, and returns a function that validates the result.
func bindConfig(fs *flag.FlagSet, getenv func(string) string) (*Config, func() error) {
	c := &Config{}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		if f := getenv(name + "_FILE"); f != "" {
			if b, err := os.ReadFile(f); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("CANCUOC_ADDR", "127.0.0.1:8080"), "address to listen on (CANCUOC_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("CANCUOC_DATA_DIR", "cancuoc-data"), "directory for the embedded SQLite database (CANCUOC_DATA_DIR)")
	fs.StringVar(&c.Database, "database", env("CANCUOC_DATABASE", ""), "postgres://… URL or SQLite file; default DATA_DIR/cancuoc.db (CANCUOC_DATABASE, CANCUOC_DATABASE_FILE)")
	demo, _ := strconv.Atoi(env("CANCUOC_DEMO_CITIZENS", "10000"))
	fs.IntVar(&c.DemoCitizens, "demo-citizens", demo, "synthetic citizens seeded into an empty registry on first start; 0 for none (CANCUOC_DEMO_CITIZENS)")
	fs.StringVar(&c.LogFormat, "log-format", env("CANCUOC_LOG_FORMAT", "text"), "log format: text or json (CANCUOC_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("CANCUOC_LOG_LEVEL", "info"), "log level: debug, info, warn, error (CANCUOC_LOG_LEVEL)")
	st, _ := time.ParseDuration(env("CANCUOC_SHUTDOWN_TIMEOUT", "15s"))
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", st, "time allowed to finish requests on shutdown (CANCUOC_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("CANCUOC_DEBUG_ADDR", ""), "address for Go's pprof profiler, e.g. 127.0.0.1:6060; off when empty (CANCUOC_DEBUG_ADDR)")
	al, _ := time.ParseDuration(env("CANCUOC_AUDIT_LINGER", "0"))
	fs.DurationVar(&c.AuditLinger, "audit-linger", al, "how long a read-audit commit may wait to gather more entries while they keep coming (only after a commit shared by several requests); 0 commits at once (CANCUOC_AUDIT_LINGER)")
	fs.StringVar(&c.AuditKey, "audit-key", env("CANCUOC_AUDIT_KEY", ""), "PEM file of the access log's Ed25519 signing key, created on first start; default DATA_DIR/audit-log.key (CANCUOC_AUDIT_KEY)")
	ac, _ := time.ParseDuration(env("CANCUOC_AUDIT_CHECKPOINT", "1m"))
	fs.DurationVar(&c.AuditCheckpoint, "audit-checkpoint", ac, "how often the access log signs a tree head; 0 for never (CANCUOC_AUDIT_CHECKPOINT)")
	rk, _ := time.ParseDuration(env("CANCUOC_RECONCILE_KEEP", "168h"))
	fs.DurationVar(&c.ReconcileKeep, "reconcile-keep", rk, "how long a finished reconciliation's report is kept before it is deleted (uploads go when the job is done) (CANCUOC_RECONCILE_KEEP)")
	return c, c.validate
}

func (c *Config) validate() error {
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "cancuoc.db")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("-log-format must be text or json, not %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("-log-level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.DemoCitizens < 0 {
		return fmt.Errorf("-demo-citizens must be 0 or more")
	}
	if c.AuditKey == "" {
		c.AuditKey = filepath.Join(c.DataDir, "audit-log.key")
	}
	if c.AuditCheckpoint < 0 || (c.AuditCheckpoint > 0 && c.AuditCheckpoint < time.Second) {
		return fmt.Errorf("-audit-checkpoint must be 0 or at least 1s")
	}
	if c.AuditLinger < 0 || c.AuditLinger > time.Second {
		return fmt.Errorf("-audit-linger must be between 0 and 1s")
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("-shutdown-timeout must be positive")
	}
	return nil
}

// IsPostgres reports whether Database names a PostgreSQL server.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// Masked is the configuration as it may be printed: passwords hidden.
func (c *Config) Masked() string {
	db := c.Database
	if u, err := url.Parse(db); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "*****")
			db = u.String()
		}
	}
	return fmt.Sprintf("addr=%s database=%s demo_citizens=%d log=%s/%s shutdown_timeout=%s",
		c.Addr, db, c.DemoCitizens, c.LogFormat, c.LogLevel, c.ShutdownTimeout)
}
