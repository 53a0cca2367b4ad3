package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"time"

	"go.etcd.io/bbolt"
)

// bbolt's on-disk format (go.etcd.io/bbolt, internal/common): every page
// starts with a 16-byte header; pages 0 and 1 each hold a meta record right
// after it, the two written alternately so that one survives a torn write.
// The meta record is magic, version, page size, flags (4 bytes each), the
// root bucket (page id and sequence, 8 bytes each), the freelist page id,
// the high-water page id (pages in use), the transaction id, and an FNV-64a
// checksum of everything before it, all in the machine's byte order
// (little-endian on every platform cippbot is built for).
const (
	boltPageHeader   = 16
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltMetaChecked  = 56 // bytes of meta covered by the checksum
	boltMetaSize     = boltMetaChecked + 8
	boltMinPageSize  = 1024
	boltMaxPageSize  = 1 << 20
	boltNoFreelist   = ^uint64(0)
	boltMinFilePages = 4 // two meta pages, a freelist page and the root leaf
)

// DamagedError says the database file exists but cannot be used as it is:
// it is empty, cut short or overwritten. Open returns it instead of starting
// afresh or letting bbolt crash on it.
type DamagedError struct {
	Path   string
	Reason string
	Err    error // the cause, if any
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("database file %s is damaged (%s); it was left as it is: restore from a backup (see cippbot backup), or move it away to start an empty store", e.Path, e.Reason)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// boltMeta is the part of a meta page that validation needs.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

// parseMeta decodes the meta record of the page that starts at buf and
// checks its magic, version and checksum as bbolt does.
func parseMeta(buf []byte) (boltMeta, error) {
	if len(buf) < boltPageHeader+boltMetaSize {
		return boltMeta{}, errors.New("short page")
	}
	m := buf[boltPageHeader : boltPageHeader+boltMetaSize]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("not a bbolt meta page")
	}
	if v := le.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt format version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaChecked])
	if h.Sum64() != le.Uint64(m[boltMetaChecked:]) {
		return boltMeta{}, errors.New("meta page checksum mismatch")
	}
	return boltMeta{
		pageSize: le.Uint32(m[8:]),
		root:     le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]),
		pgid:     le.Uint64(m[40:]),
		txid:     le.Uint64(m[48:]),
	}, nil
}

// checkFile checks, without mapping it into memory, that the file at path
// can be handed to bbolt: that it is a whole number of pages, at least four,
// that a meta page is intact, and that the file holds every page that meta
// page says is in use. bbolt itself panics, or dies of SIGBUS, on a file
// that fails these checks. It returns fs.ErrNotExist (wrapped) if there is
// no file, and a *DamagedError if the file is not usable.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	damaged := func(reason string, err error) error { return &DamagedError{Path: path, Reason: reason, Err: err} }
	size := fi.Size()
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	if size == 0 {
		return damaged("it is empty (0 bytes)", nil)
	}
	// Page 0 tells the page size; if it is damaged, page 1 is looked for
	// at each possible page size.
	head := make([]byte, boltPageHeader+boltMetaSize)
	var (
		metas   []boltMeta
		lastErr error
	)
	read := func(off int64) {
		if _, err := f.ReadAt(head, off); err != nil {
			if !errors.Is(err, io.EOF) {
				lastErr = err
			}
			return
		}
		m, err := parseMeta(head)
		if err != nil {
			lastErr = err
			return
		}
		if m.pageSize < boltMinPageSize || m.pageSize > boltMaxPageSize || m.pageSize&(m.pageSize-1) != 0 {
			lastErr = fmt.Errorf("page size %d", m.pageSize)
			return
		}
		if len(metas) == 1 && metas[0].pageSize != m.pageSize {
			lastErr = errors.New("meta pages disagree on the page size")
			return
		}
		metas = append(metas, m)
	}
	read(0)
	if len(metas) == 1 {
		read(int64(metas[0].pageSize))
	} else {
		for ps := int64(boltMinPageSize); ps <= boltMaxPageSize && len(metas) == 0; ps *= 2 {
			read(ps)
		}
	}
	if len(metas) == 0 {
		if lastErr == nil {
			lastErr = fmt.Errorf("%d bytes is shorter than a meta page", size)
		}
		return damaged("not a usable cippbot database: no intact bbolt meta page: "+lastErr.Error(), lastErr)
	}
	ps := int64(metas[0].pageSize)
	if size%ps != 0 {
		return damaged(fmt.Sprintf("%d bytes is not a whole number of %d-byte pages; it was cut short", size, ps), nil)
	}
	if size < boltMinFilePages*ps {
		return damaged(fmt.Sprintf("%d bytes is fewer than %d pages", size, boltMinFilePages), nil)
	}
	// bbolt uses the meta page with the newest transaction that is valid;
	// every page it refers to must be in the file.
	best := metas[0]
	for _, m := range metas[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	pages := uint64(size / ps)
	switch {
	case best.pgid > pages:
		return damaged(fmt.Sprintf("it has %d pages but uses %d; it was cut short", pages, best.pgid), nil)
	case best.root < 2 || best.root >= best.pgid:
		return damaged(fmt.Sprintf("root page %d is outside the %d pages in use", best.root, best.pgid), nil)
	case best.freelist != boltNoFreelist && (best.freelist < 2 || best.freelist >= best.pgid):
		return damaged(fmt.Sprintf("freelist page %d is outside the %d pages in use", best.freelist, best.pgid), nil)
	}
	return nil
}

// fileExists reports whether something exists at path; errors other than
// not existing count as existing, so that Open reports them.
func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// openBolt opens the bbolt file, turning a panic or a memory fault inside
// bbolt (which a damaged file can cause despite checkFile) into a
// *DamagedError.
func openBolt(path string, timeout time.Duration) (*bbolt.DB, error) {
	var b *bbolt.DB
	err := guardBolt(path, func() error {
		var err error
		b, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
		return err
	})
	return b, err
}

// guardBolt runs fn, which reads or writes the bbolt file, and turns a panic
// in it, or a fault reading the mapped file (SIGBUS on a file cut short),
// into a *DamagedError naming path.
func guardBolt(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			err = &DamagedError{Path: path, Reason: fmt.Sprintf("reading it failed: %v", p)}
		}
	}()
	return fn()
}
