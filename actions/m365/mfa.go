package m365

import (
	"context"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/cippbot/cippbot/actions"
)

// AuthMethods implements actions.Auth.
func (d *Directory) AuthMethods(ctx context.Context, userID string) ([]actions.AuthMethod, error) {
	r, err := d.client.Users().ByUserId(userID).Authentication().Methods().Get(ctx, nil)
	if err != nil {
		return nil, mapError(err, "authentication methods of "+userID)
	}
	var out []actions.AuthMethod
	for _, m := range r.GetValue() {
		t := deref(m.GetOdataType())
		kind := strings.TrimSuffix(strings.TrimPrefix(t, "#microsoft.graph."), "AuthenticationMethod")
		name := methodKind(m)
		if name == "" {
			name = kind
		}
		am := actions.AuthMethod{ID: deref(m.GetId()), Kind: kind, Name: name}
		// Only some method types say when they were registered.
		if c, ok := m.(interface{ GetCreatedDateTime() *time.Time }); ok && c.GetCreatedDateTime() != nil {
			am.Created = *c.GetCreatedDateTime()
		}
		out = append(out, am)
	}
	return out, nil
}

// DeleteAuthMethod implements actions.Auth:
// DELETE /users/{id}/authentication/{kind}Methods/{methodID}.
func (d *Directory) DeleteAuthMethod(ctx context.Context, userID string, m actions.AuthMethod) error {
	u := d.graphURL + "/v1.0/users/" + url.PathEscape(userID) + "/authentication/" + m.Kind + "Methods/" + url.PathEscape(m.ID)
	return mapError(d.raw(ctx, abs.DELETE, u, nil), m.Name+" of "+userID)
}

// SetMFAState implements actions.Auth with the beta
// PATCH /users/{id}/authentication/requirements, which v1.0 lacks.
func (d *Directory) SetMFAState(ctx context.Context, userID, state string) error {
	u := d.graphURL + "/beta/users/" + url.PathEscape(userID) + "/authentication/requirements"
	return mapError(d.raw(ctx, abs.PATCH, u, map[string]string{"perUserMfaState": state}), "MFA state of "+userID)
}
