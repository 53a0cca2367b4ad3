package store

import (
	"context"
	"errors"
	"io"

	"go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database to w, from one read
// transaction, while other transactions go on; the copy is a bbolt file that
// Open accepts. It returns the number of bytes written.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupSized is Backup that first calls size with the length of the copy
// it is about to write, from the same read transaction.
func (db *DB) BackupSized(ctx context.Context, size func(int64) error, w io.Writer) (int64, error) {
	var n int64
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if err := size(tx.Size()); err != nil {
			return err
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// CheckFile checks, without opening it as a database, that the file at path
// is a whole bbolt file (as Open does before opening it): a *DamagedError if
// it is empty, cut short or overwritten.
func CheckFile(path string) error {
	return checkFile(path)
}

// IsLocked reports whether err says the database file is held by another
// process.
func IsLocked(err error) bool {
	var le *lockedError
	return errors.As(err, &le)
}
