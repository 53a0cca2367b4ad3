package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// userField is one of CIPP's user fields (Invoke-AddUser, New-CIPPUserTask): its name as typed in chat
// (lower case), its Graph property ("" if it is none) and a few words.
type userField struct{ name, graph, summary string }

// newUserFields are add-user's fields: the field names of CIPP's Invoke-AddUser,
// lower-cased as typed in chat, with Graph's property names. A PSA
// template that fills CIPP's names works unchanged as key=value.
var newUserFields = []userField{
	{"displayname", "displayName", "display name"},
	{"mailnickname", "mailNickname", "username, the part before @"},
	{"primdomain", "", "domain, the part after @"},
	{"givenname", "givenName", "first name"},
	{"surname", "surname", "last name"},
	{"usagelocation", "usageLocation", "two-letter country for licences"},
	{"jobtitle", "jobTitle", "job title"},
	{"department", "department", "department"},
	{"companyname", "companyName", "company"},
	{"businessphones", "businessPhones", "office phone"},
	{"mobilephone", "mobilePhone", "mobile phone"},
	{"streetaddress", "streetAddress", "street"},
	{"city", "city", "city"},
	{"postalcode", "postalCode", "postal code"},
	{"country", "country", "country"},
	{"addedaliasses", "", "extra addresses, one per line"},
}

// addUserParams are add-user's parameters: CIPP's fields, then
// licences, groups to copy and whether the password must change.
func addUserParams() []Param {
	var ps []Param
	for _, f := range newUserFields {
		ps = append(ps, Param{Name: f.name, Kind: ParamString, Summary: f.summary})
	}
	return append(ps,
		Param{Name: "licenses", Kind: ParamString, Summary: "SKU part numbers, e.g. ENTERPRISEPACK,EMS"},
		Param{Name: "copyfrom", Kind: ParamString, Summary: "copy groups from this user"},
		Param{Name: "mustchangepass", Kind: ParamBool, Summary: "must change the password at first sign-in"},
	)
}

var addUser = &Action{
	Example: "add-user displayName=\"Jane Doe\" mailNickname=jane primDomain=contoso.com usageLocation=US licenses=ENTERPRISEPACK copyfrom=AdeleV@contoso.com reason=\"new hire, ticket 4711\"",
	Name:    "add-user",
	Aliases: []string{"new-user", "adduser"},
	Area:    "Users",
	Summary: "Create a user with licences, aliases and groups; password to you privately",
	Params:  addUserParams(),
	Form: &Form{
		Title:   "New user",
		Heading: "Fill in the new user's details",
		Typed:   `displayName="Jane Doe" mailNickname=jane primDomain=contoso.com`,
		Fields: []string{"displayname", "mailnickname", "primdomain", "givenname", "surname", "usagelocation", "licenses",
			"jobtitle", "department", "copyfrom", "addedaliasses", "mobilephone", "businessphones", "companyname",
			"streetaddress", "city", "postalcode", "country"},
		Required: []string{"displayname", "mailnickname", "primdomain"},
		Long:     []string{"addedaliasses"},
		User:     "mailnickname",
		Domain:   "primdomain",
	},
	Permissions: permUserWrite,
	Risk:        RiskDestructive, // it hands out a credential
	Secret:      true,
	Target:      TargetNew,
	Prepare:     prepareNewUsers,
	Groups:      copiedGroups,
	Run:         runAddUser,
}

var bulkAdd = &Action{
	Example: "bulk-add file=new-hires.csv reason=\"September intake\"",
	Name:    "bulk-add",
	Area:    "Users",
	Summary: "Create the users of an attached CSV (add-user's column names); passwords to you privately",
	Params: []Param{
		{Name: "licenses", Kind: ParamString, Summary: "SKU part numbers for rows without a licenses column"},
		{Name: "usagelocation", Kind: ParamString, Summary: "country for rows without one"},
		{Name: "mustchangepass", Kind: ParamBool, Summary: "must change the password at first sign-in"},
	},
	Permissions: permUserWrite,
	Risk:        RiskDestructive, // it hands out credentials
	Bulk:        true,
	Secret:      true,
	Target:      TargetNew,
	FromFile:    newUsersFromFile,
	Prepare:     prepareNewUsers,
	Groups:      copiedGroups,
	Run:         runAddUser,
}

