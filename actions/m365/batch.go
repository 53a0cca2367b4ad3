package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/cippbot/cippbot/actions"
)

// batchSize is Graph's limit of requests per $batch.
const batchSize = 20

// maxItemRounds bounds how often a throttled $batch item is sent again.
const maxItemRounds = 5

// itemResult is the answer to one request of a $batch.
type itemResult struct {
	status int
	body   []byte // JSON
	err    error  // set when the item failed for good
}

// runBatch sends reqs in $batch calls of up to 20, several in flight (the
// per-tenant limiter bounds them), and sends throttled items again after
// their Retry-After. Items that succeeded are never sent twice. what[i]
// names req i's object for error messages; done, if non-nil, is called
// with the count of items finished.
func (d *Directory) runBatch(ctx context.Context, reqs []*abs.RequestInformation, what []string, done func(int)) []itemResult {
	results := make([]itemResult, len(reqs))
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	var mu sync.Mutex
	finished := 0
	finish := func(i int, r itemResult) {
		mu.Lock()
		defer mu.Unlock()
		results[i] = r
		finished++
		if done != nil {
			done(finished)
		}
	}
	for round := 1; len(pending) > 0; round++ {
		var retry []int
		var wait time.Duration
		var wg sync.WaitGroup
		for start := 0; start < len(pending); start += batchSize {
			chunk := pending[start:min(start+batchSize, len(pending))]
			wg.Add(1)
			go func() {
				defer wg.Done()
				again, delay := d.sendChunk(ctx, reqs, what, chunk, round, finish)
				mu.Lock()
				retry = append(retry, again...)
				wait = max(wait, delay)
				mu.Unlock()
			}()
		}
		wg.Wait()
		pending = retry
		if len(pending) == 0 {
			break
		}
		if ctx.Err() == nil {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if err := ctx.Err(); err != nil {
			for _, i := range pending {
				finish(i, itemResult{err: mapError(err, what[i])})
			}
			break
		}
	}
	return results
}

// sendChunk sends one $batch and settles its items; it returns the items
// to send again and how long to wait first.
func (d *Directory) sendChunk(ctx context.Context, reqs []*abs.RequestInformation, what []string, chunk []int, round int,
	finish func(int, itemResult)) (again []int, wait time.Duration) {
	batch := msgraphgocore.NewBatchRequest(d.adapter)
	ids := make(map[string]int, len(chunk))
	for _, i := range chunk {
		item, err := batch.AddBatchRequestStep(*reqs[i])
		if err != nil {
			finish(i, itemResult{err: mapError(err, what[i])})
			continue
		}
		ids[deref(item.GetId())] = i
	}
	if len(ids) == 0 {
		return nil, 0
	}
	resp, err := batch.Send(ctx, d.adapter)
	if err != nil {
		for _, i := range ids {
			finish(i, itemResult{err: mapError(err, what[i])})
		}
		return nil, 0
	}
	for id, i := range ids {
		item := resp.GetResponseById(id)
		if item == nil || item.GetStatus() == nil {
			finish(i, itemResult{err: actions.Errorf(actions.EUNAVAILABLE, "Microsoft 365 did not answer for %s; try again", what[i])})
			continue
		}
		status := int(*item.GetStatus())
		body, _ := json.Marshal(item.GetBody())
		if retriable(status) {
			if status == http.StatusTooManyRequests {
				actions.TraceFrom(ctx).Throttle()
			}
			if round < maxItemRounds {
				h := http.Header{}
				for k, v := range item.GetHeaders() {
					h.Set(k, v)
				}
				delay, ok := retryAfter(h, time.Now())
				if !ok {
					delay = time.Duration(round) * time.Second
				}
				again = append(again, i)
				wait = max(wait, delay)
				continue
			}
		}
		if status >= 400 {
			finish(i, itemResult{status: status, body: body, err: itemError(status, body, what[i])})
			continue
		}
		finish(i, itemResult{status: status, body: body})
	}
	return again, wait
}

// itemError maps a failed $batch item's status and OData error body.
func itemError(status int, body []byte, what string) error {
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	ae := graphError(status, e.Error.Code, e.Error.Message, what)
	ae.RequestID = e.Error.InnerError.RequestID
	ae.Detail = fmt.Sprintf("graph %d %s: %s", status, e.Error.Code, e.Error.Message)
	if ae.RequestID != "" {
		ae.Detail += " request-id " + ae.RequestID
	}
	return ae
}

// Users implements actions.Directory with $batch GETs.
func (d *Directory) Users(ctx context.Context, ids []string) ([]actions.User, []error) {
	out, errs := make([]actions.User, len(ids)), make([]error, len(ids))
	if len(ids) == 1 {
		out[0], errs[0] = d.User(ctx, ids[0])
		return out, errs
	}
	reqs := make([]*abs.RequestInformation, len(ids))
	what := make([]string, len(ids))
	for i, id := range ids {
		what[i] = "user " + id
		ri, err := d.client.Users().ByUserId(id).ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userSelect},
		})
		if err != nil {
			return out, fill(errs, mapError(err, what[i]))
		}
		reqs[i] = ri
	}
	for i, r := range d.runBatch(ctx, reqs, what, nil) {
		if r.err != nil {
			errs[i] = r.err
			continue
		}
		u, err := parseUser(r.body)
		if err != nil {
			errs[i] = mapError(err, what[i])
			continue
		}
		out[i] = toUser(u)
	}
	return out, errs
}

