package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/bot"
)

// syncEvery is how often serve refreshes the tenant directory from GDAP.
const syncEvery = 6 * time.Hour

// connector builds the Microsoft 365 connector from cfg. graphClient, if
// non-nil, carries its traffic (tests).
func connector(cfg Config, graphClient *http.Client, log *slog.Logger, observe ...func(string, int, time.Duration)) (*m365.Connector, error) {
	mc := m365.Config{
		Cloud: cfg.Cloud, GraphURL: cfg.GraphURL, ExchangeURL: cfg.ExchangeURL, AuthorityHost: cfg.AuthorityHost,
		SharePointAdminURL: cfg.SharePointAdminURL,
		ClientID:           cfg.ClientID, ClientSecret: cfg.ClientSecret, CertificatePassword: cfg.CertificatePassword,
		HTTPClient: graphClient, Logger: log,
	}
	if len(observe) > 0 {
		mc.Observe = observe[0]
	}
	if cfg.GDAP.source != nil {
		mc.Credential = cfg.GDAP.source.Credential // delegated mode (login.go)
	}
	if cfg.CertificatePath != "" {
		b, err := os.ReadFile(cfg.CertificatePath)
		if err != nil {
			return nil, usageError{fmt.Sprintf("AZURE_CLIENT_CERTIFICATE_PATH: %v", err)}
		}
		mc.ClientCertificate = b
	}
	if mc.ClientID == "" || (mc.ClientSecret == "" && len(mc.ClientCertificate) == 0) {
		return nil, usageError{"set AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_SECRET_FILE, or AZURE_CLIENT_CERTIFICATE_PATH)"}
	}
	c, err := m365.New(mc)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return c, nil
}

// syncReport says what a sync did.
type syncReport struct {
	Added, Updated []string
	Failed         map[string]error // tenant ID → why its domains could not be read
	// Access lists what could not be read of the GDAP access, or gives
	// the service account nothing, one line each.
	Access []string
}

// syncTenants reads the partner tenant's active GDAP relationships, their
// access assignments (which security group holds which roles) and each
// customer's domains into the tenant directory; in delegated mode also the
// service account's groups, which say the roles it holds in each customer. A customer that cannot be
// read is reported and kept as it was; one never seen is stored with the
// name GDAP gives, so that check can explain what is wrong.
func syncTenants(ctx context.Context, conn actions.Connector, db bot.TenantStore, partnerID string) (syncReport, error) {
	now := func() time.Time { return time.Now().UTC() }
	rep := syncReport{Failed: map[string]error{}}
	if partnerID == "" {
		return rep, usageError{"tenants sync needs AZURE_TENANT_ID, the partner tenant"}
	}
	partner, err := conn.Admin(ctx, partnerID)
	if err != nil {
		return rep, err
	}
	custs, err := partner.Customers(ctx)
	if err != nil {
		return rep, fmt.Errorf("read GDAP relationships of the partner tenant: %s", actions.ErrorMessage(err))
	}
	// The service account's groups say which access assignments are its
	// own (delegated mode only; app-only has no signed-in account).
	groups, signed, groupsErr := partner.SignedInGroups(ctx)
	if groupsErr != nil {
		rep.Access = append(rep.Access, "the service account's groups: "+actions.ErrorMessage(groupsErr))
	}
	for _, c := range custs {
		old, oldErr := db.TenantByName(ctx, c.TenantID)
		t, err := describeTenant(ctx, conn, c.TenantID)
		if err != nil {
			rep.Failed[c.TenantID] = err
			if oldErr == nil {
				continue
			}
			t = bot.Tenant{ID: c.TenantID, Name: c.Name}
		}
		if t.Name == "" {
			t.Name = c.Name
		}
		t.Source = "gdap"
		if oldErr == nil {
			t.Alias = old.Alias
			t.GDAP = old.GDAP
		}
		switch {
		case c.AccessErr != nil:
			rep.Access = append(rep.Access, c.Name+": "+actions.ErrorMessage(c.AccessErr))
		case groupsErr == nil:
			t.GDAP = &bot.GDAPAccess{Assignments: c.Access, Signed: signed, ServiceAccountGroups: groups, SyncedAt: now()}
			if signed && len(t.GDAP.ServiceAccountRoles()) == 0 {
				rep.Access = append(rep.Access, c.Name+": the service account holds no role through GDAP")
			}
		}
		if err := db.PutTenant(ctx, t); err != nil {
			return rep, err
		}
		label := t.DefaultDomain
		if label == "" {
			label = t.Name + " (" + t.ID + ")"
		}
		if oldErr == nil {
			rep.Updated = append(rep.Updated, label)
		} else {
			rep.Added = append(rep.Added, label)
		}
	}
	return rep, nil
}

// describeTenant reads a tenant's ID, name and verified domains from its
// own directory. idOrDomain may be the tenant ID or any of its domains:
// Entra accepts either for sign-in.
func describeTenant(ctx context.Context, conn actions.Connector, idOrDomain string) (bot.Tenant, error) {
	adm, err := conn.Admin(ctx, idOrDomain)
	if err != nil {
		return bot.Tenant{}, err
	}
	info, err := adm.Organization(ctx)
	if err != nil {
		return bot.Tenant{}, err
	}
	return bot.Tenant{ID: info.ID, Name: info.Name, DefaultDomain: info.DefaultDomain, Domains: info.Domains}, nil
}

