package store

// SkipFsync makes an open db skip bbolt's fsync after each commit, for
// tests whose files die with them: a crash could lose or damage the file,
// which tests of durability must not use. It lasts until db is closed.
func SkipFsync(db *DB) {
	if b := db.bolt.Load(); b != nil {
		b.NoSync = true
	}
}
