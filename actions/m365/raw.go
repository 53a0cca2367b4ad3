package m365

import (
	"context"
	"encoding/json"
	"net/url"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

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
