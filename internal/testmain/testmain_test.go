package testmain

import (
	"flag"
	"testing"
)

// TestParallel: the default is replaced, a value the command line gave
// is kept.
func TestParallel(t *testing.T) {
	fs := flag.CommandLine
	t.Cleanup(func() { flag.CommandLine = fs })

	flag.CommandLine = flag.NewFlagSet("a", flag.ContinueOnError)
	p := flag.CommandLine.Int("test.parallel", 2, "")
	must(t, flag.CommandLine.Parse(nil))
	Parallel(8)
	if *p != 8 {
		t.Errorf("default: parallel %d, want 8", *p)
	}

	flag.CommandLine = flag.NewFlagSet("b", flag.ContinueOnError)
	p = flag.CommandLine.Int("test.parallel", 2, "")
	must(t, flag.CommandLine.Parse([]string{"-test.parallel=3"}))
	Parallel(8)
	if *p != 3 {
		t.Errorf("chosen: parallel %d, want 3", *p)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
