// Package actions is cippbot's catalogue of Microsoft 365 user-administration
// actions and their domain types: each action is declared once (name,
// aliases, parameters, risk, whether it takes many targets, whether it yields
// a secret) and help text, chat command registration and the approval policy
// are all derived from that declaration. Actions talk to a tenant only
// through the capabilities in Tenant; package m365 implements them over
// Microsoft Graph.
package actions

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Risk says how much harm an action can do, and so who may run it and
// whether a second technician must approve it.
type Risk int

// Risks, from least to most harmful.
const (
	RiskRead        Risk = iota // looks, changes nothing
	RiskChange                  // changes something that is easy to undo
	RiskDestructive             // locks someone out, deletes, or hands out a credential
)

// String returns "read", "change" or "destructive".
func (r Risk) String() string {
	switch r {
	case RiskRead:
		return "read"
	case RiskChange:
		return "change"
	case RiskDestructive:
		return "destructive"
	}
	return "risk(" + strconv.Itoa(int(r)) + ")"
}

// ParamKind is the type of a parameter's value.
type ParamKind int

// Parameter kinds.
const (
	ParamString ParamKind = iota // any text
	ParamBool                    // a --flag; value "true" or "false"
	ParamInt                     // a whole number within Min..Max
	ParamEnum                    // one of Choices
)

// Param declares one parameter of an action.
type Param struct {
	Name    string // lower-case, as typed: "lifetime", "must-change"
	Kind    ParamKind
	Summary string   // a few words for help and Discord option descriptions
	Choices []string // for ParamEnum
	// Positional reports whether the value may be given as a bare word after
	// the targets ("on", "Sales and Marketing") instead of name=value.
	Positional bool
	Required   bool
	// AllowEmpty lets name= stand for "clear it".
	AllowEmpty bool
	Min, Max   int // for ParamInt; both zero means unbounded
}

// Params holds parameter values by name, already checked against the
// action's declaration. Bool values are "true" or "false".
type Params map[string]string

// Bool reports whether the named boolean parameter is "true".
func (p Params) Bool(name string) bool { return p[name] == "true" }

