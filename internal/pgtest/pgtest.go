// Package pgtest gives tests a PostgreSQL server without Docker: the one
// CIPPBOT_TEST_PG_DSN names, or else a throwaway cluster started from the
// distribution's binaries (initdb and postgres, as the postgres user when
// the tests run as root) on loopback, a free port and a temporary
// directory (in memory where Linux's /dev/shm has room), once per test
// binary, and stopped when its tests end. Where neither is possible the
// tests that need it skip, saying how to run them.
//
// A package whose tests use it calls Main from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and each test takes a schema of its own with Schema.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names a database the tests use instead of a throwaway cluster:
// any database in which the user may create schemas will do.
const EnvDSN = "CIPPBOT_TEST_PG_DSN"

// EnvDSNAlias is EnvDSN's former name, still read.
const EnvDSNAlias = "CIPPBOT_TEST_POSTGRES"

// Off, as EnvDSN's value, skips the PostgreSQL tests even where a
// cluster could be started.
const Off = "off"

// howTo ends every skip: how to run the skipped tests.
const howTo = "install PostgreSQL's server (the distribution's postgresql package: initdb and postgres) or set " +
	EnvDSN + " to a postgres:// DSN to run them"

// The server is per test binary, not per test: starting a cluster takes
// seconds. These are the package's only variables, set once by start and
// read by Main when the tests end.
var (
	mainRunning bool // Main is running the tests
	once        sync.Once
	server      struct {
		dsn  string
		skip string // why there is no server, if there is none
		err  error  // why the server could not start, binaries and all
		stop func()
	}
)

// Main runs m's tests and then stops the cluster they started, if any. It
// returns m.Run's exit code.
func Main(m *testing.M) int {
	mainRunning = true
	code := m.Run()
	if server.stop != nil {
		server.stop()
	}
	return code
}

// DSN returns the DSN of a PostgreSQL server for the tests: EnvDSN's (or
// EnvDSNAlias's), else a throwaway cluster's. It skips tb when there is
// neither, and fails it when the binaries are there but the cluster does
// not start.
func DSN(tb testing.TB) string {
	tb.Helper()
	if dsn := envDSN(); dsn == Off {
		tb.Skip("PostgreSQL tests skipped: " + EnvDSN + "=" + Off + "; unset it to run them")
	} else if dsn != "" {
		return dsn
	}
	if !mainRunning {
		tb.Fatal("pgtest: call pgtest.Main from the package's TestMain, so that the cluster is stopped when the tests end")
	}
	once.Do(start)
	switch {
	case server.skip != "":
		tb.Skip("PostgreSQL tests skipped: " + server.skip + "; " + howTo)
	case server.err != nil:
		tb.Fatalf("pgtest: %v", server.err)
	}
	return server.dsn
}

func envDSN() string {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn
	}
	return os.Getenv(EnvDSNAlias)
}

// Schema creates an empty schema on DSN's server, dropped when tb ends,
// and returns a DSN whose connections work in it (its search_path).
func Schema(tb testing.TB) string {
	tb.Helper()
	dsn := DSN(tb)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "cippbot_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		tb.Fatalf("pgtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	return withSearchPath(dsn, schema)
}

// withSearchPath adds search_path to a DSN in either of libpq's forms; pgx
// passes parameters it does not know to the server.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// start starts the throwaway cluster, or says why there is none.
func start() {
	bin, err := binDir()
	if err != nil {
		server.skip = err.Error()
		return
	}
	attr, err := procAttr()
	if err != nil {
		server.skip = err.Error()
		return
	}
	parent := clusterParent()
	dir, err := os.MkdirTemp(parent, "cippbot-pgtest-")
	if err != nil && parent != "" {
		dir, err = os.MkdirTemp("", "cippbot-pgtest-")
	}
	if err != nil {
		server.err = err
		return
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err := own(dir, attr); err != nil {
		cleanup()
		server.err = err
		return
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "cippbot", "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = attr
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		cleanup()
		server.err = fmt.Errorf("initdb: %v\n%s", err, out)
		return
	}
	// A port found free may be taken before postgres binds it: try again.
	for try := 0; ; try++ {
		dsn, stop, err := run(bin, dir, data, attr)
		if err == nil {
			server.dsn = dsn
			server.stop = func() { stop(); cleanup() }
			return
		}
		if try == 2 {
			cleanup()
			server.err = err
			return
		}
	}
}

// run starts postgres on a free loopback port and waits until it takes
// connections. Its output goes to a file, not to the test's pipes, which a
// server outliving the test would hold open.
func run(bin, dir, data string, attr *syscall.SysProcAttr) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", nil, err
	}
	defer log.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.SysProcAttr = attr
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	dsn := fmt.Sprintf("postgres://cippbot@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return dsn, stop, nil
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			return "", nil, fmt.Errorf("postgres exited at start:\n%s", out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			out, _ := os.ReadFile(logPath)
			return "", nil, fmt.Errorf("postgres did not take connections within a minute:\n%s", out)
		}
	}
}

// binDir finds the directory holding initdb and postgres: pg_config's, the
// Debian layout's newest version, or the PATH's.
func binDir() (string, error) {
	ok := func(d string) bool {
		for _, f := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(d, f)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); ok(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if ok(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err := filepath.EvalSymlinks(p); err == nil && ok(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) found")
}

// version reads the major version out of /usr/lib/postgresql/<v>/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
