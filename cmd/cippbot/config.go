package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cippbot/cippbot/store"
)

// Config is cippbot's configuration, read from the environment. Secrets
// come only from the environment or from files named by *_FILE variables,
// never from flags.
type Config struct {
	DataPath  string // CIPPBOT_DATA
	Store     string // CIPPBOT_STORE (or _FILE): postgres://… selects the PostgreSQL store instead of DataPath (storepg.go)
	ReplicaID string // CIPPBOT_REPLICA_ID: this replica's name on a shared store; default the host name
	// LeaseTTL is CIPPBOT_LEASE_TTL: how long a leader duty's lease lasts
	// (store.Lead); it is renewed every third of it, so a replica that
	// dies is replaced within LeaseTTL and a third.
	LeaseTTL    time.Duration
	AuditKey    string        // CIPPBOT_AUDIT_KEY or CIPPBOT_AUDIT_KEY_FILE: keys the audit trail (HMAC-SHA256)
	Admins      []string      // CIPPBOT_ADMINS: platform:userID, comma-separated
	ApprovalTTL time.Duration // CIPPBOT_APPROVAL_TTL
	LogLevel    slog.Level    // LOG_LEVEL
	LogFormat   string        // LOG_FORMAT: text or json

	// ApprovalRetention is CIPPBOT_APPROVAL_RETENTION: how long decided
	// approvals are kept (the audit trail keeps every record).
	ApprovalRetention time.Duration

	// Microsoft 365 (the partner app registration).
	Cloud               string // CIPPBOT_CLOUD: global, usgov, usgovdod, china
	TenantID            string // AZURE_TENANT_ID: the partner tenant
	ClientID            string // AZURE_CLIENT_ID
	ClientSecret        string // AZURE_CLIENT_SECRET or AZURE_CLIENT_SECRET_FILE
	CertificatePath     string // AZURE_CLIENT_CERTIFICATE_PATH (PEM or PKCS#12)
	CertificatePassword string // AZURE_CLIENT_CERTIFICATE_PASSWORD (or _FILE)
	GraphURL            string // CIPPBOT_GRAPH_URL
	ExchangeURL         string // CIPPBOT_EXCHANGE_URL
	SharePointAdminURL  string // CIPPBOT_SHAREPOINT_ADMIN_URL: every tenant's SharePoint admin calls
	AuthorityHost       string // AZURE_AUTHORITY_HOST
	// Auth is CIPPBOT_AUTH: "app" (app-only tokens, the default) or
	// "gdap" (delegated tokens for the partner service account, login.go).
	Auth string
	// GDAP holds the delegated mode's settings, secrets included (never
	// logged).
	GDAP gdapSettings

	Listen string // CIPPBOT_LISTEN, default :8080

	// Policy.
	ReasonOptional []string // CIPPBOT_REASON_OPTIONAL: destructive actions that need no reason, or "all"
	QuotaTech      int      // CIPPBOT_QUOTA_TECHNICIAN: destructive requests per hour before an admin must approve (-1: off)
	QuotaTenant    int      // CIPPBOT_QUOTA_TENANT: the same per tenant

	// Slack.
	SlackBotToken      string // SLACK_BOT_TOKEN
	SlackSigningSecret string // SLACK_SIGNING_SECRET (HTTP mode)
	SlackAppToken      string // SLACK_APP_TOKEN (Socket Mode)
	SlackAPIURL        string // SLACK_API_URL

	// Discord.
	DiscordBotToken  string // DISCORD_BOT_TOKEN
	DiscordAppID     string // DISCORD_APP_ID
	DiscordPublicKey string // DISCORD_PUBLIC_KEY (interactions endpoint mode)
	DiscordGuildID   string // DISCORD_GUILD_ID
	DiscordAPIURL    string // DISCORD_API_URL

	// Teams (TEAMS_*; see teams.go).
	Teams TeamsConfig

	// noSync skips the store's fsync after each commit (store.DB.NoSync).
	// Only in-process tests set it, on stores that die with them; no flag
	// or variable does.
	noSync bool
	// secretHold and secretRetry are how long serve holds a secret it
	// could not deliver and how soon it first tries again; zero means the
	// bot's defaults (15 minutes, 10 s). Only tests set them.
	secretHold, secretRetry time.Duration
	// http bounds what one client can hold of the listener; zero fields
	// are the defaults. Only tests set it.
	http httpLimits
}

