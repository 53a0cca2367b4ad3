package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cippbot/cippbot/store"
)

// While serve runs it holds the database file's lock, and bbolt lets no
// other process open the file, not even to read: a reader the writer does
// not know of could see pages the writer reuses. So serve answers backups
// itself, on a Unix socket next to the database file (the file's name with
// ".backup.sock" appended, mode 0600): "cippbot backup" connects to it and
// receives a copy written from one read transaction. When serve is not
// running, "cippbot backup" opens the file itself.

// backupSocket returns the path of the backup socket for the database at
// dataPath.
func backupSocket(dataPath string) string { return dataPath + ".backup.sock" }

// backupListener serves backups of db on its socket until closed.
type backupListener struct {
	ln   net.Listener
	path string
	done chan struct{}
}

// listenBackup starts answering backups of db on the socket next to
// dataPath. serve holds the database's lock, so a socket left there is
// from a serve that died and is removed first.
func listenBackup(dataPath string, db *store.DB, log *slog.Logger) (*backupListener, error) {
	path := backupSocket(dataPath)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("backup socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("backup socket %s: %w", path, err)
	}
	bl := &backupListener{ln: ln, path: path, done: make(chan struct{})}
	go func() {
		defer close(bl.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := backupPeerAllowed(c); err != nil {
					log.Warn("backup refused", "err", err)
					return
				}
				start := time.Now()
				n, err := sendBackup(context.Background(), db, c)
				if err != nil {
					log.Warn("backup failed", "err", err)
					return
				}
				log.Info("backup sent", "bytes", n, "duration", time.Since(start).Round(time.Millisecond))
			}()
		}
	}()
	return bl, nil
}

// Close stops answering backups and removes the socket.
func (bl *backupListener) Close() error {
	err := bl.ln.Close()
	<-bl.done
	os.Remove(bl.path)
	return err
}

// sendBackup writes the copy's length (8 bytes, big-endian), then the copy.
func sendBackup(ctx context.Context, db *store.DB, w io.Writer) (int64, error) {
	return db.BackupSized(ctx, func(size int64) error {
		return binary.Write(w, binary.BigEndian, size)
	}, w)
}

// runBackup writes a consistent copy of the database to dst: from a
// running serve through its backup socket, or else from the file itself.
// The copy is written next to dst and renamed into place once complete and
// checked, so dst is never a partial copy.
func runBackup(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		return usageError{"usage: cippbot backup <file>"}
	}
	if usesPostgres(cfg) {
		return usageError{"backup copies the bbolt file; with CIPPBOT_STORE=postgres://… back the database up with PostgreSQL's tools (pg_dump)"}
	}
	dst := args[0]
	if abs, err := filepath.Abs(dst); err == nil {
		if data, err := filepath.Abs(cfg.DataPath); err == nil && abs == data {
			return usageError{"backup: the copy cannot replace the database itself"}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	from, n, err := copyBackup(ctx, cfg.DataPath, tmp)
	if err != nil {
		return fmt.Errorf("backup of %s: %w", cfg.DataPath, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := store.CheckFile(tmp.Name()); err != nil {
		return fmt.Errorf("backup: the copy does not check: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	fmt.Fprintf(stdout, "backup of %s written to %s (%d bytes, %s)\n", cfg.DataPath, dst, n, from)
	return nil
}

// copyBackup writes a copy of the database at dataPath to w and says where
// it came from.
func copyBackup(ctx context.Context, dataPath string, w io.Writer) (string, int64, error) {
	c, err := net.DialTimeout("unix", backupSocket(dataPath), 5*time.Second)
	if err == nil {
		defer c.Close()
		var size int64
		if err := binary.Read(c, binary.BigEndian, &size); err != nil {
			return "", 0, fmt.Errorf("from the running serve: %w", err)
		}
		n, err := io.Copy(w, c)
		if err != nil {
			return "", n, fmt.Errorf("from the running serve: %w", err)
		}
		if n != size {
			return "", n, fmt.Errorf("from the running serve: got %d of %d bytes", n, size)
		}
		return "from the running serve", n, nil
	}
	if _, serr := os.Stat(dataPath); serr != nil {
		return "", 0, serr
	}
	db, err := openStore(dataPath)
	if err != nil {
		if store.IsLocked(err) {
			return "", 0, fmt.Errorf("%w; and its backup socket %s does not answer", err, backupSocket(dataPath))
		}
		return "", 0, err
	}
	defer db.Close()
	n, err := db.Backup(ctx, w)
	return "from the file", n, err
}
