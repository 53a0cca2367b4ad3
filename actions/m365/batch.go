package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

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
			d.clock().Sleep(ctx, wait)
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
	// Each write item counts against the tenant's write quota.
	writes := 0
	for _, i := range ids {
		if isWrite(reqs[i].Method.String()) {
			writes++
		}
	}
	if _, err := d.writes.take(ctx, writes); err != nil {
		for _, i := range ids {
			finish(i, itemResult{err: mapError(err, what[i])})
		}
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
				if isWrite(reqs[i].Method.String()) && writeQuotaHit(item.GetHeaders()) {
					d.writes.throttled()
				}
			}
			if round < maxItemRounds {
				h := http.Header{}
				for k, v := range item.GetHeaders() {
					h.Set(k, v)
				}
				delay, ok := retryAfter(h, d.clock().Now())
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

// usersPerRead is how many users one read names: $filter with "in" is
// limited to 15 expressions
// (https://learn.microsoft.com/en-us/graph/filter-query-parameter#operators-and-functions-supported-in-filter-expressions).
const usersPerRead = 15

// Users implements actions.Users: users whose state was read a moment
// ago (beside their roles in DirectoryRoles, or by an earlier Users) are
// taken from that read; of
// the rest, one is a GET, more are read 15 at a time with
// $filter=id in (…) (or userPrincipalName in (…) for names), those reads
// sent in $batch requests, so 1,000 users take 67 reads in 4 $batch
// requests instead of 1,000 reads in 50.
func (d *Directory) Users(ctx context.Context, ids []string) ([]actions.User, []error) {
	out, errs := make([]actions.User, len(ids)), make([]error, len(ids))
	var rest []int
	for i, id := range ids {
		if u, ok := actions.PrefetchFrom(ctx).TakeUser(d.tenantID, id, d.clock().Now(), stateFresh); ok {
			out[i] = u
		} else {
			rest = append(rest, i)
		}
	}
	// What is read here is kept for the run that usually follows a
	// request's lookup at once (a change that needs no approval).
	defer func() {
		var read []actions.User
		for _, i := range rest {
			if errs[i] == nil {
				read = append(read, out[i])
			}
		}
		actions.PrefetchFrom(ctx).PutUsers(d.tenantID, read, d.clock().Now())
	}()
	switch len(rest) {
	case 0:
		return out, errs
	case 1:
		i := rest[0]
		out[i], errs[i] = d.User(ctx, ids[i])
		return out, errs
	}
	restIDs := make([]string, len(rest))
	for k, i := range rest {
		restIDs[k] = ids[i]
	}
	urls, what, chunkOf := d.userListReads(restIDs)
	items, ierrs := d.allPages(ctx, urls, what)
	users, uerrs := userListResults(restIDs, items, ierrs, chunkOf)
	for k, i := range rest {
		out[i], errs[i] = users[k], uerrs[k]
	}
	return out, errs
}

// userListReads returns the list reads of users by ID or name, 15 a read,
// and for each lower-cased ID or name the index of its read.
func (d *Directory) userListReads(ids []string) (urls, what []string, chunkOf map[string]int) {
	var byID, byUPN []string
	for _, id := range ids {
		if isGUID(id) {
			byID = append(byID, id)
		} else {
			byUPN = append(byUPN, id)
		}
	}
	chunkOf = map[string]int{}
	for _, part := range []struct {
		prop string
		vals []string
	}{{"id", byID}, {"userPrincipalName", byUPN}} {
		for start := 0; start < len(part.vals); start += usersPerRead {
			chunk := part.vals[start:min(start+usersPerRead, len(part.vals))]
			quoted := make([]string, len(chunk))
			for i, v := range chunk {
				quoted[i] = "'" + odataQuote(v) + "'"
				chunkOf[strings.ToLower(v)] = len(urls)
			}
			urls = append(urls, d.v1("/users", "$filter", part.prop+" in ("+strings.Join(quoted, ",")+")",
				"$select", strings.Join(userSelect, ",")))
			what = append(what, fmt.Sprintf("users %s", strings.Join(chunk, ", ")))
		}
	}
	return urls, what, chunkOf
}

// userListResults matches the users of list reads to ids: a user not
// listed by a read that succeeded does not exist.
func userListResults(ids []string, items [][]json.RawMessage, ierrs []error, chunkOf map[string]int) ([]actions.User, []error) {
	out, errs := make([]actions.User, len(ids)), make([]error, len(ids))
	found := map[string]actions.User{}
	for k := range items {
		if ierrs[k] != nil {
			continue
		}
		for _, raw := range items[k] {
			var doc userDoc
			if err := json.Unmarshal(raw, &doc); err != nil {
				ierrs[k] = mapError(err, "users")
				continue
			}
			au := doc.user()
			found[strings.ToLower(au.ID)] = au
			found[strings.ToLower(au.UPN)] = au
		}
	}
	for i, id := range ids {
		k := chunkOf[strings.ToLower(id)]
		u, ok := found[strings.ToLower(id)]
		switch {
		case ok:
			out[i] = u
		case ierrs[k] != nil:
			errs[i] = ierrs[k]
		default:
			errs[i] = graphError(http.StatusNotFound, "Request_ResourceNotFound", "", "user "+id)
		}
	}
	return out, errs
}

// userDoc is a user of a list read, decoded directly: a thousand users
// decode several times faster than through the SDK's parse nodes. It
// reads what toUser does.
type userDoc struct {
	ID                    string  `json:"id"`
	UserPrincipalName     string  `json:"userPrincipalName"`
	DisplayName           *string `json:"displayName"`
	AccountEnabled        *bool   `json:"accountEnabled"`
	OnPremisesSyncEnabled *bool   `json:"onPremisesSyncEnabled"`
	OnPremisesImmutableID *string `json:"onPremisesImmutableId"`
	PasswordPolicies      *string `json:"passwordPolicies"`
	JobTitle              *string `json:"jobTitle"`
	Department            *string `json:"department"`
	Mail                  *string `json:"mail"`
}

func (u userDoc) user() actions.User {
	return actions.User{
		ID:               u.ID,
		UPN:              u.UserPrincipalName,
		DisplayName:      deref(u.DisplayName),
		Enabled:          u.AccountEnabled != nil && *u.AccountEnabled,
		Synced:           u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled,
		ImmutableID:      deref(u.OnPremisesImmutableID),
		PasswordPolicies: deref(u.PasswordPolicies),
		JobTitle:         deref(u.JobTitle),
		Department:       deref(u.Department),
		Mail:             deref(u.Mail),
	}
}

// stateFresh is how long users' state read beside their roles may stand
// in for a read of its own: the run that follows a role re-check, in the
// same request, takes it at once, and it is never used twice.
const stateFresh = 5 * time.Second

// isGUID reports whether s is an object ID (8-4-4-4-12 hex digits).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", c):
			return false
		}
	}
	return true
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

