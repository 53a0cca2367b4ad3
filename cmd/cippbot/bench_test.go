package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// BenchmarkIdleServeRSS builds cippbot, runs `cippbot serve` with Slack
// over HTTP against a fake Slack, waits until it is ready and idle, and
// reports its resident memory. Run with -benchtime=1x.
func BenchmarkIdleServeRSS(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "cippbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	for b.Loop() {
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(),
			"CIPPBOT_DATA="+filepath.Join(dir, "serve.db"), "CIPPBOT_LISTEN=127.0.0.1:18765",
			"AZURE_CLIENT_ID=bench", "AZURE_CLIENT_SECRET=bench",
			"SLACK_BOT_TOKEN="+fakeslack.DefaultBotToken, "SLACK_SIGNING_SECRET="+fakeslack.DefaultSigningSecret,
			"SLACK_API_URL="+fs.APIURL(), "LOG_LEVEL=warn")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get("http://127.0.0.1:18765/healthz")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				b.Fatal("serve never became ready")
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // idle
		rss := vmRSS(b, cmd.Process.Pid)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b.ReportMetric(float64(rss)/1024, "RSS-MiB")
	}
}

// vmRSS reads a process's resident set size in KiB from /proc.
func vmRSS(b *testing.B, pid int) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
