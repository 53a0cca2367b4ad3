package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// BenchmarkIdleServeRSS builds cippbot, runs `cippbot serve` with Slack
// over HTTP against a fake Slack, waits until it is ready and idle, and
// reports its resident memory. Run with -benchtime=1x.
func BenchmarkIdleServeRSS(b *testing.B) {
	dir := b.TempDir()
	bin := buildBinary(b, dir)
	fs := fakeslack.NewTest(b, fakeslack.Options{})
	defer fs.Close()
	for b.Loop() {
		cmd := startServeBinary(b, bin, fs, filepath.Join(dir, "serve.db"), "127.0.0.1:18765", 20*time.Second)
		time.Sleep(2 * time.Second) // idle
		rss := vmRSS(b, cmd.Process.Pid)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b.ReportMetric(float64(rss)/1024, "RSS-MiB")
	}
}

// buildBinary builds cippbot into dir and returns its path.
func buildBinary(b *testing.B, dir string) string {
	bin := filepath.Join(dir, "cippbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startServeBinary runs `cippbot serve` on the store at data with Slack
// over HTTP against fs, listening on addr, and waits up to ready for
// /healthz to answer.
func startServeBinary(b *testing.B, bin string, fs *fakeslack.Server, data, addr string, ready time.Duration) *exec.Cmd {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"CIPPBOT_DATA="+data, "CIPPBOT_LISTEN="+addr,
		"AZURE_CLIENT_ID=bench", "AZURE_CLIENT_SECRET=bench",
		"SLACK_BOT_TOKEN="+fakeslack.DefaultBotToken, "SLACK_SIGNING_SECRET="+fakeslack.DefaultSigningSecret,
		"SLACK_API_URL="+fs.APIURL(), "LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(ready)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			b.Fatal("serve never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vmRSS reads a process's resident set size in KiB from /proc.
func vmRSS(b *testing.B, pid int) int { return vmStatus(b, pid, "VmRSS:") }
