package actions

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret shows anywhere but the private-delivery path.
const redacted = "[redacted]"

// Secret is a generated password or temporary access pass together with a
// label saying whose it is. It redacts itself in fmt, JSON, text encoding and
// slog, so that a stray %v, log line or audit record cannot leak it. The
// value is read only through Reveal, which the bot calls on the private
// delivery path alone. The zero value is an empty secret.
type Secret struct {
	label string // e.g. "AdeleV@contoso.com password"; not secret
	value string
}

// NewSecret returns a Secret holding value, described by label.
func NewSecret(label, value string) Secret { return Secret{label: label, value: value} }

// Label returns the non-secret description of the secret.
func (s Secret) Label() string { return s.label }

// IsZero reports whether the secret holds no value.
func (s Secret) IsZero() bool { return s.value == "" }

// Reveal returns the secret value. Call it only to hand the value to the
// person it belongs to, privately.
func (s Secret) Reveal() string { return s.value }

// String implements fmt.Stringer and redacts.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer and redacts.
func (s Secret) GoString() string { return "actions.Secret{" + redacted + "}" }

// Format implements fmt.Formatter so every verb redacts, %x and %q included.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, redacted) }

// MarshalJSON implements json.Marshaler and redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler and redacts.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue implements slog.LogValuer and redacts.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
