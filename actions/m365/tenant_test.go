package m365_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

func multiSim(t *testing.T) *fakegraph.Server {
	t.Helper()
	sim := newSim(t)
	for _, seed := range []fakegraph.TenantSeed{fakegraph.FabrikamSeed(), fakegraph.PartnerSeed()} {
		if err := sim.AddTenant(seed); err != nil {
			t.Fatal(err)
		}
	}
	return sim
}

func connector(t testing.TB, sim *fakegraph.Server) *m365.Connector {
	t.Helper()
	c, err := m365.New(m365.Config{GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dir(t *testing.T, c *m365.Connector, tenantID string) *m365.Directory {
	t.Helper()
	d, err := c.Directory(ctx(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTokenPerTenant: each tenant's calls carry that tenant's token and
// see that tenant's users only.
func TestTokenPerTenant(t *testing.T) {
	t.Parallel()
	sim := multiSim(t)
	c := connector(t, sim)
	contoso, fabrikam := dir(t, c, fakegraph.ContosoTenantID), dir(t, c, fakegraph.FabrikamTenantID)
	if u, err := fabrikam.User(ctx(), "AlexW@fabrikam.com"); err != nil || u.ID != fakegraph.FabrikamAlexWID {
		t.Fatalf("fabrikam AlexW = %+v, %v", u, err)
	}
	if _, err := contoso.User(ctx(), "AlexW@fabrikam.com"); actions.ErrorCode(err) != actions.ENOTFOUND {
		t.Errorf("contoso sees a fabrikam user: %v", err)
	}
	if _, err := fabrikam.User(ctx(), "AdeleV@contoso.com"); actions.ErrorCode(err) != actions.ENOTFOUND {
		t.Errorf("fabrikam sees a contoso user: %v", err)
	}
	for range 3 {
		contoso.User(ctx(), "AdeleV@contoso.com")
	}
	if n := sim.TokensIssuedFor(fakegraph.ContosoTenantID); n != 1 {
		t.Errorf("%d tokens issued for contoso, want 1 (cached)", n)
	}
	if n := sim.TokensIssuedFor(fakegraph.FabrikamTenantID); n != 1 {
		t.Errorf("%d tokens issued for fabrikam, want 1", n)
	}
}

func TestCustomersAndOrganization(t *testing.T) {
	t.Parallel()
	sim := multiSim(t)
	c := connector(t, sim)
	custs, err := dir(t, c, fakegraph.PartnerTenantID).Customers(ctx())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range custs {
		ids = append(ids, x.TenantID)
	}
	slices.Sort(ids)
	want := []string{fakegraph.ContosoTenantID, fakegraph.FabrikamTenantID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("customers = %v, want the two active ones %v", ids, want)
	}
	org, err := dir(t, c, fakegraph.FabrikamTenantID).Organization(ctx())
	if err != nil || org.ID != fakegraph.FabrikamTenantID || org.DefaultDomain != "fabrikam.com" || !slices.Contains(org.Domains, "fabrikam.onmicrosoft.com") {
		t.Errorf("organization = %+v, %v", org, err)
	}
}

func TestPermissionsFromToken(t *testing.T) {
	t.Parallel()
	sim := multiSim(t)
	sim.SetPermissions(fakegraph.FabrikamTenantID, []string{"User.Read.All", "User.ReadWrite.All"})
	c := connector(t, sim)
	perms, err := dir(t, c, fakegraph.FabrikamTenantID).Permissions(ctx())
	if err != nil || !slices.Equal(perms, []string{"User.Read.All", "User.ReadWrite.All"}) {
		t.Fatalf("permissions = %v, %v", perms, err)
	}
	svc := &actions.Service{Connector: c}
	rep, err := svc.Check(ctx(), fakegraph.FabrikamTenantID, actions.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.Missing["create-tap"]; !ok || slices.Contains(rep.Working, "create-tap") || !slices.Contains(rep.Working, "block-signin") {
		t.Errorf("check = %+v", rep)
	}
	// And Graph agrees: the TAP call is refused with a clear message.
	_, err = dir(t, c, fakegraph.FabrikamTenantID).CreateTAP(ctx(), "AlexW@fabrikam.com", actions.TAPOptions{})
	if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), "lacks the permission") {
		t.Errorf("TAP without permission: %v", err)
	}
}

func TestConsentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want string
	}{
		{"7000229", "not consented in this tenant (AADSTS7000229)"},
		{"65001", "not consented in this tenant (AADSTS65001)"},
		{"700016", "not consented in this tenant (AADSTS700016)"},
		{"7000222", "client secret is wrong or expired (AADSTS7000222)"},
		{"90002", "Microsoft does not know this tenant (AADSTS90002)"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			sim := multiSim(t)
			sim.SetTokenError(fakegraph.FabrikamTenantID, tt.code)
			_, err := dir(t, connector(t, sim), fakegraph.FabrikamTenantID).User(ctx(), "AlexW@fabrikam.com")
			if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), tt.want) {
				t.Errorf("err = %q, want it to contain %q", actions.ErrorMessage(err), tt.want)
			}
			if strings.Contains(actions.ErrorMessage(err), "Trace ID") || strings.Contains(actions.ErrorMessage(err), "{") {
				t.Errorf("message carries raw service output: %q", actions.ErrorMessage(err))
			}
		})
	}
}

