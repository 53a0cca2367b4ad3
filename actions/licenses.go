package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// findSKU returns the tenant's subscription with the SKU part number
// name, or an ENOTFOUND error that lists the ones it has.
func findSKU(skus []SKU, name string) (SKU, error) {
	i := slices.IndexFunc(skus, func(s SKU) bool { return strings.EqualFold(s.PartNumber, name) })
	if i < 0 {
		have := make([]string, len(skus))
		for j, s := range skus {
			have[j] = s.PartNumber
		}
		return SKU{}, Errorf(ENOTFOUND, "the tenant has no %s licences; it has %s", name, strings.Join(have, ", "))
	}
	return skus[i], nil
}

// licenseParams are the parameters of add-license and remove-license.
var licenseParams = []Param{
	{Name: "licenses", Kind: ParamString, Positional: true, Required: true, Summary: "SKU part numbers, e.g. ENTERPRISEPACK"},
}

// prepareLicenses resolves SKU part numbers to IDs; adding needs free
// licences.
func prepareLicenses(adding bool) func(context.Context, Tenant, Params) (Params, error) {
	return func(ctx context.Context, t Tenant, p Params) (Params, error) {
		lc, err := need(t.Lifecycle, "licences")
		if err != nil {
			return nil, err
		}
		skus, err := lc.SKUs(ctx)
		if err != nil {
			return nil, err
		}
		var ids, names []string
		for _, n := range splitList(p["licenses"]) {
			sku, err := findSKU(skus, n)
			if err != nil {
				return nil, err
			}
			if adding && sku.Free() <= 0 {
				return nil, Errorf(ECONFLICT, "no %s licences are free: buy more or free one first", sku.PartNumber)
			}
			ids, names = append(ids, sku.ID), append(names, sku.PartNumber)
		}
		if len(ids) == 0 {
			return nil, Errorf(EINVALID, "name the licences by SKU part number, e.g. ENTERPRISEPACK")
		}
		q := p.Clone()
		q["licenses"], q["license-ids"] = strings.Join(names, ","), strings.Join(ids, ",")
		return q, nil
	}
}

var addLicense = &Action{
	Example:     "add-license AdeleV@contoso.com ENTERPRISEPACK",
	Name:        "add-license",
	Area:        "Users",
	Summary:     "Assign licences by SKU part number",
	Params:      licenseParams,
	Permissions: permUserWrite,
	Risk:        RiskChange,
	Bulk:        true,
	Prepare:     prepareLicenses(true),
	Run: func(ctx context.Context, t Tenant, u User, p Params, _ Env) (Outcome, error) {
		lc, err := need(t.Lifecycle, "licences")
		if err != nil {
			return Outcome{}, err
		}
		if err := lc.AssignLicenses(ctx, u.ID, splitList(p["license-ids"]), nil); err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: fmt.Sprintf("%s: licensed %s", u.UPN, strings.ReplaceAll(p["licenses"], ",", ", "))}, nil
	},
}

var removeLicense = &Action{
	Example:     "remove-license AdeleV@contoso.com ENTERPRISEPACK reason=\"left the company\"",
	Name:        "remove-license",
	Area:        "Users",
	Summary:     "Remove licences by SKU part number",
	Params:      licenseParams,
	Permissions: permUserWrite,
	Risk:        RiskDestructive,
	Bulk:        true,
	Prepare:     prepareLicenses(false),
	Run: func(ctx context.Context, t Tenant, u User, p Params, _ Env) (Outcome, error) {
		lc, err := need(t.Lifecycle, "licences")
		if err != nil {
			return Outcome{}, err
		}
		has, err := lc.UserSKUs(ctx, u.ID)
		if err != nil {
			return Outcome{}, err
		}
		// Only direct assignments can be removed from the user; a licence a
		// group assigns goes when the user leaves the group.
		var remove, names, viaGroups []string
		var next []Next
		found := false
		for _, id := range splitList(p["license-ids"]) {
			i := slices.IndexFunc(has, func(s SKU) bool { return s.ID == id })
			if i < 0 {
				continue
			}
			found = true
			s := has[i]
			if s.Direct {
				remove, names = append(remove, id), append(names, s.PartNumber)
			}
			if len(s.ByGroups) > 0 {
				how := "comes from"
				if s.Direct {
					how = "still comes from"
				}
				viaGroups = append(viaGroups, fmt.Sprintf("%s %s group %s: remove them from it to take it away", s.PartNumber, how, s.GroupNames()))
				for _, g := range s.ByGroups {
					next = append(next, Next{Label: "Remove from " + g.DisplayName, Command: fmt.Sprintf("remove-from-group %s %q", u.UPN, g.DisplayName), Danger: true})
				}
			}
		}
		if !found {
			return Outcome{Summary: fmt.Sprintf("%s: had none of %s", u.UPN, p["licenses"])}, nil
		}
		if len(remove) > 0 {
			if err := lc.AssignLicenses(ctx, u.ID, nil, remove); err != nil {
				return Outcome{}, err
			}
		}
		if len(remove) == 0 {
			return Outcome{Summary: fmt.Sprintf("%s: nothing removed; licensed through a group", u.UPN),
				Lines: viaGroups, Partial: true, Next: next}, nil
		}
		o := Outcome{Summary: fmt.Sprintf("%s: removed %s", u.UPN, strings.Join(names, ", ")),
			Lines: append(viaGroups, "A mailbox without a licence is deleted after 30 days unless it is shared."), Next: next}
		o.Partial = len(viaGroups) > 0
		return o, nil
	},
}
