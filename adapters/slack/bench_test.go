package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/adapters/slack"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakeslack"
)

// slowHandler stands in for the bot with a tenant that takes a while.
type slowHandler struct{ d time.Duration }

func (h slowHandler) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	select {
	case <-time.After(h.d):
	case <-ctx.Done():
	}
}

// BenchmarkAckLatency sends signed slash commands at 200 per second for
// 5 seconds to the HTTP endpoint while each command's work takes 500 ms,
// and reports the acknowledgement latency: Slack drops what is not
// acknowledged within 3 s. Run with -benchtime=1x.
func BenchmarkAckLatency(b *testing.B) {
	fs := fakeslack.NewTest(b, fakeslack.Options{})
	defer fs.Close()
	a, err := slack.New(slack.Config{BotToken: fakeslack.DefaultBotToken, SigningSecret: fakeslack.DefaultSigningSecret,
		APIURL: fs.APIURL()}, slowHandler{500 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	const rate, seconds = 200, 5
	var fields map[string]string
	json.Unmarshal(fs.SlashCommandPayload("/cipp", "user AdeleV@contoso.com", "COPS", "URILEY"), &fields)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	for b.Loop() {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		for i := range rate * seconds {
			<-tick.C
			form := url.Values{}
			for k, v := range fields {
				form.Set(k, v)
			}
			form.Set("trigger_id", "t"+strings.Repeat("x", i%3)+time.Now().Format("150405.000000000"))
			body := []byte(form.Encode())
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", srv.URL+"/slack/commands", strings.NewReader(string(body)))
				req.Header = fs.Sign(body, time.Now())
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				start := time.Now()
				resp, err := client.Do(req)
				d := time.Since(start)
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("ack: %v %v", err, resp)
					return
				}
				resp.Body.Close()
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
	a.Close(context.Background())
}
