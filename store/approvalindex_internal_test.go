package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// ApprovalIndexProblems compares the approval indexes with the approvals
// and says, one line each, where they disagree; nil if they agree.
var ApprovalIndexProblems = func(db *DB, ctx context.Context) ([]string, error) {
	var problems []string
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		byTime, act := tx.Bucket(bucketApprovalsByTime), tx.Bucket(bucketApprovalsActive)
		if byTime == nil || act == nil {
			problems = append(problems, "an index bucket is missing")
			return nil
		}
		approvals, actives := 0, 0
		err := forEach(tx, bucketApprovals, func(k, v []byte) error {
			var a bot.Approval
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			approvals++
			if v := byTime.Get(approvalTimeKey(a.CreatedAt, a.ID)); v == nil {
				problems = append(problems, fmt.Sprintf("%s: not in the index by time", a.ID))
			} else if !bytes.Equal(v, encodeStamp(a)) {
				problems = append(problems, fmt.Sprintf("%s: its stamp in the index by time is %q", a.ID, v))
			}
			s := act.Get(k)
			switch {
			case active(a.State) && string(s) != string(a.State):
				problems = append(problems, fmt.Sprintf("%s: %s, but the active index says %q", a.ID, a.State, s))
			case !active(a.State) && s != nil:
				problems = append(problems, fmt.Sprintf("%s: %s, but in the active index as %q", a.ID, a.State, s))
			}
			if active(a.State) {
				actives++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n := byTime.Stats().KeyN; n != approvals {
			problems = append(problems, fmt.Sprintf("%d keys in the index by time for %d approvals", n, approvals))
		}
		if n := act.Stats().KeyN; n != actives {
			problems = append(problems, fmt.Sprintf("%d keys in the active index for %d pending or running approvals", n, actives))
		}
		return nil
	})
	return problems, err
}
