package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cippbot/cippbot/adapters/teams"
	"github.com/cippbot/cippbot/bot"
)

// TeamsConfig configures Microsoft Teams, from TEAMS_* variables.
type TeamsConfig struct {
	AppID        string   // TEAMS_APP_ID: the Azure Bot's app ID
	AppPassword  string   // TEAMS_APP_PASSWORD or TEAMS_APP_PASSWORD_FILE
	CertPath     string   // TEAMS_APP_CERTIFICATE_PATH: PEM or PKCS#12 with an RSA key, instead of the password
	CertPassword string   // TEAMS_APP_CERTIFICATE_PASSWORD or _FILE: the PKCS#12 password
	TenantID     string   // TEAMS_TENANT_ID: the bot's own tenant
	Tenants      []string // TEAMS_TENANTS: tenants whose users may talk to the bot; default TEAMS_TENANT_ID
	OpenIDURL    string   // TEAMS_OPENID_URL: Bot Framework metadata (national clouds)
	TokenURL     string   // TEAMS_TOKEN_URL: token endpoint; default the tenant's at login.microsoftonline.com
	ServiceHosts []string // TEAMS_SERVICE_HOSTS: Connector hosts the bot's token may go to
}

// enabled reports whether Teams is configured.
func (t TeamsConfig) enabled() bool { return t.AppID != "" }

// load reads the TEAMS_* variables.
func (t *TeamsConfig) load(getenv func(string) string) error {
	t.AppID = strings.TrimSpace(getenv("TEAMS_APP_ID"))
	t.TenantID = strings.TrimSpace(getenv("TEAMS_TENANT_ID"))
	t.OpenIDURL = getenv("TEAMS_OPENID_URL")
	t.TokenURL = getenv("TEAMS_TOKEN_URL")
	t.Tenants = splitList(getenv("TEAMS_TENANTS"))
	t.ServiceHosts = splitList(getenv("TEAMS_SERVICE_HOSTS"))
	pw, err := secretEnv(getenv, "TEAMS_APP_PASSWORD")
	if err != nil {
		return err
	}
	t.AppPassword = pw
	t.CertPath = getenv("TEAMS_APP_CERTIFICATE_PATH")
	if t.CertPassword, err = secretEnv(getenv, "TEAMS_APP_CERTIFICATE_PASSWORD"); err != nil {
		return err
	}
	return t.validate()
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (t TeamsConfig) validate() error {
	if !t.enabled() {
		if t.AppPassword != "" || t.TenantID != "" {
			return errors.New("TEAMS_APP_PASSWORD or TEAMS_TENANT_ID is set but TEAMS_APP_ID is not")
		}
		return nil
	}
	if t.AppPassword == "" && t.CertPath == "" {
		return errors.New("TEAMS_APP_ID is set but neither TEAMS_APP_PASSWORD (or _FILE) nor TEAMS_APP_CERTIFICATE_PATH is (Azure Bot → Configuration → Manage Password)")
	}
	if t.AppPassword != "" && t.CertPath != "" {
		return errors.New("TEAMS_APP_PASSWORD and TEAMS_APP_CERTIFICATE_PATH are both set: use one")
	}
	if t.TenantID == "" {
		return errors.New("TEAMS_APP_ID is set but TEAMS_TENANT_ID is not: new Azure Bots are single-tenant")
	}
	for _, u := range []struct{ name, v string }{{"TEAMS_OPENID_URL", t.OpenIDURL}, {"TEAMS_TOKEN_URL", t.TokenURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "https://") {
			return fmt.Errorf("%s: %q is not an https URL", u.name, u.v)
		}
	}
	return nil
}

// LogValue implements slog.LogValuer, leaving the password out.
func (t TeamsConfig) LogValue() slog.Value {
	if !t.enabled() {
		return slog.BoolValue(false)
	}
	return slog.GroupValue(slog.String("app_id", t.AppID), slog.String("tenant", t.TenantID), slog.String("certificate", t.CertPath),
		slog.Any("tenants", t.Tenants), slog.String("openid_url", t.OpenIDURL))
}

// startTeams builds the Teams adapter and routes /teams/messages, when
// Teams is configured; nil otherwise. db keeps redeliveries seen and how
// to reach conversations and users across restarts. client, if non-nil, carries its
// outgoing requests (tests point it at a simulated Teams).
func startTeams(cfg Config, b *bot.Bot, db anyStore, mux *http.ServeMux, client *http.Client, log *slog.Logger) (*teams.Adapter, error) {
	t := cfg.Teams
	if !t.enabled() {
		return nil, nil
	}
	var cert *x509.Certificate
	var key crypto.Signer
	if t.CertPath != "" {
		data, err := os.ReadFile(t.CertPath)
		if err != nil {
			return nil, usageError{"TEAMS_APP_CERTIFICATE_PATH: " + err.Error()}
		}
		certs, k, err := azidentity.ParseCertificates(data, []byte(t.CertPassword))
		if err != nil {
			return nil, usageError{"TEAMS_APP_CERTIFICATE_PATH: " + err.Error()}
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok || len(certs) == 0 {
			return nil, usageError{"TEAMS_APP_CERTIFICATE_PATH: needs a certificate and its RSA private key"}
		}
		cert, key = certs[0], rk
	}
	a, err := teams.New(teams.Config{AppID: t.AppID, AppPassword: t.AppPassword, Certificate: cert, Key: key,
		TenantID: t.TenantID, Tenants: t.Tenants,
		OpenIDURL: t.OpenIDURL, TokenURL: t.TokenURL, ServiceHosts: t.ServiceHosts, HTTPClient: client, Logger: log, Dedup: db, Refs: db}, b)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	b.Chats[teams.Platform] = a
	a.Routes(mux)
	return a, nil
}

// closeTeams waits for Teams work already acknowledged.
func closeTeams(ctx context.Context, a *teams.Adapter, log *slog.Logger) {
	if a == nil {
		return
	}
	if err := a.Close(ctx); err != nil {
		log.Warn("in-flight Teams work did not finish in time", "err", err)
	}
}