// minAuditKey is the shortest audit key accepted, in bytes.
const minAuditKey = 32

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		DataPath:          "./cippbot.db",
		ApprovalTTL:       15 * time.Minute,
		ApprovalRetention: 90 * 24 * time.Hour,
		LeaseTTL:          store.LeaseTTL,
		LogLevel:          slog.LevelInfo,
		LogFormat:         "text",
		Listen:            ":8080",
	}
}

// LoadConfig reads the configuration from getenv (os.Getenv in main).
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	if v := getenv("CIPPBOT_DATA"); v != "" {
		c.DataPath = v
	}
	// The URL may hold the database password, so it may come from a file.
	if v, err := secretEnv(getenv, "CIPPBOT_STORE"); err != nil {
		return c, err
	} else if c.Store = strings.TrimSpace(v); c.Store != "" && !usesPostgres(c) {
		return c, fmt.Errorf("CIPPBOT_STORE: only a postgres:// or postgresql:// URL; leave it unset to use the bbolt file CIPPBOT_DATA")
	}
	c.ReplicaID = getenv("CIPPBOT_REPLICA_ID")
	for _, a := range strings.Split(getenv("CIPPBOT_ADMINS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.Admins = append(c.Admins, a)
		}
	}
	if v := getenv("CIPPBOT_APPROVAL_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("CIPPBOT_APPROVAL_TTL: %q is not a duration like 15m", v)
		}
		c.ApprovalTTL = d
	}
	if v := getenv("CIPPBOT_APPROVAL_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("CIPPBOT_APPROVAL_RETENTION: %q is not a duration like 2160h (90 days)", v)
		}
		c.ApprovalRetention = d
	}
	if v := getenv("CIPPBOT_LEASE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("CIPPBOT_LEASE_TTL: %q is not a duration like 15s", v)
		}
		c.LeaseTTL = d
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", v)
		}
	}
	if v := getenv("LOG_FORMAT"); v != "" {
		c.LogFormat = v
	}
	c.Cloud = getenv("CIPPBOT_CLOUD")
	c.CertificatePath = getenv("AZURE_CLIENT_CERTIFICATE_PATH")
	c.TenantID = getenv("AZURE_TENANT_ID")
	c.ClientID = getenv("AZURE_CLIENT_ID")
	c.GraphURL = getenv("CIPPBOT_GRAPH_URL")
	c.ExchangeURL = getenv("CIPPBOT_EXCHANGE_URL")
	c.SharePointAdminURL = getenv("CIPPBOT_SHAREPOINT_ADMIN_URL")
	c.AuthorityHost = getenv("AZURE_AUTHORITY_HOST")
	if v := getenv("CIPPBOT_LISTEN"); v != "" {
		c.Listen = v
	}
	for _, a := range strings.Split(getenv("CIPPBOT_REASON_OPTIONAL"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.ReasonOptional = append(c.ReasonOptional, a)
		}
	}
	for _, q := range []struct {
		name string
		dst  *int
	}{{"CIPPBOT_QUOTA_TECHNICIAN", &c.QuotaTech}, {"CIPPBOT_QUOTA_TENANT", &c.QuotaTenant}} {
		if v := getenv(q.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n == 0 || n < -1 {
				return c, fmt.Errorf("%s: %q is not a positive number (or -1 for no limit)", q.name, v)
			}
			*q.dst = n
		}
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"AZURE_CLIENT_SECRET", &c.ClientSecret},
		{"CIPPBOT_AUDIT_KEY", &c.AuditKey},
		{"AZURE_CLIENT_CERTIFICATE_PASSWORD", &c.CertificatePassword},
		{"SLACK_BOT_TOKEN", &c.SlackBotToken},
		{"SLACK_SIGNING_SECRET", &c.SlackSigningSecret},
		{"SLACK_APP_TOKEN", &c.SlackAppToken},
		{"SLACK_API_URL", &c.SlackAPIURL},
		{"DISCORD_BOT_TOKEN", &c.DiscordBotToken},
		{"DISCORD_APP_ID", &c.DiscordAppID},
		{"DISCORD_PUBLIC_KEY", &c.DiscordPublicKey},
		{"DISCORD_GUILD_ID", &c.DiscordGuildID},
		{"DISCORD_API_URL", &c.DiscordAPIURL},
	} {
		v, err := secretEnv(getenv, s.name)
		if err != nil {
			return c, err
		}
		*s.dst = v
	}
	c.Auth = getenv("CIPPBOT_AUTH")
	if c.Auth == "gdap" {
		var err error
		if c.GDAP, err = loadGDAPSettings(c, getenv); err != nil {
			return c, err
		}
		// A CIPP installation's names stand in for the AZURE_ ones.
		c.TenantID, c.ClientID, c.ClientSecret = c.GDAP.TenantID, c.GDAP.ClientID, c.GDAP.ClientSecret
	} else {
		var err error
		if c.GDAP.StoreKey, err = storeKeyEnv(getenv); err != nil {
			return c, err
		}
	}
	if err := c.Teams.load(getenv); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	for _, a := range c.Admins {
		p, id, ok := strings.Cut(a, ":")
		if !ok || id == "" || (p != "slack" && p != "discord" && p != "teams" && p != "console") {
			return fmt.Errorf("CIPPBOT_ADMINS: %q is not platform:userID (slack:U0123ABCD, discord:80351110224678912)", a)
		}
	}
	if c.AuditKey != "" && len(c.AuditKey) < minAuditKey {
		return fmt.Errorf("CIPPBOT_AUDIT_KEY: shorter than %d characters; use a random one, e.g. openssl rand -hex 32", minAuditKey)
	}
	if c.ApprovalTTL < time.Minute || c.ApprovalTTL > 24*time.Hour {
		return fmt.Errorf("CIPPBOT_APPROVAL_TTL: %s is outside 1m..24h", c.ApprovalTTL)
	}
	if c.LeaseTTL < time.Second || c.LeaseTTL > 5*time.Minute {
		return fmt.Errorf("CIPPBOT_LEASE_TTL: %s is not between 1s and 5m", c.LeaseTTL)
	}
	if c.ApprovalRetention < 24*time.Hour {
		return fmt.Errorf("CIPPBOT_APPROVAL_RETENTION: %s is less than 24h", c.ApprovalRetention)
	}
	if c.SlackBotToken != "" && !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
		return fmt.Errorf("SLACK_BOT_TOKEN: a bot token starts with xoxb-")
	}
	if c.SlackAppToken != "" && !strings.HasPrefix(c.SlackAppToken, "xapp-") {
		return fmt.Errorf("SLACK_APP_TOKEN: an app-level token starts with xapp-")
	}
	if c.SlackBotToken != "" && c.SlackSigningSecret == "" && c.SlackAppToken == "" {
		return fmt.Errorf("SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP) nor SLACK_APP_TOKEN (Socket Mode) is")
	}
	switch c.Auth {
	case "", "app", "gdap":
	default:
		return fmt.Errorf("CIPPBOT_AUTH: %q is not app or gdap", c.Auth)
	}
	switch c.Cloud {
	case "", "global", "usgov", "usgovdod", "china":
	default:
		return fmt.Errorf("CIPPBOT_CLOUD: %q is not global, usgov, usgovdod or china", c.Cloud)
	}
	if c.DiscordBotToken != "" && c.DiscordAppID == "" {
		return fmt.Errorf("DISCORD_BOT_TOKEN is set but DISCORD_APP_ID is not (General Information → Application ID)")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("LOG_FORMAT: %q is not text or json", c.LogFormat)
	}
	return nil
}

