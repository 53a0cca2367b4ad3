package m365_test

import (
	"os"
	"testing"

	"github.com/cippbot/cippbot/internal/testmain"
)

// The tests wait on the simulated tenant's latency more than they compute.
func TestMain(m *testing.M) { os.Exit(testmain.Run(m)) }
