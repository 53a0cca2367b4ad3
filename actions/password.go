package actions

import (
	"io"
	"strings"

	"github.com/sethvargo/go-password/password"
)

// PasswordGenerator makes new passwords.
type PasswordGenerator interface {
	// Password returns a new random password.
	Password() (Secret, error)
}

// The character pool leaves out look-alikes (I, J, O, Q, 0, 1, i, j, l, o,
// p, q) so a password read off a phone can be typed without doubt.
const (
	poolUpper   = "ABCDEFGHKLMNPRSTUVWXYZ"
	poolLower   = "abcdefghkmnrstuvwxyz"
	poolDigits  = "23456789"
	poolSymbols = "$%&*#"
)

// Passwords generates passwords of Length characters (14 if zero) with at
// least one upper-case letter, lower-case letter, digit and symbol.
type Passwords struct {
	Length int
	// Rand, if non-nil, replaces crypto/rand (for tests only).
	Rand io.Reader
}

// Password implements PasswordGenerator.
func (g Passwords) Password() (Secret, error) {
	n := g.Length
	if n == 0 {
		n = 14
	}
	if n < 8 {
		return Secret{}, Errorf(EINVALID, "a password needs at least 8 characters")
	}
	gen, err := password.NewGenerator(&password.GeneratorInput{
		LowerLetters: poolLower,
		UpperLetters: poolUpper,
		Digits:       poolDigits,
		Symbols:      poolSymbols,
		Reader:       g.Rand,
	})
	if err != nil {
		return Secret{}, err
	}
	digits, symbols := 2, 2
	for range 100 {
		pw, err := gen.Generate(n, digits, symbols, false, true)
		if err != nil {
			return Secret{}, err
		}
		// Generate draws letters from both cases without promising either.
		if strings.ContainsAny(pw, poolUpper) && strings.ContainsAny(pw, poolLower) {
			return NewSecret("password", pw), nil
		}
	}
	return Secret{}, Errorf(EINTERNAL, "password generator failed to mix letter cases")
}