// Int returns the named integer parameter and whether it was given.
func (p Params) Int(name string) (int, bool) {
	v, ok := p[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// Clone returns a copy of p.
func (p Params) Clone() Params {
	q := make(Params, len(p))
	for k, v := range p {
		q[k] = v
	}
	return q
}

// Action is the declaration of one action. Everything the bot shows or
// decides about an action is derived from it.
type Action struct {
	Name    string   // "reset-password"
	Aliases []string // "resetpw"
	Area    string   // where help lists it: "Users", "Sign-in", "MFA", "Groups"
	Summary string   // one line, for help
	// Example, if set, is help's example after "/cipp "; otherwise one is
	// made from the parameters.
	Example string
	Params  []Param
	Risk    Risk
	Bulk    bool // accepts many targets in one request
	Secret  bool // yields a secret that is delivered privately
	// Target says what the words naming users name: existing users (the
	// default), users to create, or soft-deleted users.
	Target TargetKind
	// Form, if non-nil, lets a request that does not say enough be
	// filled in as a form (add-user).
	Form *Form
	// FromFile, if non-nil, reads the files attached to a request as the
	// targets and parameters they give (bulk-add's CSV of users to
	// create), instead of as a list of users. The parameters are added to
	// those typed. Its errors must not quote the files, which may hold
	// anything (a key file attached by mistake).
	FromFile func(files []File) (targets []string, p Params, err error)
	// Permissions lists the Graph application permissions of which any
	// one lets the action work; "check" reports actions a tenant lacks.
	Permissions []string
	// AlsoPermissions lists permissions the action needs besides, every
	// one of them (reads whose documented permissions are a pair).
	AlsoPermissions []string
	// Roles lists the Microsoft Entra roles cippbot's app must also hold
	// for the action to work app-only, each the least privileged one
	// that will do (RoleAlternatives lists those that do as well); "check"
	// names the ones the app lacks. See approles.go for the sources.
	Roles []string
	// AdminRoles lists roles the app needs, besides Roles, to perform
	// the action on a user who holds an admin role (Microsoft's "Who can
	// perform sensitive actions").
	AdminRoles []string
	// DelegatedOnly, if non-empty, marks an action Microsoft allows only
	// with a signed-in admin (delegated access), which cippbot's
	// app-only access cannot do: requests are refused before anyone is
	// asked to approve, with this text saying what to do instead.
	DelegatedOnly string
	// AppOnlyCheck, if non-nil, runs besides Check on a connection
	// without a signed-in admin (app-only): it refuses, before approval,
	// the targets Microsoft lets only a signed-in admin change (a synced
	// user's password), saying what to do instead.
	AppOnlyCheck func(u User, p Params) error

	// Prepare, if non-nil, runs once per request before any approval is
	// asked: it checks parameters against the tenant and may resolve names to
	// object IDs (a group name to its ID), returning the parameters to pin to
	// the approval. It must not change anything.
	Prepare func(ctx context.Context, t Tenant, p Params) (Params, error)

	// Check, if non-nil, runs for each target before any approval is asked and
	// again right before Run; it refuses targets the action cannot change (a
	// user synced from on-premises). It must not change anything.
	Check func(u User, p Params) error

	// Groups, if non-nil, returns the IDs of the groups whose membership a
	// run on targets with p would change, so that a change which grants
	// privilege (a role-assignable group, one holding a directory role, a
	// Conditional Access exclusion) is treated as a privileged one. It
	// runs after Prepare, on the parameters Prepare returned, and must not
	// change anything.
	Groups func(ctx context.Context, t Tenant, targets []User, p Params) ([]string, error)

	// Slow marks actions whose run waits on a person (an MFA push): the
	// bot shows that it is waiting instead of staying silent.
	Slow bool

	// Plan, for actions whose effect on a target is one Graph write,
	// returns that write without doing it, so that a bulk run can batch
	// many. An action has Plan or Run.
	Plan func(u User, p Params, env Env) (Plan, error)

	// Run performs the action on one target, for actions that need more
	// than one write or read what they write.
	Run func(ctx context.Context, t Tenant, u User, p Params, env Env) (Outcome, error)
}

// Form describes the form an action can be filled in with instead of
// typed, and how a new user's address relates to its fields.
type Form struct {
	Title   string // the form's title: "New user"
	Heading string // the message that offers it: "Fill in the new user's details"
	// Typed shows how to type the fields instead, after "/cipp <action> ".
	Typed string
	// Fields lists the parameters the form asks for, in order; Required
	// those it must have; Long those that take several lines.
	Fields, Required, Long []string
	// User and Domain name the parameters that make the new user's
	// address, user@domain: a typed address fills them, a channel bound
	// to a tenant fills Domain with the tenant's domain, and a typed
	// address stands in for both among the required fields.
	User, Domain string
}

// Address returns the address of the user to create that p names, lower
// case, or "" if p lacks the user or the domain.
func (f *Form) Address(p Params) string {
	if p[f.User] == "" || p[f.Domain] == "" {
		return ""
	}
	return strings.ToLower(p[f.User] + "@" + p[f.Domain])
}

// File is a file attached to a request.
type File struct {
	Name string
	Data []byte
}

// Records reads f as a spreadsheet saves CSV: with or without Excel's
// byte-order mark, separated by semicolons where there are more of them
// than commas (European spreadsheets), rows of any length, lines
// starting with # skipped.
func (f File) Records() ([][]string, error) {
	data := bytes.TrimPrefix(f.Data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	if bytes.Count(data, []byte(";")) > bytes.Count(data, []byte(",")) {
		r.Comma = ';'
	}
	return r.ReadAll()
}

// TargetKind says what an action's target words name.
type TargetKind int

// Target kinds.
const (
	TargetUser    TargetKind = iota // users that exist
	TargetNew                       // users to create: none may exist yet
	TargetDeleted                   // soft-deleted users in the recycle bin
)

// Plan is what an action will do to one target.
type Plan struct {
	// Op is the write; nil means there is nothing to do.
	Op *Op
	// Outcome is reported when Op succeeds, or at once when Op is nil.
	Outcome Outcome
	// IfConflict, if non-nil, is reported instead of an ECONFLICT error
	// (adding a member who already is one); IfNotFound instead of an
	// ENOTFOUND one (removing a member who is not one).
	IfConflict *Outcome
	IfNotFound *Outcome
}

// Env holds what actions need besides the tenant.
type Env struct {
	// Passwords generates new passwords.
	Passwords PasswordGenerator
}

// Outcome is the result of an action on one target.
type Outcome struct {
	// Summary is one public line, most important fact first.
	Summary string
	// Lines are further public lines, short enough for a phone.
	Lines []string
	// Secret, if not zero, goes to the requester alone.
	Secret Secret
	// Partial marks an outcome of several steps some of which failed
	// (offboard); the steps are in Lines.
	Partial bool
	// Next are follow-up commands offered as buttons ("reset-password
	// a@contoso.com"); each runs under the usual approval rules.
	Next []Next
	// Later are writes the service cannot take yet (Exchange Online does
	// not know a new user for minutes): the bot keeps them and tries them
	// again on a schedule, telling the requester how they end.
	Later []Later
}

// Later is one write left for later.
type Later struct {
	Op   Op
	What string // "add to Sales DL", for the report
}

// Next is a follow-up command offered after an outcome.
type Next struct {
	Label   string
	Command string
	Danger  bool
}

// Param returns the declared parameter named name, or nil.
func (a *Action) Param(name string) *Param {
	for i := range a.Params {
		if a.Params[i].Name == name {
			return &a.Params[i]
		}
	}
	return nil
}

// Usage returns the one-line command synopsis, e.g.
// "reset-password <user@domain>… [--must-change]".
func (a *Action) Usage() string {
	var b strings.Builder
	b.WriteString(a.Name)
	b.WriteString(" <user@domain>")
	if a.Bulk {
		b.WriteString("…")
	}
	for _, p := range a.Params {
		b.WriteByte(' ')
		var s string
		switch {
		case p.Kind == ParamBool:
			s = "--" + p.Name
		case p.Positional && p.Kind == ParamEnum:
			s = strings.Join(p.Choices, "|")
		case p.Positional:
			s = "<" + p.Name + ">"
		case p.Kind == ParamEnum:
			s = p.Name + "=" + strings.Join(p.Choices, "|")
		default:
			s = p.Name + "=…"
		}
		if !p.Required {
			s = "[" + s + "]"
		}
		b.WriteString(s)
	}
	return b.String()
}

// Bind checks raw parameter input against the declaration and returns the
// normalized Params. positional holds the bare words after the targets, in
// order; named holds name=value pairs; flags holds --flag names. Every
// problem is an EINVALID error that says how to fix it.
func (a *Action) Bind(positional []string, named map[string]string, flags []string) (Params, error) {
	p := Params{}
	set := func(prm *Param, raw string) error {
		if _, dup := p[prm.Name]; dup {
			return Errorf(EINVALID, "%s is given twice", prm.Name)
		}
		v, err := prm.normalize(raw)
		if err != nil {
			return err
		}
		p[prm.Name] = v
		return nil
	}
	next := 0 // index of the next positional parameter to fill
	for _, w := range positional {
		for next < len(a.Params) && !a.Params[next].Positional {
			next++
		}
		if next == len(a.Params) {
			return nil, Errorf(EINVALID, "unexpected %q: usage is %s", w, a.Usage())
		}
		if err := set(&a.Params[next], w); err != nil {
			return nil, err
		}
		next++
	}
	for _, name := range sortedKeys(named) {
		prm := a.Param(name)
		if prm == nil {
			return nil, a.unknownParam(name)
		}
		if err := set(prm, named[name]); err != nil {
			return nil, err
		}
	}
	for _, name := range flags {
		prm := a.Param(name)
		if prm == nil || prm.Kind != ParamBool {
			return nil, a.unknownParam("--" + name)
		}
		if err := set(prm, "true"); err != nil {
			return nil, err
		}
	}
	for _, prm := range a.Params {
		if _, ok := p[prm.Name]; !ok && prm.Required {
			return nil, Errorf(EINVALID, "%s needs %s: usage is %s", a.Name, prm.Name, a.Usage())
		}
		if _, ok := p[prm.Name]; !ok && prm.Kind == ParamBool {
			p[prm.Name] = "false"
		}
	}
	return p, nil
}

func (a *Action) unknownParam(name string) error {
	return Errorf(EINVALID, "%s has no option %s: usage is %s", a.Name, name, a.Usage())
}

func (prm *Param) normalize(raw string) (string, error) {
	switch prm.Kind {
	case ParamBool:
		switch strings.ToLower(raw) {
		case "true", "yes", "on", "1":
			return "true", nil
		case "false", "no", "off", "0":
			return "false", nil
		}
		return "", Errorf(EINVALID, "%s is yes or no, not %q", prm.Name, raw)
	case ParamInt:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return "", Errorf(EINVALID, "%s must be a whole number, not %q", prm.Name, raw)
		}
		if (prm.Min != 0 || prm.Max != 0) && (n < prm.Min || n > prm.Max) {
			return "", Errorf(EINVALID, "%s must be between %d and %d", prm.Name, prm.Min, prm.Max)
		}
		return strconv.Itoa(n), nil
	case ParamEnum:
		v := strings.ToLower(raw)
		if slices.Contains(prm.Choices, v) {
			return v, nil
		}
		return "", Errorf(EINVALID, "%s is one of %s, not %q", prm.Name, strings.Join(prm.Choices, ", "), raw)
	}
	if strings.TrimSpace(raw) == "" && !prm.AllowEmpty {
		return "", Errorf(EINVALID, "%s is empty", prm.Name)
	}
	return raw, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Catalogue is an ordered set of actions, looked up by name or alias.
type Catalogue struct {
	list   []*Action
	byName map[string]*Action
}

// NewCatalogue returns a catalogue of the given actions. It panics on a
// duplicate name or alias, which is a programming error.
func NewCatalogue(list ...*Action) *Catalogue {
	c := &Catalogue{byName: map[string]*Action{}}
	for _, a := range list {
		for _, n := range append([]string{a.Name}, a.Aliases...) {
			if _, dup := c.byName[n]; dup {
				panic(fmt.Sprintf("actions: duplicate action name %q", n))
			}
			c.byName[n] = a
		}
		c.list = append(c.list, a)
	}
	return c
}

// Lookup returns the action named or aliased name, or nil.
func (c *Catalogue) Lookup(name string) *Action { return c.byName[strings.ToLower(name)] }

// All returns the actions in declaration order.
func (c *Catalogue) All() []*Action { return slices.Clone(c.list) }

// Names returns every name and alias, for "did you mean".
func (c *Catalogue) Names() []string { return sortedKeysA(c.byName) }

func sortedKeysA(m map[string]*Action) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
