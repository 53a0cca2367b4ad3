package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/user"
	"strings"

	"github.com/cippbot/cippbot/bot"
)

// runRehearse is "cippbot check --rehearse <user@domain> [--tenant T]":
// it rehearses every action on the user, changing nothing, prints one
// line per action that is not ready and the count of ready ones, and
// audits the run as one check record by the local operator. It fails
// only when the rehearsal cannot run; actions not ready are its report.
func runRehearse(ctx context.Context, cfg Config, args []string, stdout io.Writer, graphClient *http.Client, log *slog.Logger) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	upn := fs.String("rehearse", "", "user@domain to rehearse every action on")
	tenant := fs.String("tenant", "", "tenant domain or alias (default: the user's domain)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || !strings.Contains(*upn, "@") {
		return usageError{"usage: cippbot check [--rehearse user@domain [--tenant domain]]"}
	}
	db, err := openAnyStore(ctx, cfg) // it appends to the audit trail
	if err != nil {
		return err
	}
	defer db.Close()
	if err := useGDAP(ctx, &cfg, db, graphClient, log); err != nil { // delegated mode (login.go)
		return err
	}
	conn, err := connector(cfg, graphClient, log)
	if err != nil {
		return err
	}
	b := newBot(cfg, conn, db, log)
	m, err := b.Rehearse(ctx, bot.Event{Platform: "cli", Actor: operator()}, *tenant, *upn)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, m.Title)
	for _, l := range m.Lines {
		fmt.Fprintln(stdout, "   ", l)
	}
	if m.Tone == bot.ToneError {
		return fmt.Errorf("the rehearsal could not run")
	}
	return nil
}

// operator names who runs the command line, for the audit trail.
func operator() bot.Actor {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return bot.Actor{ID: "cli", Name: "command line"}
	}
	return bot.Actor{ID: "cli:" + u.Username, Name: u.Username}
}
