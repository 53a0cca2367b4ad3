//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"syscall"
)

// procAttr returns how to start initdb and postgres: as the current user,
// which must not be root (initdb refuses it).
func procAttr() (*syscall.SysProcAttr, error) {
	if os.Geteuid() == 0 {
		return nil, errors.New("running as root, and starting the cluster as the postgres user is only done on Linux")
	}
	return &syscall.SysProcAttr{}, nil
}

func own(dir string, _ *syscall.SysProcAttr) error { return os.Chmod(dir, 0o755) }

// clusterParent is where the throwaway cluster's directory goes: the
// temporary directory.
func clusterParent() string { return "" }