func runTenants(ctx context.Context, cfg Config, args []string, stdout io.Writer, graphClient *http.Client, log *slog.Logger) error {
	if len(args) == 0 {
		args = []string{"list"}
	}
	db, err := openPlainStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "sync" || args[0] == "add" {
		if err := useGDAP(ctx, &cfg, db, graphClient, log); err != nil { // delegated mode (login.go)
			return err
		}
	}
	switch args[0] {
	case "list":
		ts, err := db.Tenants(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", t.DefaultDomain, t.ID, t.Name, t.Source)
		}
		return nil
	case "sync":
		conn, err := connector(cfg, graphClient, log)
		if err != nil {
			return err
		}
		rep, err := syncTenants(ctx, conn, db, cfg.TenantID)
		if err != nil {
			return err
		}
		printSync(stdout, rep)
		return nil
	case "add":
		if len(args) != 2 {
			return usageError{"usage: tenants add <domain-or-tenant-id>"}
		}
		conn, err := connector(cfg, graphClient, log)
		if err != nil {
			return err
		}
		t, err := describeTenant(ctx, conn, args[1])
		if err != nil {
			return fmt.Errorf("tenants add %s: %s", args[1], actions.ErrorMessage(err))
		}
		t.Source = "manual"
		if err := db.PutTenant(ctx, t); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s (%s, %s)\n", t.DefaultDomain, t.Name, t.ID)
		return nil
	case "policy":
		if len(args) != 3 || (args[2] != bot.PolicyStrict && args[2] != bot.PolicyTwoApprovers) {
			return usageError{"usage: tenants policy <domain-or-id> strict|two-approvers"}
		}
		t, err := db.TenantByName(ctx, args[1])
		if errors.Is(err, bot.ErrNotFound) {
			return fmt.Errorf("no tenant is called %s", args[1])
		} else if err != nil {
			return err
		}
		t.PrivilegedPolicy = args[2]
		if err := db.PutTenant(ctx, t); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: changes to privileged accounts now follow the %s policy\n", t.DefaultDomain, args[2])
		return nil
	case "remove":
		if len(args) != 2 {
			return usageError{"usage: tenants remove <domain-or-tenant-id>"}
		}
		t, err := db.TenantByName(ctx, args[1])
		if errors.Is(err, bot.ErrNotFound) {
			return fmt.Errorf("no tenant is called %s", args[1])
		} else if err != nil {
			return err
		}
		if err := db.DeleteTenant(ctx, t.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s and its channel bindings\n", t.DefaultDomain)
		return nil
	}
	return usageError{fmt.Sprintf("unknown tenants command %q", args[0])}
}

func printSync(w io.Writer, rep syncReport) {
	fmt.Fprintf(w, "%d added, %d updated, %d could not be read\n", len(rep.Added), len(rep.Updated), len(rep.Failed))
	for _, a := range rep.Added {
		fmt.Fprintln(w, "  added  ", a)
	}
	for id, err := range rep.Failed {
		fmt.Fprintf(w, "  failed  %s: %s\n", id, actions.ErrorMessage(err))
	}
	for _, l := range rep.Access {
		fmt.Fprintln(w, "  GDAP   ", l)
	}
}

// runCheck checks every onboarded tenant and exits non-zero if any cannot
// be reached.
func runCheck(ctx context.Context, cfg Config, stdout io.Writer, graphClient *http.Client, log *slog.Logger) error {
	db, err := openPlainStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := useGDAP(ctx, &cfg, db, graphClient, log); err != nil { // delegated mode (login.go)
		return err
	}
	conn, err := connector(cfg, graphClient, log)
	if err != nil {
		return err
	}
	b := newBot(cfg, conn, db, log)
	ts, res, err := b.CheckTenants(ctx)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return usageError{"no tenants: run cippbot tenants sync or tenants add first"}
	}
	bad := 0
	for i, t := range ts {
		m := bot.CheckMessage(t, res[i])
		fmt.Fprintln(stdout, m.Title)
		for _, l := range m.Lines {
			fmt.Fprintln(stdout, "   ", l)
		}
		if res[i].Err != nil {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d tenants cannot be reached", bad, len(ts))
	}
	return nil
}

// syncLoop refreshes the tenant directory now and every syncEvery.
func syncLoop(ctx context.Context, conn actions.Connector, db bot.TenantStore, partnerID string, log *slog.Logger) {
	for {
		rep, err := syncTenants(ctx, conn, db, partnerID)
		if err != nil {
			log.WarnContext(ctx, "tenant sync failed", "err", err)
		} else {
			log.InfoContext(ctx, "tenants synced", "added", len(rep.Added), "updated", len(rep.Updated), "failed", len(rep.Failed))
			for id, e := range rep.Failed {
				log.WarnContext(ctx, "tenant not readable", "tenant", id, "why", actions.ErrorMessage(e))
			}
			for _, l := range rep.Access {
				log.WarnContext(ctx, "GDAP access", "why", l)
			}
		}
		t := time.NewTimer(syncEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