// Apply implements actions.Batch: one $batch request per op, sent in
// batches of 20 with throttled items retried.
func (d *Directory) Apply(ctx context.Context, ops []actions.Op, progress func(int)) []error {
	errs := make([]error, len(ops))
	if len(ops) == 1 {
		// One write needs no $batch envelope: send it as itself.
		if errs[0] = ctx.Err(); errs[0] == nil {
			errs[0] = d.write(ctx, ops[0])
			if progress != nil {
				progress(1)
			}
		}
		return errs
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

// write performs one op through the single-write method of its kind.
func (d *Directory) write(ctx context.Context, op actions.Op) error {
	switch op.Kind {
	case actions.OpUpdateUser:
		return d.UpdateUser(ctx, op.UserID, op.Update)
	case actions.OpDeleteUser:
		return d.DeleteUser(ctx, op.UserID)
	case actions.OpRevokeSessions:
		return d.RevokeSessions(ctx, op.UserID)
	case actions.OpAddGroupMember:
		return d.AddGroupMember(ctx, op.GroupID, op.UserID)
	case actions.OpRemoveGroupMember:
		return d.RemoveGroupMember(ctx, op.GroupID, op.UserID)
	}
	return actions.Errorf(actions.EINTERNAL, "unknown operation %d", op.Kind)
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
