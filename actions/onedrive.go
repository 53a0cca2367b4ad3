package actions

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

var provisionOneDrive = &Action{
	Name:        "provision-onedrive",
	Aliases:     []string{"onedrive"},
	Area:        "OneDrive",
	Summary:     "Create users' OneDrives now instead of at first sign-in",
	Permissions: []string{"Sites.FullControl.All"},
	// RequestPersonalSites needs an actor with the SharePoint
	// Administrator role and a SharePoint licence
	// (https://learn.microsoft.com/en-us/powershell/module/sharepoint-online/request-spopersonalsite),
	// which an app is not; app-only calls fail with "Attempted to perform
	// an unauthorized operation" (CyberDrain/CIPP#592).
	DelegatedOnly: "a SharePoint admin can run Request-SPOPersonalSite, or the OneDrive is created when the user first opens it",
	Risk:          RiskChange,
	Bulk:          true,
	Run: func(ctx context.Context, t Tenant, u User, _ Params, _ Env) (Outcome, error) {
		od, err := need(t.OneDrive, "SharePoint")
		if err != nil {
			return Outcome{}, err
		}
		if web, err := od.OneDriveURL(ctx, u.ID); err == nil {
			return Outcome{Summary: u.UPN + ": already has a OneDrive", Lines: []string{web}}, nil
		} else if ErrorCode(err) != ENOTFOUND {
			return Outcome{}, err
		}
		if err := od.ProvisionOneDrive(ctx, []string{u.UPN}); err != nil {
			return Outcome{}, err
		}
		o := Outcome{Summary: u.UPN + ": OneDrive requested"}
		if web, err := od.OneDriveURL(ctx, u.ID); err == nil {
			o.Summary = u.UPN + ": OneDrive created"
			o.Lines = []string{web}
		} else {
			o.Lines = []string{"SharePoint creates it in the background, usually within minutes; run again to see it."}
		}
		return o, nil
	},
}

var oneDriveShortcut = &Action{
	Example: "onedrive-shortcut AdeleV@contoso.com https://contoso.sharepoint.com/sites/Sales",
	Name:    "onedrive-shortcut",
	Area:    "OneDrive",
	Summary: "Add a shortcut to a SharePoint site or folder to the user's OneDrive",
	Params: []Param{
		{Name: "url", Kind: ParamString, Positional: true, Required: true,
			Summary: "site or folder address, e.g. https://contoso.sharepoint.com/sites/Sales"},
	},
	Permissions: []string{"Files.ReadWrite.All", "Sites.ReadWrite.All", "Sites.FullControl.All"},
	Risk:        RiskChange,
	Check: func(_ User, p Params) error {
		u, err := url.Parse(p["url"])
		if err != nil || u.Scheme != "https" || !strings.Contains(u.Host, ".sharepoint") || !strings.HasPrefix(u.Path, "/sites/") && !strings.HasPrefix(u.Path, "/teams/") {
			return Errorf(EINVALID, "%q is not a SharePoint site or folder address like https://contoso.sharepoint.com/sites/Sales", p["url"])
		}
		return nil
	},
	Run: func(ctx context.Context, t Tenant, u User, p Params, _ Env) (Outcome, error) {
		od, err := need(t.OneDrive, "SharePoint")
		if err != nil {
			return Outcome{}, err
		}
		name, err := od.AddShortcut(ctx, u.ID, p["url"])
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: fmt.Sprintf("%s: shortcut %q added to OneDrive", u.UPN, name),
			Lines: []string{"It shows in OneDrive and File Explorer once it syncs."}}, nil
	},
}
