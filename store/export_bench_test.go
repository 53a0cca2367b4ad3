package store_test

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/cippbot/cippbot/store"
)

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkExportJSONL exports the whole 1,000,000-record trail as JSON
// lines, as `cippbot audit export --format jsonl` does.
func BenchmarkExportJSONL(b *testing.B) {
	benchExport(b, store.FormatJSONL, time.Time{})
	// For scale: reading the whole file, as a raw copy does.
	start := time.Now()
	f, err := os.Open(bigStore(b).Path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("reading the %d MB file: %v", n>>20, time.Since(start).Round(time.Millisecond))
}

// BenchmarkExportJSONLSince exports the newest half of the trail, which
// needs each record's time.
func BenchmarkExportJSONLSince(b *testing.B) {
	benchExport(b, store.FormatJSONL, t0.Add(bigRecords/2*time.Second))
}

func benchExport(b *testing.B, format string, since time.Time) {
	db := bigStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var w countWriter
		if err := db.ExportAudit(ctx, &w, format, since); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(w.n)/(1<<20), "MB")
	}
}
