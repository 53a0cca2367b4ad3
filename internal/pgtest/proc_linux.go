package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// procAttr returns how to start initdb and postgres: as the postgres user
// when the tests run as root (initdb refuses root), set rather than through
// runuser or su, which do not pass signals on; and interrupted if the test
// binary dies before it can stop them.
func procAttr() (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
	if os.Geteuid() != 0 {
		return attr, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root and there is no postgres user to run the cluster as")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("the postgres user's IDs %s:%s do not parse", u.Uid, u.Gid)
	}
	attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return attr, nil
}

// own gives dir to the user attr runs as, readable by all so that the
// server reaches its files under a temporary directory.
func own(dir string, attr *syscall.SysProcAttr) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if attr.Credential == nil {
		return nil
	}
	return os.Chown(dir, int(attr.Credential.Uid), int(attr.Credential.Gid))
}
