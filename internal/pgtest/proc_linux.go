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

// memFS is Linux's shared-memory file system, and memFSRoom the free space
// it must have to hold a cluster: initdb writes about 40 MB in a thousand
// files, and the tests' data and WAL add to that.
const (
	memFS     = "/dev/shm"
	memFSRoom = 1 << 30
)

// clusterParent is where the throwaway cluster's directory goes: the
// shared-memory file system when it has room, else the temporary
// directory. Creating files is what initdb spends its time on, and on a
// memory file system it costs a fraction of what it costs on disk (0.8 s
// of initdb against 2.1 s on one 2-CPU machine); the cluster is thrown
// away, so keeping it in memory loses nothing. A container's /dev/shm is
// often 64 MB, too small, and is then passed over.
func clusterParent() string {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(memFS, &fs); err != nil || uint64(fs.Bavail)*uint64(fs.Bsize) < memFSRoom {
		return ""
	}
	if err := syscall.Access(memFS, 2 /* W_OK */); err != nil {
		return ""
	}
	return memFS
}
