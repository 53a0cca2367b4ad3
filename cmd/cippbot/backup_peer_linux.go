package main

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// backupPeerAllowed reports whether the process at the other end of a
// backup connection runs as serve's own user (or root, who can read the
// database file anyway). The socket is made 0600 just after it is
// created; this closes the moment between.
func backupPeerAllowed(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if int(cred.Uid) != os.Getuid() && cred.Uid != 0 {
		return fmt.Errorf("peer uid %d is not serve's", cred.Uid)
	}
	return nil
}