// LogValue implements slog.LogValuer, leaving secrets out.
func (c Config) LogValue() slog.Value {
	secret := "unset"
	if c.ClientSecret != "" {
		secret = "set"
	}
	return slog.GroupValue(
		slog.String("data", c.DataPath),
		slog.Any("admins", c.Admins),
		slog.Duration("approval_ttl", c.ApprovalTTL),
		slog.Duration("approval_retention", c.ApprovalRetention),
		slog.String("auth", c.Auth),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", secret),
		slog.Bool("audit_key", c.AuditKey != ""),
		slog.Bool("store_key", c.GDAP.StoreKey != ""),
		slog.String("client_certificate", c.CertificatePath),
		slog.String("cloud", c.Cloud),
		slog.String("partner_tenant", c.TenantID),
		slog.String("listen", c.Listen),
		slog.Bool("slack", c.SlackBotToken != ""),
		slog.Bool("slack_socket_mode", c.SlackAppToken != ""),
		slog.Bool("discord", c.DiscordBotToken != ""),
		slog.Bool("discord_http", c.DiscordPublicKey != ""),
		slog.String("discord_guild", c.DiscordGuildID),
		slog.Any("teams", c.Teams),
	)
}

// secretEnv reads NAME, or the file named by NAME_FILE; not both.
func secretEnv(getenv func(string) string, name string) (string, error) {
	v, file := getenv(name), getenv(name+"_FILE")
	if v != "" && file != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set: use one", name, name)
	}
	if file == "" {
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}
