package teams

import (
	"context"
	"crypto"
	"crypto/x509"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cippbot/cippbot/internal/faketeams"
)

// azCredential is a Credential from azidentity, as cmd builds it.
type azCredential struct{ c azcore.TokenCredential }

func (a azCredential) Token(ctx context.Context, scope string) (string, error) {
	tok, err := a.c.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	return tok.Token, err
}

// clientOptions point azidentity at the simulated authority over TLS;
// instance discovery is off because the host is not Microsoft's.
func clientOptions(ft *faketeams.Server) azcore.ClientOptions {
	return azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: ft.AuthorityHost()}, Transport: ft.Client()}
}

// secretCredential signs the bot in with its password.
func secretCredential(t *testing.T, ft *faketeams.Server, tenant, password string) Credential {
	t.Helper()
	c, err := azidentity.NewClientSecretCredential(tenant, ft.AppID, password,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(ft), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return azCredential{c}
}

// certCredential signs the bot in with a certificate.
func certCredential(t *testing.T, ft *faketeams.Server, cert *x509.Certificate, key crypto.PrivateKey) Credential {
	t.Helper()
	c, err := azidentity.NewClientCertificateCredential(ft.TenantID, ft.AppID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(ft), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return azCredential{c}
}