func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func parseUser(body []byte) (models.Userable, error) {
	node, err := jsonser.NewJsonParseNode(body)
	if err != nil {
		return nil, err
	}
	v, err := node.GetObjectValue(models.CreateUserFromDiscriminatorValue)
	if err != nil {
		return nil, err
	}
	u, ok := v.(models.Userable)
	if !ok {
		return nil, fmt.Errorf("unexpected %T", v)
	}
	return u, nil
}

// Apply implements actions.Directory: one $batch request per op, sent in
// batches of 20 with throttled items retried.
func (d *Directory) Apply(ctx context.Context, ops []actions.Op, progress func(int)) []error {
	errs := make([]error, len(ops))
	if len(ops) == 1 {
		return actions.ApplyEach(ctx, d, ops, progress)
	}
	reqs := make([]*abs.RequestInformation, len(ops))
	what := make([]string, len(ops))
	for i, op := range ops {
		what[i] = "user " + op.UserID
		ri, err := d.opRequest(ctx, op)
		if err != nil {
			return fill(errs, mapError(err, what[i]))
		}
		reqs[i] = ri
	}
	for i, r := range d.runBatch(ctx, reqs, what, progress) {
		errs[i] = r.err
	}
	return errs
}

// opRequest builds the request of one op with the SDK's request builders,
// exactly as the single-write methods send it.
func (d *Directory) opRequest(ctx context.Context, op actions.Op) (*abs.RequestInformation, error) {
	user := d.client.Users().ByUserId(op.UserID)
	switch op.Kind {
	case actions.OpUpdateUser:
		return user.ToPatchRequestInformation(ctx, userPatch(op.Update), nil)
	case actions.OpDeleteUser:
		return user.ToDeleteRequestInformation(ctx, nil)
	case actions.OpRevokeSessions:
		return user.RevokeSignInSessions().ToPostRequestInformation(ctx, nil)
	case actions.OpAddGroupMember:
		return d.client.Groups().ByGroupId(op.GroupID).Members().Ref().ToPostRequestInformation(ctx, d.memberRef(op.UserID), nil)
	case actions.OpRemoveGroupMember:
		return d.client.Groups().ByGroupId(op.GroupID).Members().ByDirectoryObjectId(op.UserID).Ref().ToDeleteRequestInformation(ctx, nil)
	}
	return nil, fmt.Errorf("unknown operation %d", op.Kind)
}
