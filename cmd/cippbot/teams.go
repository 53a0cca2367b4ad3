package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cippbot/cippbot/actions/m365"
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
	// AuthorityHost is TEAMS_AUTHORITY_HOST: the Entra ID login host the
	// bot signs in at; default https://login.microsoftonline.com/.
	AuthorityHost string
	ServiceHosts  []string // TEAMS_SERVICE_HOSTS: Connector hosts the bot's token may go to
}

// enabled reports whether Teams is configured.
func (t TeamsConfig) enabled() bool { return t.AppID != "" }

// load reads the TEAMS_* variables.
func (t *TeamsConfig) load(getenv func(string) string) error {
	t.AppID = strings.TrimSpace(getenv("TEAMS_APP_ID"))
	t.TenantID = strings.TrimSpace(getenv("TEAMS_TENANT_ID"))
	t.OpenIDURL = getenv("TEAMS_OPENID_URL")
	t.AuthorityHost = getenv("TEAMS_AUTHORITY_HOST")
	if getenv("TEAMS_TOKEN_URL") != "" {
		return errors.New("TEAMS_TOKEN_URL is no longer read: the bot signs in with azidentity; set TEAMS_AUTHORITY_HOST to the login host instead (default https://login.microsoftonline.com/)")
	}
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
	for _, u := range []struct{ name, v string }{{"TEAMS_OPENID_URL", t.OpenIDURL}, {"TEAMS_AUTHORITY_HOST", t.AuthorityHost}} {
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
		slog.Any("tenants", t.Tenants), slog.String("openid_url", t.OpenIDURL), slog.String("authority_host", t.AuthorityHost))
}

// startTeams builds the Teams adapter and routes /teams/messages, when
// Teams is configured; nil otherwise. db keeps redeliveries seen, how to
// reach conversations and users across restarts, and the forms waiting
// for their answers; sealed, if non-nil, the secrets behind Reveal
// buttons (nil: in memory). client, if non-nil, carries its outgoing
// requests (tests point it at a simulated Teams).
func startTeams(cfg Config, b *bot.Bot, db anyStore, sealed bot.Transient, mux *http.ServeMux, client *http.Client, log *slog.Logger) (*teams.Adapter, error) {
	t := cfg.Teams
	if !t.enabled() {
		return nil, nil
	}
	cred, err := teamsCredential(t, client)
	if err != nil {
		return nil, err
	}
	a, err := teams.New(teams.Config{AppID: t.AppID, Credential: cred, TenantID: t.TenantID, Tenants: t.Tenants,
		OpenIDURL: t.OpenIDURL, ServiceHosts: t.ServiceHosts, HTTPClient: client, Logger: log, Dedup: db, Refs: db,
		State: db, Sealed: sealed}, b)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	b.Chats[teams.Platform] = a
	a.Routes(mux)
	return a, nil
}

// teamsCredential is the bot's single-tenant app signing in to
// TEAMS_TENANT_ID with azidentity (TEAMS.md A1, step 4): its password, or
// a certificate (a client assertion, no secret sent). azidentity caches
// the token and gets a new one before it expires. client, if non-nil,
// carries the sign-in; instance discovery is off for a login host that is
// not Microsoft's (tests), as for the Graph connection.
func teamsCredential(t TeamsConfig, client *http.Client) (teams.Credential, error) {
	host := t.AuthorityHost
	if host == "" {
		host = m365.DefaultAuthorityHost
	}
	host = strings.TrimSuffix(host, "/") + "/"
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: host}}
	if client != nil {
		opts.Transport = client
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return nil, usageError{fmt.Sprintf("TEAMS_AUTHORITY_HOST: %q is not a URL", t.AuthorityHost)}
	}
	noDiscovery := !microsoftLoginHost(u.Hostname())
	var cred azcore.TokenCredential
	if t.CertPath != "" {
		data, err := os.ReadFile(t.CertPath)
		if err != nil {
			return nil, usageError{"TEAMS_APP_CERTIFICATE_PATH: " + err.Error()}
		}
		certs, key, err := azidentity.ParseCertificates(data, []byte(t.CertPassword))
		if err != nil {
			return nil, usageError{"TEAMS_APP_CERTIFICATE_PATH: " + err.Error()}
		}
		if _, ok := key.(*rsa.PrivateKey); !ok || len(certs) == 0 {
			return nil, usageError{"TEAMS_APP_CERTIFICATE_PATH: needs a certificate and its RSA private key"}
		}
		cred, err = azidentity.NewClientCertificateCredential(t.TenantID, t.AppID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, usageError{"TEAMS_APP_CERTIFICATE_PATH: " + err.Error()}
		}
	} else {
		cred, err = azidentity.NewClientSecretCredential(t.TenantID, t.AppID, t.AppPassword,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, usageError{"TEAMS_TENANT_ID: " + err.Error()}
		}
	}
	return azTokens{cred}, nil
}

// microsoftLoginHost reports whether host is one of Microsoft's Entra ID
// login hosts, for which instance discovery is asked of the host itself.
func microsoftLoginHost(host string) bool {
	for _, s := range []string{".microsoftonline.com", ".microsoftonline.us", ".microsoftonline.cn", ".chinacloudapi.cn"} {
		if strings.HasSuffix("."+strings.ToLower(host), s) {
			return true
		}
	}
	return false
}

// azTokens is a teams.Credential from an azidentity credential.
type azTokens struct{ cred azcore.TokenCredential }

func (a azTokens) Token(ctx context.Context, scope string) (string, error) {
	tok, err := a.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", err
	}
	return tok.Token, nil
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
