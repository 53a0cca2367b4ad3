package m365

import (
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
)

func TestParseSharePointURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		host string
		site string
		rest []string
	}{
		{"https://contoso.sharepoint.com/sites/Sales", "contoso.sharepoint.com", "Sales", nil},
		{"https://contoso.sharepoint.com/sites/Sales/", "contoso.sharepoint.com", "Sales", nil},
		{"https://contoso.sharepoint.com/teams/Ops", "contoso.sharepoint.com", "Ops", nil},
		{"https://contoso.sharepoint.com/sites/Sales/Shared%20Documents", "contoso.sharepoint.com", "Sales", []string{"Shared Documents"}},
		{"https://contoso.sharepoint.com/sites/Sales/Shared Documents/Proposals", "contoso.sharepoint.com", "Sales", []string{"Shared Documents", "Proposals"}},
		{"https://contoso.sharepoint.com/sites/Sales/Shared%20Documents/Forms/AllItems.aspx", "contoso.sharepoint.com", "Sales", []string{"Shared Documents"}},
		{"https://contoso.sharepoint.com/sites/Sales/Shared%20Documents/Forms/AllItems.aspx?id=%2Fsites%2FSales%2FShared%20Documents%2FProposals%2F2024&viewid=x",
			"contoso.sharepoint.com", "Sales", []string{"Shared Documents", "Proposals", "2024"}},
		{"https://contoso.sharepoint.com/sites/Sales/SitePages/Home.aspx", "contoso.sharepoint.com", "Sales", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSharePointURL(tt.in)
			if err != nil {
				t.Fatalf("parseSharePointURL(%q): %v", tt.in, err)
			}
			if got.host != tt.host || got.site != tt.site || !slices.Equal(got.rest, tt.rest) {
				t.Errorf("parseSharePointURL(%q) = %+v, want %s %s %q", tt.in, got, tt.host, tt.site, tt.rest)
			}
		})
	}
	for _, in := range []string{"", "contoso.sharepoint.com/sites/Sales", "http://contoso.sharepoint.com/sites/Sales",
		"https://contoso.sharepoint.com/", "https://contoso.sharepoint.com/sites", "https://contoso.sharepoint.com/personal/adele"} {
		_, err := parseSharePointURL(in)
		if actions.ErrorCode(err) != actions.EINVALID || !strings.Contains(actions.ErrorMessage(err), "https://contoso.sharepoint.com/sites/Sales") {
			t.Errorf("parseSharePointURL(%q) = %v, want invalid with an example", in, err)
		}
	}
}

func TestCSOMError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		code   string
		want   string
	}{
		{"OK", 200, `[{"SchemaVersion":"15.0.0.0","LibraryVersion":"16.0.24817.12006","ErrorInfo":null,"TraceCorrelationId":"a1"},4,{"IsNull":false},6,{"_ObjectType_":"SP.PersonalSiteInfo"}]`, "", ""},
		{"Refused", 200, `[{"SchemaVersion":"15.0.0.0","ErrorInfo":{"ErrorMessage":"Unknown user.","ErrorValue":null,"TraceCorrelationId":"b2","ErrorCode":-1,"ErrorTypeName":"Microsoft.SharePoint.SPException"}}]`,
			actions.EINVALID, "Unknown user"},
		{"AccessDenied", 200, `[{"ErrorInfo":{"ErrorMessage":"Access denied.","ErrorTypeName":"System.UnauthorizedAccessException"}}]`, actions.EFORBIDDEN, "Sites.FullControl.All"},
		{"Unauthorized", 401, `{"error_description":"Unsupported app only token."}`, actions.EFORBIDDEN, "certificate"},
		{"Forbidden", 403, ``, actions.EFORBIDDEN, "Sites.FullControl.All"},
		{"Throttled", 429, ``, actions.EUNAVAILABLE, "throttling"},
		{"Garbage", 200, `<html>`, actions.EINTERNAL, "cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := csomError(tt.status, []byte(tt.body))
			if actions.ErrorCode(err) != tt.code || !strings.Contains(actions.ErrorMessage(err), tt.want) {
				t.Errorf("csomError(%d, %q) = %v, want %q containing %q", tt.status, tt.body, err, tt.code, tt.want)
			}
		})
	}
}

func TestDeletedUserOriginalUPN(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, upn, want string }{
		{"6f8476ea-fbf0-41b7-92a0-7e8b9fb06683", "6f8476eafbf041b792a07e8b9fb06683AdeleV@contoso.com", "AdeleV@contoso.com"},
		{"6f8476ea-fbf0-41b7-92a0-7e8b9fb06683", "AdeleV@contoso.com", "AdeleV@contoso.com"},
		{"6f8476ea-fbf0-41b7-92a0-7e8b9fb06683", "00008476eafbf041b792a07e8b9fb06683AdeleV@contoso.com", "00008476eafbf041b792a07e8b9fb06683AdeleV@contoso.com"},
	}
	for _, tt := range tests {
		if got := (deletedUser{ID: tt.id, UPN: tt.upn}).originalUPN(); got != tt.want {
			t.Errorf("originalUPN(%s, %s) = %q, want %q", tt.id, tt.upn, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	pw := `Xk4$m<n>P7"#&`
	err := redact(&actions.Error{Code: actions.EINVALID, Message: "Microsoft 365 refused: bad password " + pw,
		Detail: `graph 400: {"password":"Xk4$m\u003cn\u003eP7\"#\u0026"} Xk4$m&lt;n&gt;P7&#34;#&amp;`}, pw)
	if s := err.Error(); strings.Contains(s, "Xk4$") || strings.Count(s, "[redacted]") != 3 {
		t.Errorf("redacted error = %q", s)
	}
}

func TestItemName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Sales", "Sales"},
		{"Sales: EMEA / APAC", "Sales- EMEA - APAC"},
		{" Q3 plans. ", "Q3 plans"},
		{"...", "Shortcut"},
	}
	for _, tt := range tests {
		if got := itemName(tt.in); got != tt.want {
			t.Errorf("itemName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
