package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// headEvery is how often serve logs the audit trail's head.
const headEvery = time.Hour

// logHeads logs the audit trail's head every headEvery until ctx ends.
// Kept outside the host (a log service), the logged heads let "cippbot
// audit verify --head SEQ:HASH" show later that no record up to one of them
// was removed or rewritten.
func logHeads(ctx context.Context, db anyStore, log *slog.Logger) {
	t := time.NewTicker(headEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			logHead(ctx, db, log, "hourly")
		}
	}
}

// logHead logs the audit trail's head, as "cippbot audit verify --head"
// takes it.
func logHead(ctx context.Context, db anyStore, log *slog.Logger, why string) {
	h, err := db.AuditHead(ctx)
	if err != nil {
		log.Warn("audit head unreadable", "err", err)
		return
	}
	log.Info("audit head", "when", why, "seq", h.Seq, "hash", h.Hash, "head", strconv.FormatUint(h.Seq, 10)+":"+h.Hash)
}
