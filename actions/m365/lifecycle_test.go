package m365_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// logBuffer collects log output from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// connectSides connects to contoso with every endpoint on sim (SharePoint
// admin, MFA service and Exchange calls too) and debug logs into the
// returned buffer.
func connectSides(t *testing.T, sim *fakegraph.Server) (*m365.Directory, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	c, err := m365.New(m365.Config{
		GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client(),
		SharePointAdminURL: sim.URL(), MFAConnectorURL: sim.URL(), MFASecretRetry: 10 * time.Millisecond, ExchangeURL: sim.URL(),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Directory(ctx(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return d, logs
}

// requestsTo returns the recorded requests whose path ends with suffix.
func requestsTo(sim *fakegraph.Server, method, suffix string) []fakegraph.Request {
	var out []fakegraph.Request
	for _, r := range sim.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

func TestLifecycle_CreateUser(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, logs := connectSides(t, sim)
	const pw = `Qz7$vb"Kp<2>mW`
	t.Run("OK", func(t *testing.T) {
		u, err := d.CreateUser(ctx(), actions.NewUser{UPN: "NewHire@contoso.com", DisplayName: "New Hire", GivenName: "New",
			Surname: "Hire", Password: actions.NewSecret("pw", pw), ForceChange: true,
			Fields: map[string]string{"usageLocation": "GB", "jobTitle": "Clerk", "businessPhones": "+44 20 7946 0000"}})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || !strings.EqualFold(u.UPN, "NewHire@contoso.com") || !u.Enabled {
			t.Errorf("created = %+v", u)
		}
		got, ok := sim.User(tenant, "NewHire@contoso.com")
		if !ok || got.Password != pw || !got.ForceChangePasswordNextSignIn || got.UsageLocation != "GB" || got.JobTitle != "Clerk" ||
			!slices.Equal(got.BusinessPhones, []string{"+44 20 7946 0000"}) || got.MailNickname != "NewHire" {
			t.Errorf("tenant holds %+v", got)
		}
		posts := requestsTo(sim, "POST", "/v1.0/users")
		if len(posts) != 1 {
			t.Fatalf("%d POST /users", len(posts))
		}
		var body map[string]any
		json.Unmarshal(posts[0].Body, &body)
		if _, ok := body["businessPhones"].([]any); !ok || body["accountEnabled"] != true {
			t.Errorf("POST /users body = %s", posts[0].Body)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		_, err := d.CreateUser(ctx(), actions.NewUser{UPN: "AdeleV@contoso.com", MailNickname: "adele.again", DisplayName: "Adele Again",
			Password: actions.NewSecret("pw", pw)})
		if actions.ErrorCode(err) != actions.ECONFLICT || actions.ErrorMessage(err) != "user AdeleV@contoso.com already exists" {
			t.Errorf("err = %v, want conflict (already exists)", err)
		}
		_, err = d.CreateUser(ctx(), actions.NewUser{UPN: "AdeleV@contoso.onmicrosoft.com", DisplayName: "Adele Again",
			Password: actions.NewSecret("pw", pw)})
		if actions.ErrorCode(err) != actions.ECONFLICT || !strings.Contains(actions.ErrorMessage(err), "already exists") {
			t.Errorf("err = %v, want conflict (nickname already exists)", err)
		}
	})
	t.Run("PasswordNeverInError", func(t *testing.T) {
		echoed, _ := json.Marshal(pw)
		sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "/v1.0/users", Status: 400, Code: "Request_BadRequest",
			Message: "Invalid value specified for property 'passwordProfile' of resource 'User': " + pw + " / " + string(echoed)})
		_, err := d.CreateUser(ctx(), actions.NewUser{UPN: "Echo@contoso.com", DisplayName: "Echo", Password: actions.NewSecret("pw", pw)})
		if err == nil {
			t.Fatal("no error")
		}
		for _, s := range []string{err.Error(), actions.ErrorMessage(err), logs.String()} {
			if strings.Contains(s, "Qz7$vb") {
				t.Errorf("the password leaked: %q", s)
			}
		}
		if actions.ErrorCode(err) != actions.EINVALID || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("err = %v, want invalid with the password redacted", err)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"User.Read.All"})
		defer sim.SetPermissions(tenant, nil)
		_, err := d.CreateUser(ctx(), actions.NewUser{UPN: "Nope@contoso.com", DisplayName: "Nope", Password: actions.NewSecret("pw", pw)})
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
}

func TestLifecycle_AddAliases(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	err := d.AddAliases(ctx(), fakegraph.ContosoAdeleID, "AdeleV@contoso.com", []string{"adele.vance@contoso.com", "sales@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	var mails []string
	for _, r := range requestsTo(sim, "PATCH", "/v1.0/users/"+fakegraph.ContosoAdeleID) {
		var b struct{ Mail string }
		json.Unmarshal(r.Body, &b)
		mails = append(mails, b.Mail)
	}
	if want := []string{"adele.vance@contoso.com", "sales@contoso.com", "AdeleV@contoso.com"}; !slices.Equal(mails, want) {
		t.Errorf("PATCHed mail %q, want %q", mails, want)
	}
	u, _ := sim.User(tenant, fakegraph.ContosoAdeleID)
	if u.Mail != "AdeleV@contoso.com" || !slices.Contains(u.ProxyAddresses, "SMTP:AdeleV@contoso.com") ||
		!slices.Contains(u.ProxyAddresses, "smtp:adele.vance@contoso.com") || !slices.Contains(u.ProxyAddresses, "smtp:sales@contoso.com") {
		t.Errorf("mail %q, proxy addresses %q", u.Mail, u.ProxyAddresses)
	}
	err = d.AddAliases(ctx(), "00000000-0000-0000-0000-00000000dead", "x@contoso.com", []string{"y@contoso.com"})
	if actions.ErrorCode(err) != actions.ENOTFOUND {
		t.Errorf("missing user: %v", err)
	}
}

func TestLifecycle_DeletedUserAndRestore(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	if err := d.DeleteUser(ctx(), fakegraph.ContosoMeganID); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"MeganB@contoso.com", "meganb@contoso.com", fakegraph.ContosoMeganID,
		strings.ReplaceAll(fakegraph.ContosoMeganID, "-", "") + "MeganB@contoso.com"} {
		u, when, err := d.DeletedUser(ctx(), key)
		if err != nil || u.ID != fakegraph.ContosoMeganID || u.UPN != "MeganB@contoso.com" || u.DisplayName != "Megan Bowen" ||
			!when.IsZero() && time.Since(when) > time.Hour {
			t.Errorf("DeletedUser(%s) = %+v, %v, %v", key, u, when, err)
		}
		if when.IsZero() {
			// The simulated tenant ignores $select on deletedItems and
			// leaves deletedDateTime out; real Graph sends it.
			t.Logf("DeletedUser(%s): no deletedDateTime", key)
		}
	}
	r := requestsTo(sim, "GET", "/directory/deletedItems/microsoft.graph.user")
	if len(r) == 0 || !strings.Contains(r[0].RawQuery, "deletedDateTime") {
		t.Errorf("deletedItems requests: %+v", r)
	}
	_, _, err := d.DeletedUser(ctx(), "AdeleV@contoso.com")
	if actions.ErrorCode(err) != actions.ENOTFOUND || !strings.Contains(actions.ErrorMessage(err), "recycle bin") {
		t.Errorf("DeletedUser(not deleted) = %v, want not found (recycle bin)", err)
	}
	u, err := d.RestoreUser(ctx(), fakegraph.ContosoMeganID)
	if err != nil || u.UPN != "MeganB@contoso.com" {
		t.Fatalf("RestoreUser = %+v, %v", u, err)
	}
	if got, _ := sim.User(tenant, fakegraph.ContosoMeganID); got.Deleted {
		t.Error("still deleted")
	}
	_, err = d.RestoreUser(ctx(), fakegraph.ContosoMeganID)
	if actions.ErrorCode(err) != actions.ENOTFOUND {
		t.Errorf("second restore: %v, want not found", err)
	}
}

func TestLifecycle_Licences(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	skus, err := d.SKUs(ctx())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(skus, func(s actions.SKU) bool { return s.ID == fakegraph.SkuEnterprisePack })
	if i < 0 || skus[i].PartNumber != "ENTERPRISEPACK" || skus[i].Enabled == 0 || skus[i].Consumed == 0 {
		t.Fatalf("SKUs = %+v", skus)
	}
	t.Run("OK", func(t *testing.T) {
		if err := d.AssignLicenses(ctx(), fakegraph.ContosoAdeleID, []string{fakegraph.SkuFlowFree}, []string{fakegraph.SkuEMS}); err != nil {
			t.Fatal(err)
		}
		got, err := d.UserSKUs(ctx(), fakegraph.ContosoAdeleID)
		var parts []string
		for _, s := range got {
			parts = append(parts, s.PartNumber)
		}
		slices.Sort(parts)
		if err != nil || !slices.Equal(parts, []string{"ENTERPRISEPACK", "FLOW_FREE"}) {
			t.Errorf("UserSKUs = %v, %v", parts, err)
		}
		r := requestsTo(sim, "POST", "/assignLicense")
		if len(r) != 1 || !strings.Contains(string(r[0].Body), `"disabledPlans":[]`) {
			t.Errorf("assignLicense bodies: %v", r)
		}
	})
	t.Run("ErrNoUsageLocation", func(t *testing.T) {
		err := d.AssignLicenses(ctx(), fakegraph.ContosoJoniID, []string{fakegraph.SkuEnterprisePack}, nil)
		if actions.ErrorCode(err) != actions.EINVALID || !strings.Contains(actions.ErrorMessage(err), "edit-user JoniS@contoso.com usageLocation=") {
			t.Errorf("err = %v, want invalid telling to set usageLocation", err)
		}
	})
	t.Run("ErrNoneFree", func(t *testing.T) {
		sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "assignLicense", Status: 400, Code: "Request_BadRequest",
			Message: "Subscription with Sku " + fakegraph.SkuEnterprisePack + " does not have any available licenses."})
		err := d.AssignLicenses(ctx(), fakegraph.ContosoMeganID, []string{fakegraph.SkuEnterprisePack}, nil)
		if actions.ErrorCode(err) != actions.EINVALID || !strings.Contains(actions.ErrorMessage(err), "no free ENTERPRISEPACK") {
			t.Errorf("err = %v, want invalid (no free ENTERPRISEPACK)", err)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"User.Read.All"})
		defer sim.SetPermissions(tenant, nil)
		err := d.AssignLicenses(ctx(), fakegraph.ContosoAdeleID, []string{fakegraph.SkuEMS}, nil)
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
}

func TestLifecycle_UserGroups(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	gs, err := d.UserGroups(ctx(), fakegraph.ContosoAdeleID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sim.User(tenant, fakegraph.ContosoAdeleID)
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.ID)
		if g.DisplayName == "" {
			t.Errorf("group without a name: %+v", g)
		}
	}
	slices.Sort(ids)
	slices.Sort(want.Groups)
	if len(ids) == 0 || !slices.Equal(ids, want.Groups) {
		t.Errorf("UserGroups = %v, want %v", ids, want.Groups)
	}
	if _, err := d.UserGroups(ctx(), "00000000-0000-0000-0000-00000000dead"); actions.ErrorCode(err) != actions.ENOTFOUND {
		t.Errorf("missing user: %v", err)
	}
}