func TestFindUsers(t *testing.T) {
	t.Parallel()
	sim := multiSim(t)
	d := dir(t, connector(t, sim), fakegraph.FabrikamTenantID)
	found, err := d.FindUsers(ctx(), "alexw", 6)
	if err != nil || len(found) < 2 {
		t.Fatalf("FindUsers(alexw) = %+v, %v; want AlexW and AlexWi", found, err)
	}
}

// TestBulkWithThrottledItems: 10% of $batch items throttled; every write
// ends done and none is sent twice after it succeeded.
func TestBulkWithThrottledItems(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	var ops []actions.Op
	for _, u := range sim.Users(tenant) {
		ops = append(ops, actions.Op{Kind: actions.OpRevokeSessions, UserID: u.ID})
	}
	sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "revokeSignInSessions", Status: 429, RetryAfter: "0.05", Every: 10})
	c, trace := actions.WithTrace(ctx())
	for i, err := range d.Apply(c, ops, nil) {
		if err != nil {
			t.Errorf("op %d: %v", i, err)
		}
	}
	ok := map[string]int{}
	for _, r := range sim.Requests() {
		if r.BatchItemID != "" && strings.HasSuffix(r.Path, "revokeSignInSessions") && r.Status == 200 {
			ok[r.Path]++
		}
	}
	for p, n := range ok {
		if n != 1 {
			t.Errorf("%s succeeded %d times", p, n)
		}
	}
	if len(ok) != len(ops) || trace.Throttled() == 0 {
		t.Errorf("%d of %d succeeded, %d throttled", len(ok), len(ops), trace.Throttled())
	}
}

func TestClouds(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"global", "usgov", "usgovdod", "china"} {
		c, err := m365.CloudByName(name)
		if err != nil || !strings.HasPrefix(c.GraphURL, "https://") || !strings.HasPrefix(c.AuthorityHost, "https://login.") {
			t.Errorf("%s = %+v, %v", name, c, err)
		}
	}
	if _, err := m365.CloudByName("mars"); err == nil {
		t.Error("unknown cloud accepted")
	}
	if _, err := m365.New(m365.Config{Cloud: "mars", ClientID: "x", ClientSecret: "y"}); err == nil {
		t.Error("New accepted an unknown cloud")
	}
}

func TestCertificateCredential(t *testing.T) {
	t.Parallel()
	certPEM := func(key any, pub any) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cippbot"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalPKCS8PrivateKey(key)
		return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	c, err := m365.New(m365.Config{ClientID: "x", ClientCertificate: certPEM(rk, &rk.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Directory(ctx(), fakegraph.ContosoTenantID); err != nil {
		t.Fatal(err)
	}
	if _, err := m365.New(m365.Config{ClientID: "x", ClientCertificate: []byte("not a cert")}); err == nil {
		t.Error("a broken certificate was accepted")
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := m365.New(m365.Config{ClientID: "x", ClientCertificate: certPEM(ek, &ek.PublicKey)}); err == nil || !strings.Contains(err.Error(), "RSA") {
		t.Errorf("an EC certificate: %v, want an error saying it must be RSA", err)
	}
}

// TestTokenFetchedOnceUnderConcurrency: twenty calls at once on a new
// connector get one token between them.
func TestTokenFetchedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	sim := multiSim(t)
	d := dir(t, connector(t, sim), fakegraph.FabrikamTenantID)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.User(ctx(), "AlexW@fabrikam.com"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := sim.TokensIssuedFor(fakegraph.FabrikamTenantID); n != 1 {
		t.Errorf("%d tokens fetched by 20 concurrent calls, want 1", n)
	}
}

// TestConnector_Tenant: a Graph connection has every capability, so no
// action refuses a real tenant for a field left out; only what Microsoft
// allows a signed-in admin alone is left to a delegated connection
// (writeback_test.go).
func TestConnector_Tenant(t *testing.T) {
	t.Parallel()
	tn, err := connector(t, newSim(t)).Tenant(ctx(), fakegraph.ContosoTenantID)
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(tn)
	for i := range v.NumField() {
		if name := v.Type().Field(i).Name; name == "Delegated" || name == "Writeback" {
			continue
		}
		if v.Field(i).IsNil() {
			t.Errorf("Tenant.%s is nil", v.Type().Field(i).Name)
		}
	}
}