// newUsersFromFile reads bulk-add's CSV: a header of add-user's field
// names, one user per row. It returns the users' addresses and their rows
// as RowsParam, to pin to the approval.
func newUsersFromFile(files []File) ([]string, Params, error) {
	if len(files) != 1 {
		return nil, nil, Errorf(EINVALID, "attach one CSV of the users to create")
	}
	f := files[0]
	all, err := f.Records()
	if err != nil {
		return nil, nil, Errorf(EINVALID, "%s is not a readable CSV: %v", f.Name, err)
	}
	if len(all) < 2 {
		return nil, nil, Errorf(EINVALID, "%s needs a header line (displayName,mailNickname,primDomain,…) and a line per user", f.Name)
	}
	for i, h := range all[0] {
		if !fieldName.MatchString(strings.TrimSpace(h)) {
			return nil, nil, Errorf(EINVALID,
				"%s column %d of the header is not one of add-user's field names (displayName, mailNickname, primDomain, …); its contents are not shown", f.Name, i+1)
		}
	}
	upns, rows, err := newUserRows(all[0], all[1:])
	if err != nil {
		return nil, nil, err
	}
	return upns, Params{RowsParam: rows}, nil
}

// fieldName is the shape of a bulk-add header cell; anything else is not
// quoted back.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)

// RowsParam is the parameter bulk-add's rows are pinned to the approval
// under: a JSON object of field maps by lower-case UPN.
const RowsParam = "rows"

// newUserRows reads the users to create from a CSV's header and rows
// (CIPP's Invoke-AddUserBulk column names, any case; userPrincipalName or
// mailNickname+primDomain name each user). It returns their UPNs and the
// rows as RowsParam's value.
func newUserRows(header []string, rows [][]string) (upns []string, param string, err error) {
	known := map[string]bool{"userprincipalname": true, "upn": true, "licenses": true, "copyfrom": true, "mustchangepass": true}
	for _, f := range newUserFields {
		known[f.name] = true
	}
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !known[h] {
			return nil, "", Errorf(EINVALID, "unknown column %q: use add-user's field names (displayName, mailNickname, primDomain, …)", header[i])
		}
		cols[i] = h
	}
	byUPN := map[string]map[string]string{}
	for n, row := range rows {
		r := map[string]string{}
		for i, v := range row {
			if i < len(cols) && strings.TrimSpace(v) != "" {
				r[cols[i]] = strings.TrimSpace(v)
			}
		}
		upn := r["userprincipalname"]
		if upn == "" {
			upn = r["upn"]
		}
		if upn == "" && r["mailnickname"] != "" && r["primdomain"] != "" {
			upn = r["mailnickname"] + "@" + r["primdomain"]
		}
		if upn == "" || !strings.Contains(upn, "@") {
			return nil, "", Errorf(EINVALID, "line %d names no user: give userPrincipalName, or mailNickname and primDomain", n+2)
		}
		upn = strings.ToLower(upn)
		if r["displayname"] == "" {
			return nil, "", Errorf(EINVALID, "line %d (%s) has no displayName", n+2, upn)
		}
		if _, dup := byUPN[upn]; dup {
			return nil, "", Errorf(EINVALID, "%s is listed twice", upn)
		}
		nick, dom, _ := strings.Cut(upn, "@")
		r["mailnickname"], r["primdomain"] = nick, dom
		delete(r, "userprincipalname")
		delete(r, "upn")
		byUPN[upn] = r
		upns = append(upns, upn)
	}
	if len(upns) == 0 {
		return nil, "", Errorf(EINVALID, "the attached file lists no users")
	}
	b, _ := json.Marshal(byUPN)
	return upns, string(b), nil
}

// rowFor returns the fields of the user to create: its bulk-add row, or
// the parameters themselves.
func rowFor(upn string, p Params) (map[string]string, error) {
	if raw, ok := p[RowsParam]; ok {
		var rows map[string]map[string]string
		if err := json.Unmarshal([]byte(raw), &rows); err != nil {
			return nil, Errorf(EINTERNAL, "the approved rows cannot be read")
		}
		r, ok := rows[strings.ToLower(upn)]
		if !ok {
			return nil, Errorf(EINTERNAL, "%s is not among the approved rows", upn)
		}
		for _, k := range []string{"licenses", "usagelocation", "mustchangepass"} {
			if r[k] == "" && p[k] != "" && p[k] != "false" {
				r[k] = p[k]
			}
		}
		// Resolved licences are pinned per request, not per row.
		r["license-ids"] = p["license-ids:"+strings.ToUpper(r["licenses"])]
		r["copyfrom-id"] = p["copyfrom-id:"+strings.ToLower(r["copyfrom"])]
		return r, nil
	}
	r := map[string]string{}
	for k, v := range p {
		r[k] = v
	}
	r["license-ids"] = p["license-ids:"+strings.ToUpper(p["licenses"])]
	r["copyfrom-id"] = p["copyfrom-id:"+strings.ToLower(p["copyfrom"])]
	return r, nil
}

