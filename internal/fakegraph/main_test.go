package fakegraph_test

import (
	"os"
	"testing"

	"github.com/cippbot/cippbot/internal/testmain"
)

func TestMain(m *testing.M) {
	testmain.Parallel(8) // the tests wait on the simulated tenant's latency more than they compute
	os.Exit(m.Run())
}
