package m365

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/cippbot/cippbot/actions"
)

// RemoveGroupMember implements actions.Directory.
func (d *Directory) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	err := d.client.Groups().ByGroupId(groupID).Members().ByDirectoryObjectId(userID).Ref().Delete(ctx, nil)
	return mapError(err, "membership of "+userID)
}

// AuthMethods implements actions.Directory.
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

// errorMapping makes raw requests return *odataerrors.ODataError, as the
// SDK's own builders do.
var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// raw sends a request the SDK has no builder for (every method type's
// collection, the beta MFA requirements) on the same authenticated
// adapter and pipeline, expecting no answer body.
func (d *Directory) raw(ctx context.Context, method abs.HttpMethod, rawURL string, body any) error {
	ri, err := rawRequest(method, rawURL, body)
	if err != nil {
		return err
	}
	return d.adapter.SendNoContent(ctx, ri, errorMapping)
}

// rawRequest builds a request for raw and send: JSON in and out, the URL
// set as is (SetUri, not a template: the adapter puts its own v1.0 base
// into any {+baseurl}).
func rawRequest(method abs.HttpMethod, rawURL string, body any) (*abs.RequestInformation, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	ri := abs.NewRequestInformation()
	ri.Method = method
	ri.SetUri(*u)
	ri.Headers.TryAdd("Accept", "application/json")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		ri.Content = b
		ri.Headers.TryAdd("Content-Type", "application/json")
	}
	return ri, nil
}

// DeleteAuthMethod implements actions.Directory:
// DELETE /users/{id}/authentication/{kind}Methods/{methodID}.
func (d *Directory) DeleteAuthMethod(ctx context.Context, userID string, m actions.AuthMethod) error {
	u := d.graphURL + "/v1.0/users/" + url.PathEscape(userID) + "/authentication/" + m.Kind + "Methods/" + url.PathEscape(m.ID)
	return mapError(d.raw(ctx, abs.DELETE, u, nil), m.Name+" of "+userID)
}

// SetMFAState implements actions.Directory with the beta
// PATCH /users/{id}/authentication/requirements, which v1.0 lacks.
func (d *Directory) SetMFAState(ctx context.Context, userID, state string) error {
	u := d.graphURL + "/beta/users/" + url.PathEscape(userID) + "/authentication/requirements"
	return mapError(d.raw(ctx, abs.PATCH, u, map[string]string{"perUserMfaState": state}), "MFA state of "+userID)
}