// splitList splits "a,b c" and one-per-line lists.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == ' ' })
}

// prepareNewUsers checks the users to create before anyone approves:
// every field makes sense, licences exist and have room, the user to copy
// groups from exists. It pins the resolved licence and user IDs.
func prepareNewUsers(ctx context.Context, t Tenant, p Params) (Params, error) {
	lc, err := need(t.Lifecycle, "user creation")
	if err != nil {
		return nil, err
	}
	rows := []map[string]string{p}
	if raw, ok := p[RowsParam]; ok {
		var byUPN map[string]map[string]string
		if err := json.Unmarshal([]byte(raw), &byUPN); err != nil {
			return nil, Errorf(EINVALID, "the rows cannot be read")
		}
		rows = rows[:0]
		for _, upn := range sortedRowKeys(byUPN) {
			r := byUPN[upn]
			for _, k := range []string{"licenses", "usagelocation"} {
				if r[k] == "" {
					r[k] = p[k]
				}
			}
			rows = append(rows, r)
		}
	}
	q := p.Clone()
	var skus []SKU
	var country string       // the tenant's, once read
	want := map[string]int{} // SKU ID → licences needed
	for _, r := range rows {
		who := r["mailnickname"]
		if strings.TrimSpace(r["displayname"]) == "" {
			return nil, Errorf(EINVALID, "%s needs displayName=\"First Last\"", orWord(who, "the new user"))
		}
		if ul := r["usagelocation"]; ul != "" && (len(ul) != 2 || !isLetters(ul)) {
			return nil, Errorf(EINVALID, "usageLocation is a two-letter country code like US or GB, not %q", ul)
		}
		if names := splitList(r["licenses"]); len(names) > 0 {
			if r["usagelocation"] == "" && country == "" {
				// Blank means the tenant's default, as in CIPP's New-CIPPUserTask.
				if t.Org != nil {
					if org, err := t.Org.Organization(ctx); err == nil {
						country = org.Country
					}
				}
				if country == "" {
					return nil, Errorf(EINVALID, "licences need a usage location: add usageLocation=US (two letters) for %s", orWord(who, "the new user"))
				}
				q["usagelocation-default"] = strings.ToUpper(country)
			}
			if skus == nil {
				if skus, err = lc.SKUs(ctx); err != nil {
					return nil, err
				}
			}
			key := "license-ids:" + strings.ToUpper(r["licenses"])
			var ids []string
			for _, n := range names {
				sku, err := findSKU(skus, n)
				if err != nil {
					return nil, err
				}
				ids = append(ids, sku.ID)
				want[sku.ID]++
			}
			q[key] = strings.Join(ids, ",")
		}
		if from := r["copyfrom"]; from != "" {
			users, err := need(t.Users, "users")
			if err != nil {
				return nil, err
			}
			u, err := users.User(ctx, from)
			if err != nil {
				if ErrorCode(err) == ENOTFOUND {
					return nil, Errorf(ENOTFOUND, "copyfrom: %s does not exist", from)
				}
				return nil, err
			}
			q["copyfrom-id:"+strings.ToLower(from)] = u.ID
		}
	}
	for _, s := range skus {
		if n := want[s.ID]; n > s.Free() {
			return nil, Errorf(ECONFLICT, "%d %s licences are needed and %d are free: buy more or free some first", n, s.PartNumber, max(s.Free(), 0))
		}
	}
	return q, nil
}

