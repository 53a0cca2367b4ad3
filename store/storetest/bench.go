package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// Bench runs the stores' benchmarks, each from parallel goroutines (as
// many as GOMAXPROCS, times 4: most of a store call is waiting) on one
// handle:
//
//   - Decide: an approval is created and decided (UpdateApproval's
//     compare-and-swap), what one approved request costs the store;
//   - Append: one audit record;
//   - FirstDelivery: one new delivery key.
func Bench(b *testing.B, h Harness) {
	b.Run("Decide", func(b *testing.B) {
		s := fresh(b, h).handle(nil)
		var n atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := fmt.Sprint("ap", n.Add(1))
				if err := s.CreateApproval(ctx(), approval(id, time.Now())); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.UpdateApproval(ctx(), id, func(a *bot.Approval) error { a.State = bot.StateRunning; return nil }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Append", func(b *testing.B) {
		s := fresh(b, h).handle(nil)
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, err := s.Append(ctx(), record(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("FirstDelivery", func(b *testing.B) {
		s := fresh(b, h).handle(nil)
		var n atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.FirstDelivery(ctx(), fmt.Sprint("slack:trigger:", n.Add(1)), time.Hour); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
