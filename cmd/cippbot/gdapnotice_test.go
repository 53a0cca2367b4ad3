package main

import (
	"errors"
	"testing"
)

// TestGDAPSource_TellsOncePerDegradation: the token layer reports each
// change of health; the admins hear of a degradation once, of the
// recovery once, and of one that began before serve could tell them as
// soon as it can.
func TestGDAPSource_TellsOncePerDegradation(t *testing.T) {
	t.Parallel()
	var told []error
	src := &gdapSource{}
	revoked := errors.New("gdap: AADSTS50173: … run `cippbot login` again")
	src.degradedChanged(revoked) // before the bot exists: nobody to tell yet
	src.setTell(func(err error) { told = append(told, err) })
	if len(told) != 0 {
		t.Fatalf("told %v without a token layer to ask", told)
	}
	for range 3 {
		src.degradedChanged(revoked)
	}
	src.degradedChanged(nil)
	src.degradedChanged(nil)
	src.degradedChanged(revoked)
	if len(told) != 3 || told[0] != revoked || told[1] != nil || told[2] != revoked {
		t.Errorf("told %v; want the degradation, the recovery, the next degradation", told)
	}
	var none *gdapSource
	none.setTell(func(error) { t.Error("app-only mode told the admins") })
}
