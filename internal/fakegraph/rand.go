package fakegraph

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"unicode"
)

// newGUID returns a random version 4 GUID in lowercase.
func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Errorf("guid: %w", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

// stableGUID derives a GUID from parts, so seeded objects that are not
// listed explicitly still get the same id on every run.
func stableGUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

func formatGUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// isGUID reports whether s has the 8-4-4-4-12 hexadecimal shape.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int, alphabet string) string {
	max := big.NewInt(int64(len(alphabet)))
	out := make([]byte, n)
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Errorf("random string: %w", err))
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out)
}

const (
	lowerChars  = "abcdefghijkmnopqrstuvwxyz"
	upperChars  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	digitChars  = "23456789"
	symbolChars = "!@#$%*+=?"
)

// newTAP returns an eight character temporary access pass.
func newTAP() string {
	for {
		p := randomString(8, lowerChars+upperChars+digitChars+symbolChars)
		if passwordComplexityOK(p) {
			return p
		}
	}
}

// newPassword returns a random sixteen character password that satisfies
// the complexity rules.
func newPassword() string {
	for {
		p := randomString(16, lowerChars+upperChars+digitChars+symbolChars)
		if passwordClasses(p) == 4 {
			return p
		}
	}
}

// passwordClasses counts the character classes (lower, upper, digit,
// other) present in p.
func passwordClasses(p string) int {
	var lower, upper, digit, other bool
	for _, r := range p {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			n++
		}
	}
	return n
}

// passwordComplexityOK applies the cloud password rules: 8 to 256
// characters and at least three of the four character classes.
func passwordComplexityOK(p string) bool {
	n := len([]rune(p))
	return n >= 8 && n <= 256 && passwordClasses(p) >= 3
}
