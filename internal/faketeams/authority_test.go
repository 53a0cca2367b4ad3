package faketeams

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TestAuthority_azidentity signs in the way the bot does: azidentity's
// client-secret and certificate credentials against the simulated
// authority, over TLS, instance discovery off.
func TestAuthority_azidentity(t *testing.T) {
	s := NewTest(t)
	defer s.Close()
	cert, key, _ := NewCertificate()
	s.RegisterCertificate(cert)
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()}, Transport: s.Client()}
	secret := func(tenant, pw string) azcore.TokenCredential {
		c, err := azidentity.NewClientSecretCredential(tenant, s.AppID, pw,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	certCred, err := azidentity.NewClientCertificateCredential(s.TenantID, s.AppID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cred  azcore.TokenCredential
		scope string
		want  string // AADSTS code of the refusal; "" for a token
	}{
		{"Secret", secret(s.TenantID, s.AppPassword), Scope, ""},
		{"Certificate", certCred, Scope, ""},
		{"WrongSecret", secret(s.TenantID, "not-the-password"), Scope, "AADSTS7000215"},
		{"MultiTenantAuthority", secret(BotFrameworkTenant, s.AppPassword), Scope, "AADSTS700016"},
		{"UnknownTenant", secret("0000aaaa-0000-0000-0000-000000000000", s.AppPassword), Scope, "AADSTS90002"},
		{"GraphScope", secret(s.TenantID, s.AppPassword), "https://graph.microsoft.com/.default", "AADSTS500011"},
		{"NotDefaultScope", secret(s.TenantID, s.AppPassword), "https://api.botframework.com/Chat.Send", "AADSTS1002012"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{tt.scope}})
			if tt.want == "" {
				if err != nil || !strings.HasPrefix(tok.Token, "bf.") {
					t.Fatalf("GetToken = %q, %v", tok.Token, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("GetToken error = %v, want %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "not-the-password") || strings.Contains(err.Error(), s.AppPassword) {
				t.Errorf("the error repeats a secret: %v", err)
			}
		})
	}
	// A token is cached: asking again issues none.
	c := secret(s.TenantID, s.AppPassword)
	before := s.TokenGrants()
	for range 3 {
		if _, err := c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{Scope}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokenGrants() - before; n != 1 {
		t.Errorf("%d tokens issued for three asks, want 1", n)
	}
	// Only the authority's two endpoints were asked: discovery, token.
	for _, q := range s.Requests() {
		if !isAuthorityPath(strings.SplitN(q.Path, "?", 2)[0]) {
			t.Errorf("unexpected request %s %s", q.Method, q.Path)
		}
	}
}

// TestAuthority_plainHTTP: azidentity will not use an authority that is
// not https, and the simulation answers nothing but TLS.
func TestAuthority_plainHTTP(t *testing.T) {
	s := NewTest(t)
	defer s.Close()
	plain := strings.Replace(s.AuthorityHost(), "https://", "http://", 1)
	c, err := azidentity.NewClientSecretCredential(s.TenantID, s.AppID, s.AppPassword, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: plain}, Transport: s.Client()},
		DisableInstanceDiscovery: true})
	if err == nil {
		_, err = c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{Scope}})
	}
	if err == nil {
		t.Fatal("a token came over plain HTTP")
	}
	if s.TokenGrants() != 0 {
		t.Error("token issued")
	}
}