func sortedRowKeys(m map[string]map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func orWord(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// runAddUser creates one user, then licenses it, adds its aliases and
// copies groups. A later step's failure is reported, never hidden: the
// user exists by then and the technician must know what is missing.
func runAddUser(ctx context.Context, t Tenant, u User, p Params, env Env) (Outcome, error) {
	lc, err := need(t.Lifecycle, "user creation")
	if err != nil {
		return Outcome{}, err
	}
	r, err := rowFor(u.UPN, p)
	if err != nil {
		return Outcome{}, err
	}
	pw, err := env.Passwords.Password()
	if err != nil {
		return Outcome{}, err
	}
	pw = NewSecret(u.UPN+" password", pw.Reveal())
	nick, _, _ := strings.Cut(u.UPN, "@")
	n := NewUser{UPN: u.UPN, DisplayName: r["displayname"], GivenName: r["givenname"], Surname: r["surname"],
		MailNickname: nick, Password: pw, ForceChange: r["mustchangepass"] == "true", Fields: map[string]string{}}
	if r["usagelocation"] == "" {
		r["usagelocation"] = p["usagelocation-default"]
	}
	for _, f := range newUserFields {
		if v := r[f.name]; v != "" && f.graph != "" && f.graph != "displayName" && f.graph != "mailNickname" &&
			f.graph != "givenName" && f.graph != "surname" {
			if f.graph == "usageLocation" {
				v = strings.ToUpper(v)
			}
			n.Fields[f.graph] = v
		}
	}
	created, err := lc.CreateUser(ctx, n)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Summary: created.UPN + ": created", Secret: pw}
	var failed []string
	if ids := splitList(r["license-ids"]); len(ids) > 0 {
		if err := lc.AssignLicenses(ctx, created.ID, ids, nil); err != nil {
			failed = append(failed, "licences: "+ErrorMessage(err))
		} else {
			o.Lines = append(o.Lines, "Licensed: "+strings.ToUpper(strings.Join(splitList(r["licenses"]), ", ")))
		}
	}
	if aliases := splitList(r["addedaliasses"]); len(aliases) > 0 {
		if err := lc.AddAliases(ctx, created.ID, created.UPN, aliases); err != nil {
			failed = append(failed, "aliases: "+ErrorMessage(err))
		} else {
			o.Lines = append(o.Lines, "Aliases: "+strings.Join(aliases, ", "))
		}
	}
	if from := r["copyfrom-id"]; from != "" {
		added, later, errs := copyGroups(ctx, t, lc, from, created.ID)
		if added > 0 {
			o.Lines = append(o.Lines, fmt.Sprintf("Added to %d groups of %s", added, r["copyfrom"]))
		}
		if len(later) > 0 {
			o.Later = later
			o.Lines = append(o.Lines, fmt.Sprintf("%d distribution list(s) follow in 5 to 15 minutes, once Exchange knows the user; you will be told", len(later)))
		}
		failed = append(failed, errs...)
	}
	if n.ForceChange {
		o.Lines = append(o.Lines, "Must change the password at first sign-in.")
	}
	if len(failed) > 0 {
		o.Summary = created.UPN + ": created, but not everything was done"
		for _, f := range failed {
			o.Lines = append(o.Lines, "✗ "+f)
		}
	}
	return o, nil
}

// copyGroups adds user to the groups from is a direct member of: Graph
// groups at once; distribution lists and mail-enabled security groups,
// whose members change in Exchange Online, are left for later, since
// Exchange does not know a new user for minutes ("The service typically
// takes less than 30 minutes to provision a user",
// https://learn.microsoft.com/en-us/exchange/troubleshoot/user-and-shared-mailboxes/delays-provision-mailbox-sync-changes).
// Dynamic and on-premises groups refuse and are reported.
func copyGroups(ctx context.Context, t Tenant, lc Lifecycle, from, user string) (int, []Later, []string) {
	groups, err := lc.UserGroups(ctx, from)
	if err != nil {
		return 0, nil, []string{"groups: " + ErrorMessage(err)}
	}
	added := 0
	var later []Later
	var failed []string
	for _, g := range groups {
		var err error
		switch {
		case !g.Unified && g.MailEnabled && t.Exchange != nil:
			later = append(later, Later{Op: Op{Kind: OpAddDistributionMember, GroupID: g.ID, UserID: user}, What: "add to " + g.DisplayName})
			continue
		case !g.Unified && g.MailEnabled:
			err = cannotReach("Exchange Online")
		case t.Groups == nil:
			err = cannotReach("groups")
		default:
			err = t.Groups.AddGroupMember(ctx, g.ID, user)
		}
		switch {
		case err == nil, ErrorCode(err) == ECONFLICT:
			added++
		default:
			failed = append(failed, g.DisplayName+": "+ErrorMessage(err))
		}
	}
	return added, later, failed
}
