package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/cippbot/cippbot/actions"
)

var _ actions.Lifecycle = (*Directory)(nil)

// CreateUser implements actions.Lifecycle: POST /users, enabled, with the
// password profile and the other fields by their Graph names. The password
// never appears in the error, whatever Graph echoes back.
func (d *Directory) CreateUser(ctx context.Context, n actions.NewUser) (actions.User, error) {
	what := "user " + n.UPN
	body := models.NewUser()
	enabled := true
	body.SetAccountEnabled(&enabled)
	upn := n.UPN
	body.SetUserPrincipalName(&upn)
	fields := map[string]string{}
	for k, v := range n.Fields {
		fields[k] = v
	}
	nick := n.MailNickname
	if nick == "" {
		nick, _, _ = strings.Cut(n.UPN, "@")
	}
	// The typed fields win over Fields of the same name; an empty one
	// leaves Fields' value.
	for name, v := range map[string]string{"displayName": n.DisplayName, "givenName": n.GivenName, "surname": n.Surname, "mailNickname": nick} {
		if v != "" {
			fields[name] = v
		}
	}
	extra := map[string]any{}
	for name, v := range fields {
		switch name {
		case "displayName":
			body.SetDisplayName(&v)
		case "givenName":
			body.SetGivenName(&v)
		case "surname":
			body.SetSurname(&v)
		case "mailNickname":
			body.SetMailNickname(&v)
		case "accountEnabled", "userPrincipalName", "passwordProfile":
			// set above; a field cannot override them
		case "businessPhones":
			extra[name] = []string{v}
		default:
			extra[name] = v
		}
	}
	if len(extra) > 0 {
		body.SetAdditionalData(extra)
	}
	pp := models.NewPasswordProfile()
	pw := n.Password.Reveal()
	pp.SetPassword(&pw)
	force := n.ForceChange
	pp.SetForceChangePasswordNextSignIn(&force)
	body.SetPasswordProfile(pp)

	u, err := d.client.Users().Post(ctx, body, nil)
	if err != nil {
		err = mapError(err, what)
		var ae *actions.Error
		if errors.As(err, &ae) {
			switch detail := strings.ToLower(ae.Detail); {
			case strings.Contains(detail, "property userprincipalname already exists"):
				ae.Code, ae.Message = actions.ECONFLICT, fmt.Sprintf("%s already exists", what)
			case strings.Contains(detail, "already exists"):
				ae.Code, ae.Message = actions.ECONFLICT, fmt.Sprintf("%s cannot be created: its address or mail nickname %s already exists", what, nick)
			}
		}
		return actions.User{}, redact(err, pw)
	}
	created := toUser(u)
	// Graph answers with the default properties, accountEnabled not
	// among them.
	created.Enabled = true
	return created, nil
}

