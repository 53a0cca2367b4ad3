package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// bucketJobs holds work left for later (bot.Job), by ID.
var bucketJobs = []byte("jobs")

// PutJob stores j, replacing any job with the same ID.
func (db *DB) PutJob(ctx context.Context, j bot.Job) error {
	if j.ID == "" {
		return errors.New("put job: empty ID")
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if err := put(tx, bucketJobs, []byte(j.ID), j); err != nil {
			return fmt.Errorf("put job %s: %w", j.ID, err)
		}
		return nil
	})
}

// Jobs returns every job, by ID.
func (db *DB) Jobs(ctx context.Context) ([]bot.Job, error) {
	var out []bot.Job
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return forEach(tx, bucketJobs, func(k, v []byte) error {
			var j bot.Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("job %s: %w", k, err)
			}
			out = append(out, j)
			return nil
		})
	})
	return out, err
}

// DeleteJob removes the job with the given ID; bot.ErrNotFound if there
// is none.
func (db *DB) DeleteJob(ctx context.Context, id string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketJobs)
		if bk == nil || bk.Get([]byte(id)) == nil {
			return fmt.Errorf("job %s: %w", id, bot.ErrNotFound)
		}
		return bk.Delete([]byte(id))
	})
}
