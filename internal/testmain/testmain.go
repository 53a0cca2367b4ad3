// Package testmain holds what the test binaries' TestMain functions share.
package testmain

import (
	"flag"
	"strconv"
)

// Parallel makes n the number of parallel tests run at once (-parallel),
// unless the command line chose one. The default is one per CPU, which
// suits tests that compute; most of this project's tests wait instead, on
// loopback servers, timers and a database, so on a small machine the
// default leaves the CPUs idle while the tests sleep. Call it from
// TestMain before m.Run; it parses the command line.
func Parallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && flag.Lookup("test.parallel") != nil {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
}

// Run is a TestMain's body for a package whose tests wait: Parallel(8),
// then m's tests. It returns their exit code.
func Run(m interface{ Run() int }) int {
	Parallel(8)
	return m.Run()
}