// redact removes secret, as sent and as JSON or XML would escape it, from
// the message and detail of err. Graph sometimes quotes the input it
// refuses.
func redact(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	var ae *actions.Error
	if !errors.As(err, &ae) {
		ae = &actions.Error{Code: actions.EINTERNAL, Message: "internal error", Detail: err.Error()}
	}
	forms := []string{secret}
	if b, jerr := json.Marshal(secret); jerr == nil && len(b) >= 2 {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	forms = append(forms, xmlEscape(secret), url.QueryEscape(secret))
	for _, f := range forms {
		if f == "" {
			continue
		}
		ae.Message = strings.ReplaceAll(ae.Message, f, "[redacted]")
		ae.Detail = strings.ReplaceAll(ae.Detail, f, "[redacted]")
	}
	return ae
}

// AddAliases implements actions.Lifecycle the way CIPP does (Add-CIPPAlias):
// PATCH /users/{id} {"mail": alias} for each alias, then {"mail": primary}.
// Exchange keeps every former primary address as a secondary smtp: one,
// and the UPN ends as the primary again.
func (d *Directory) AddAliases(ctx context.Context, userID, primary string, aliases []string) error {
	setMail := func(addr string) error {
		body := models.NewUser()
		body.SetMail(&addr)
		_, err := d.client.Users().ByUserId(userID).Patch(ctx, body, nil)
		return err
	}
	var added []string
	for _, a := range aliases {
		a = strings.TrimSpace(a)
		if a == "" || strings.EqualFold(a, primary) {
			continue
		}
		if err := setMail(a); err != nil {
			err = mapError(err, "alias "+a+" of "+userID)
			if len(added) > 0 {
				// The primary must be put back even if an alias failed.
				if perr := setMail(primary); perr != nil {
					d.log.WarnContext(ctx, "primary address not restored after a failed alias", "user", userID, "err", perr)
				}
			}
			return err
		}
		added = append(added, a)
	}
	if len(added) == 0 {
		return nil
	}
	return mapError(setMail(primary), "primary address of "+userID)
}

// deletedUser is a user in the recycle bin, as Graph lists it.
type deletedUser struct {
	ID          string    `json:"id"`
	UPN         string    `json:"userPrincipalName"`
	DisplayName string    `json:"displayName"`
	Deleted     time.Time `json:"deletedDateTime"`
}

// originalUPN returns the UPN the user had before deletion: Graph
// prefixes a deleted user's UPN with its object ID without dashes.
func (u deletedUser) originalUPN() string {
	prefix := strings.ReplaceAll(u.ID, "-", "")
	if len(u.UPN) > len(prefix) && strings.EqualFold(u.UPN[:len(prefix)], prefix) {
		return u.UPN[len(prefix):]
	}
	return u.UPN
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// DeletedUser implements actions.Lifecycle: every page of
// GET /directory/deletedItems/microsoft.graph.user, matched by object ID
// or by former UPN; the most recently deleted wins.
func (d *Directory) DeletedUser(ctx context.Context, idOrUPN string) (actions.User, time.Time, error) {
	what := "deleted user " + idOrUPN
	u := d.v1("/directory/deletedItems/microsoft.graph.user", "$select", "id,userPrincipalName,displayName,deletedDateTime")
	// A UPN copied from a listing of deleted users carries the prefix.
	key := deletedUser{UPN: idOrUPN}
	if len(idOrUPN) > 32 && isHex(idOrUPN[:32]) {
		key.ID = idOrUPN[:32]
	}
	var found *deletedUser
	err := pages(ctx, d, u, func(du deletedUser) bool {
		if strings.EqualFold(du.ID, idOrUPN) || strings.EqualFold(du.UPN, idOrUPN) || strings.EqualFold(du.originalUPN(), idOrUPN) ||
			key.ID != "" && strings.EqualFold(key.ID, strings.ReplaceAll(du.ID, "-", "")) && strings.EqualFold(du.originalUPN(), key.originalUPN()) {
			if found == nil || du.Deleted.After(found.Deleted) {
				found = &du
			}
		}
		return true
	})
	if err != nil {
		return actions.User{}, time.Time{}, mapError(err, what)
	}
	if found == nil {
		return actions.User{}, time.Time{}, actions.Errorf(actions.ENOTFOUND,
			"%s is not in the recycle bin (deleted users stay 30 days)", idOrUPN)
	}
	return actions.User{ID: found.ID, UPN: found.originalUPN(), DisplayName: found.DisplayName}, found.Deleted, nil
}

// RestoreUser implements actions.Lifecycle:
// POST /directory/deletedItems/{id}/restore, then the restored user with
// every property the actions read (the answer has only the defaults).
func (d *Directory) RestoreUser(ctx context.Context, id string) (actions.User, error) {
	what := "deleted user " + id
	obj, err := d.client.Directory().DeletedItems().ByDirectoryObjectId(id).Restore().Post(ctx, nil)
	if err != nil {
		err = mapError(err, what)
		var ae *actions.Error
		switch {
		case !errors.As(err, &ae):
		case strings.Contains(strings.ToLower(ae.Detail), "already exists"):
			ae.Code = actions.ECONFLICT
			ae.Message = fmt.Sprintf("another user now has the UPN or address of %s: rename or delete that one first", what)
		case ae.Code == actions.ENOTFOUND:
			ae.Message = fmt.Sprintf("%s is not in the recycle bin (deleted users stay 30 days)", id)
		}
		return actions.User{}, err
	}
	full, err := d.User(ctx, id)
	if err == nil {
		return full, nil
	}
	// The directory may not show the restored user for a moment yet.
	u, ok := obj.(models.Userable)
	if !ok {
		return actions.User{}, err
	}
	d.log.DebugContext(ctx, "restored user not readable yet", "user", id, "err", err)
	return toUser(u), nil
}

// SKUs implements actions.Lifecycle: GET /subscribedSkus.
func (d *Directory) SKUs(ctx context.Context) ([]actions.SKU, error) {
	r, err := d.client.SubscribedSkus().Get(ctx, nil)
	if err != nil {
		return nil, mapError(err, "the tenant's subscriptions")
	}
	var out []actions.SKU
	for _, s := range r.GetValue() {
		sku := actions.SKU{PartNumber: deref(s.GetSkuPartNumber())}
		if s.GetSkuId() != nil {
			sku.ID = s.GetSkuId().String()
		}
		if p := s.GetPrepaidUnits(); p != nil && p.GetEnabled() != nil {
			sku.Enabled = int(*p.GetEnabled())
		}
		if c := s.GetConsumedUnits(); c != nil {
			sku.Consumed = int(*c)
		}
		out = append(out, sku)
	}
	return out, nil
}

// UserSKUs implements actions.Lifecycle: GET /users/{id}/licenseDetails.
func (d *Directory) UserSKUs(ctx context.Context, userID string) ([]actions.SKU, error) {
	what := "licences of " + userID
	r, err := d.client.Users().ByUserId(userID).LicenseDetails().Get(ctx, nil)
	if err != nil {
		return nil, mapError(err, what)
	}
	var out []actions.SKU
	err = iterate(ctx, d, r, models.CreateLicenseDetailsCollectionResponseFromDiscriminatorValue, func(l models.LicenseDetailsable) bool {
		sku := actions.SKU{PartNumber: deref(l.GetSkuPartNumber())}
		if l.GetSkuId() != nil {
			sku.ID = l.GetSkuId().String()
		}
		out = append(out, sku)
		return true
	})
	if err != nil {
		return nil, mapError(err, what)
	}
	// Where each came from: licenseAssignmentStates, returned only on
	// $select, has one entry per assignment, assignedByGroup null for a
	// direct one
	// (https://learn.microsoft.com/en-us/graph/api/resources/licenseassignmentstate).
	var states struct {
		States []struct {
			SkuID           string  `json:"skuId"`
			AssignedByGroup *string `json:"assignedByGroup"`
		} `json:"licenseAssignmentStates"`
	}
	if err := d.send(ctx, abs.GET, d.v1("/users/"+url.PathEscape(userID), "$select", "id,licenseAssignmentStates"), nil, &states); err != nil {
		return nil, mapError(err, what)
	}
	names := map[string]string{}
	for i := range out {
		for _, st := range states.States {
			if !strings.EqualFold(st.SkuID, out[i].ID) {
				continue
			}
			if st.AssignedByGroup == nil || *st.AssignedByGroup == "" {
				out[i].Direct = true
				continue
			}
			gid := *st.AssignedByGroup
			name, ok := names[gid]
			if !ok {
				var g struct {
					DisplayName string `json:"displayName"`
				}
				if err := d.send(ctx, abs.GET, d.v1("/groups/"+url.PathEscape(gid), "$select", "id,displayName"), nil, &g); err == nil {
					name = g.DisplayName
				}
				if name == "" {
					name = gid
				}
				names[gid] = name
			}
			out[i].ByGroups = append(out[i].ByGroups, actions.Group{ID: gid, DisplayName: name})
		}
		if len(out[i].ByGroups) == 0 {
			out[i].Direct = true // no state says otherwise
		}
	}
	return out, nil
}

// skuInMessage finds the SKU ID Graph names in "Subscription with Sku
// {id} does not have any available licenses."
var skuInMessage = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// AssignLicenses implements actions.Lifecycle:
// POST /users/{id}/assignLicense {addLicenses:[{skuId, disabledPlans:[]}],
// removeLicenses:[skuId]}.
func (d *Directory) AssignLicenses(ctx context.Context, userID string, add, remove []string) error {
	what := "licences of " + userID
	type addLicense struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	}
	body := struct {
		Add    []addLicense `json:"addLicenses"`
		Remove []string     `json:"removeLicenses"`
	}{Add: []addLicense{}, Remove: []string{}}
	for _, id := range add {
		body.Add = append(body.Add, addLicense{SkuID: id, DisabledPlans: []string{}})
	}
	body.Remove = append(body.Remove, remove...)
	err := d.send(ctx, abs.POST, d.v1("/users/"+url.PathEscape(userID)+"/assignLicense"), body, nil)
	if err == nil {
		return nil
	}
	err = mapError(err, what)
	var ae *actions.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch detail := strings.ToLower(ae.Detail); {
	case strings.Contains(detail, "invalid usage location"):
		who := userID
		if u, uerr := d.User(ctx, userID); uerr == nil && u.UPN != "" {
			who = u.UPN
		}
		ae.Code = actions.EINVALID
		ae.Message = fmt.Sprintf("set a usage location first: edit-user %s usageLocation=US (the user's two-letter country)", who)
	case strings.Contains(detail, "does not have any available licenses"):
		name := ""
		if id := skuInMessage.FindString(ae.Detail); id != "" {
			name = id + " "
			if skus, serr := d.SKUs(ctx); serr == nil {
				for _, s := range skus {
					if strings.EqualFold(s.ID, id) {
						name = s.PartNumber + " "
						if n := skuName(s.PartNumber); n != s.PartNumber {
							name += "(" + n + ") "
						}
					}
				}
			}
		}
		ae.Code = actions.EINVALID
		ae.Message = fmt.Sprintf("no free %slicences left: buy more or remove one from a leaver", name)
	}
	return err
}

// UserGroups implements actions.Lifecycle: every page of
// GET /users/{id}/memberOf, groups only. (The cast
// memberOf/microsoft.graph.group would filter on the server; it is an
// advanced query, and the simulated tenant does not serve it.) No
// $select: the list is of directoryObjects, which have none of a group's
// properties until cast; a group's default properties carry what toGroup
// reads.
func (d *Directory) UserGroups(ctx context.Context, userID string) ([]actions.Group, error) {
	what := "groups of " + userID
	r, err := d.client.Users().ByUserId(userID).MemberOf().Get(ctx, nil)
	if err != nil {
		return nil, mapError(err, what)
	}
	var out []actions.Group
	err = iterate(ctx, d, r, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) bool {
		if g, ok := o.(models.Groupable); ok {
			out = append(out, toGroup(g))
		}
		return true
	})
	return out, mapError(err, what)
}

