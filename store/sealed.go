package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// bucketSealed holds the sealed blobs. It is created by the first Put, so
// files written before it existed need nothing.
var bucketSealed = []byte("sealed")

// MinSealKey is the shortest store key accepted, in bytes.
const MinSealKey = 32

// sealVersion is the first byte of every sealed value: AES-256-GCM under
// a key derived with HKDF-SHA256, a 12-byte random nonce, then the
// ciphertext and tag.
const sealVersion = 1

// ErrWrongKey is returned by Sealed.Get when a blob does not open under
// the key: the key is not the one it was sealed with, or the blob was
// altered.
var ErrWrongKey = errors.New("store: sealed data does not open with this store key (a different CIPPBOT_STORE_KEY, or the data was altered)")

// Sealed keeps named blobs in the database encrypted and authenticated
// with AES-256-GCM, for secrets cippbot must keep across restarts (the
// delegated mode's token cache). The key never leaves memory; a blob's
// name is bound to it as additional data, so blobs cannot be swapped. It
// is safe for concurrent use.
type Sealed struct {
	blobs Blobs
	aead  cipher.AEAD
}

// Blobs keeps named byte strings as they are given; Sealed encrypts them
// before they get there. Both stores (bbolt and PostgreSQL) implement it.
type Blobs interface {
	// PutBlob stores value under name, replacing what was there.
	PutBlob(ctx context.Context, name string, value []byte) error
	// Blob returns the value stored under name, nil if there is none.
	Blob(ctx context.Context, name string) ([]byte, error)
	// DeleteBlob removes name, if it is there.
	DeleteBlob(ctx context.Context, name string) error
}

// NewSealed returns sealed storage in blobs under key, which must be at
// least MinSealKey bytes; the AES key is derived from it with
// HKDF-SHA256, so a passphrase, hex or base64 key all work.
func NewSealed(blobs Blobs, key []byte) (*Sealed, error) {
	aead, err := newAEAD(key, "cippbot sealed store v1")
	if err != nil {
		return nil, err
	}
	return &Sealed{blobs: blobs, aead: aead}, nil
}

// newAEAD returns AES-256-GCM under a key derived from key for one use
// (info), so that values sealed for one use never open as another's.
func newAEAD(key []byte, info string) (cipher.AEAD, error) {
	if len(key) < MinSealKey {
		return nil, fmt.Errorf("store: the store key must be at least %d bytes, got %d", MinSealKey, len(key))
	}
	k, err := hkdf.Key(sha256.New, key, nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("store: derive key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal returns version, nonce, then plaintext sealed with ad.
func seal(aead cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return aead.Seal(out, nonce, plaintext, ad), nil
}

// unseal opens what seal made; ErrWrongKey if it does not open.
func unseal(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return nil, ErrWrongKey
	}
	plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

// Put seals plaintext and stores it under name, replacing what was there.
func (s *Sealed) Put(ctx context.Context, name string, plaintext []byte) error {
	out, err := seal(s.aead, plaintext, []byte(name))
	if err != nil {
		return fmt.Errorf("store: seal %s: %w", name, err)
	}
	if err := s.blobs.PutBlob(ctx, name, out); err != nil {
		return fmt.Errorf("store: seal %s: %w", name, err)
	}
	return nil
}

// Get opens the blob stored under name; it returns nil and no error when
// there is none, and ErrWrongKey when the blob does not open.
func (s *Sealed) Get(ctx context.Context, name string) ([]byte, error) {
	sealed, err := s.blobs.Blob(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("store: open sealed %s: %w", name, err)
	}
	if sealed == nil {
		return nil, nil
	}
	plain, err := unseal(s.aead, sealed, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("store: sealed %s: %w", name, err)
	}
	return plain, nil
}

// Delete removes the blob stored under name, if any.
func (s *Sealed) Delete(ctx context.Context, name string) error {
	return s.blobs.DeleteBlob(ctx, name)
}

// PutBlob implements Blobs in the bucket "sealed".
func (db *DB) PutBlob(ctx context.Context, name string, value []byte) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketSealed)
		if err != nil {
			return err
		}
		return bk.Put([]byte(name), bytes.Clone(value))
	})
}

// Blob implements Blobs.
func (db *DB) Blob(ctx context.Context, name string) ([]byte, error) {
	var out []byte
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if v := get(tx, bucketSealed, []byte(name)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}

// DeleteBlob implements Blobs.
func (db *DB) DeleteBlob(ctx context.Context, name string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if bk := tx.Bucket(bucketSealed); bk != nil {
			return bk.Delete([]byte(name))
		}
		return nil
	})
}
