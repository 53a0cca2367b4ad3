package fakediscord

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"time"
)

// discordEpoch is the first millisecond of 2015, where snowflakes count
// from.
const discordEpoch = 1420070400000

// newSnowflakeLocked returns a new snowflake whose timestamp part is
// Options.Now, strictly greater than every snowflake issued before.
func (s *Server) newSnowflakeLocked() string { return s.snowflakeAtLocked(s.opts.Now()) }

// snowflakeAtLocked is newSnowflakeLocked for a time the caller read.
func (s *Server) snowflakeAtLocked(at time.Time) string {
	ms := at.UnixMilli() - discordEpoch
	if ms < 0 {
		ms = 0
	}
	id := uint64(ms) << 22
	if id <= s.lastFlake {
		id = s.lastFlake + 1
	}
	s.lastFlake = id
	return strconv.FormatUint(id, 10)
}

// newToken returns an interaction token shaped like Discord's: URL-safe
// base64 of "interaction:<id>:<random>".
func newToken(id string) string {
	raw := "interaction:" + id + ":" + rand.Text() + rand.Text() + rand.Text()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func itoa(n int) string { return strconv.Itoa(n) }

// timestamp formats t as Discord's ISO 8601 timestamps.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}