// iterate passes every item of resp and of the pages after it to fn,
// until fn returns false.
func iterate[T any](ctx context.Context, d *Directory, resp absser.Parsable, ctor absser.ParsableFactory, fn func(T) bool) error {
	it, err := msgraphgocore.NewPageIterator[T](resp, d.adapter, ctor)
	if err != nil {
		return err
	}
	return it.Iterate(ctx, fn)
}

// v1 returns the Graph v1.0 URL of path (escaped already) with the query
// options given as name, value pairs.
func (d *Directory) v1(path string, query ...string) string {
	return d.graphURL + "/v1.0" + path + odataQuery(query...)
}

// odataQuery renders name, value pairs as a query string ("" for none).
// Names are written as they are ($select); values are escaped, spaces as
// %20 since Graph reads a '+' in $filter literally.
func odataQuery(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(kv[i+1]), "+", "%20"))
	}
	return b.String()
}

// send sends a request the SDK has no fitting builder for on the same
// authenticated adapter and pipeline, and decodes the JSON answer into
// out, if non-nil. Graph errors come back as *odataerrors.ODataError.
func (d *Directory) send(ctx context.Context, method abs.HttpMethod, rawURL string, body, out any) error {
	if out == nil {
		return d.raw(ctx, method, rawURL, body)
	}
	ri, err := rawRequest(method, rawURL, body)
	if err != nil {
		return err
	}
	res, err := d.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return err
	}
	path, _, _ := strings.Cut(rawURL, "?")
	b, _ := res.([]byte)
	if len(b) == 0 {
		return fmt.Errorf("%s %s: empty answer", method, path)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// pages GETs rawURL and every @odata.nextLink after it, decoding each item
// of "value" into a T for fn, until fn returns false.
func pages[T any](ctx context.Context, d *Directory, rawURL string, fn func(T) bool) error {
	seen := []string{}
	for next := rawURL; next != ""; {
		if slices.Contains(seen, next) {
			return fmt.Errorf("paging loops at %s", next)
		}
		seen = append(seen, next)
		var page struct {
			Value []json.RawMessage `json:"value"`
			Next  string            `json:"@odata.nextLink"`
		}
		if err := d.send(ctx, abs.GET, next, nil, &page); err != nil {
			return err
		}
		for _, raw := range page.Value {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			if !fn(v) {
				return nil
			}
		}
		next = page.Next
	}
	return nil
}

// retell replaces the message of err when its code is code: the words
// that fit the call better than mapError's general ones.
func retell(err error, code, message string) error {
	var ae *actions.Error
	if errors.As(err, &ae) && ae.Code == code {
		ae.Message = message
	}
	return err
}
