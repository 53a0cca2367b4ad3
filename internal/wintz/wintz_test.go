package wintz

import (
	"testing"
	"time"
)

// Every zone of the table loads, and a few land where they should.
func TestEveryZoneLoads(t *testing.T) {
	for w, iana := range zones {
		if _, err := Location(w); err != nil {
			t.Errorf("%s (%s): %v", w, iana, err)
		}
	}
	at := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	for w, offset := range map[string]int{"W. Europe Standard Time": 1, "Pacific Standard Time": -8, "Egypt Standard Time": 2,
		"india standard time": 5, "UTC": 0, "AUS Eastern Standard Time": 11} {
		loc, err := Location(w)
		if err != nil {
			t.Fatalf("%s: %v", w, err)
		}
		if _, off := at.In(loc).Zone(); off/3600 != offset {
			t.Errorf("%s: offset %ds, want %dh", w, off, offset)
		}
	}
	if _, err := Location("Mars Standard Time"); err == nil {
		t.Error("an unknown name loads")
	}
	if n, ok := Name("w. europe standard time"); !ok || n != "W. Europe Standard Time" {
		t.Errorf("Name = %q %v", n, ok)
	}
}
