package m365

import "fmt"

// Cloud is one Microsoft cloud: where Graph, sign-in, Exchange Online and
// SharePoint live. They are picked together, since a token from one cloud
// is worthless in another.
type Cloud struct {
	Name          string
	GraphURL      string // service root, no version
	AuthorityHost string
	ExchangeURL   string
	// SharePointSuffix follows the tenant name in SharePoint hosts
	// ("contoso-admin.sharepoint.com").
	SharePointSuffix string
}

// CloudByName returns the cloud named global (the default), usgov (GCC
// High), usgovdod (DoD) or china (operated by 21Vianet).
func CloudByName(name string) (Cloud, error) {
	switch name {
	case "", "global":
		return Cloud{"global", "https://graph.microsoft.com", "https://login.microsoftonline.com/",
			"https://outlook.office365.com", "sharepoint.com"}, nil
	case "usgov":
		return Cloud{"usgov", "https://graph.microsoft.us", "https://login.microsoftonline.us/",
			"https://outlook.office365.us", "sharepoint.us"}, nil
	case "usgovdod":
		return Cloud{"usgovdod", "https://dod-graph.microsoft.us", "https://login.microsoftonline.us/",
			"https://webmail.apps.mil", "sharepoint-mil.us"}, nil
	case "china":
		return Cloud{"china", "https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn/",
			"https://partner.outlook.cn", "sharepoint.cn"}, nil
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q: use global, usgov, usgovdod or china", name)
}
