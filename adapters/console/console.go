// Package console is a chat adapter for a terminal: each line typed is a
// command from the current technician, buttons are shown as short commands
// to type, and private messages are marked with their one reader. It powers
// "cippbot demo" and end-to-end tests.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cippbot/cippbot/bot"
)

// Platform is the platform name of console events and actor IDs.
const Platform = "console"

// Handler handles one event; *bot.Bot satisfies it.
type Handler interface {
	Handle(ctx context.Context, ev bot.Event, r bot.Responder)
}

// Persona is a technician one can act as.
type Persona struct {
	Name string // "riley"; the actor ID is "console:riley"
	Note string // "helpdesk", shown when switching
}

// Adapter is the console chat. Set the fields, then call Run.
type Adapter struct {
	Handler Handler
	Out     io.Writer
	// Personas are the technicians to switch between with "/as NAME"; the
	// first is the one at the start.
	Personas []Persona
	// Channel is the channel name shown in output; "" means "demo".
	Channel string
	// Fancy adds a prompt and symbols for an interactive terminal.
	Fancy bool

	mu      sync.Mutex // serializes output and guards fields below
	current int
	cards   int
	asks    map[string]bot.Ask // actor ID → the question awaiting their next line
}

var _ bot.Chat = (*Adapter)(nil)

func (a *Adapter) channel() string {
	if a.Channel == "" {
		return "demo"
	}
	return a.Channel
}

// Actor returns the current technician.
func (a *Adapter) Actor() bot.Actor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.actorLocked()
}

func (a *Adapter) actorLocked() bot.Actor {
	if len(a.Personas) == 0 {
		return bot.Actor{ID: Platform + ":technician", Name: "technician"}
	}
	p := a.Personas[a.current]
	return bot.Actor{ID: Platform + ":" + p.Name, Name: p.Name}
}

// Run reads commands from in, one per line, until EOF, "/quit" or ctx ends.
func (a *Adapter) Run(ctx context.Context, in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	a.prompt()
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line != "" {
			if ask, ok := a.takeAsk(); ok {
				switch {
				case line == "/cancel":
					a.printf("Cancelled.\n")
					a.prompt()
					continue
				case !strings.HasPrefix(line, "/"):
					a.Do(ctx, answer(ask, line))
					a.prompt()
					continue
				}
				// Another command: the question lapses.
			}
		}
		switch {
		case line == "":
		case line == "/quit" || line == "/exit":
			return nil
		case strings.HasPrefix(line, "/as"):
			a.switchTo(strings.TrimSpace(strings.TrimPrefix(line, "/as")))
		case strings.HasPrefix(line, "#"): // a comment in a scripted session
		default:
			a.Do(ctx, line)
		}
		a.prompt()
	}
	return sc.Err()
}

// answer completes ask with a typed line: the answer itself, or for a
// form key=value pairs over the prefilled values.
func answer(ask bot.Ask, line string) string {
	if len(ask.Fields) == 0 {
		return ask.Complete(line)
	}
	answers := map[string]string{}
	for _, f := range ask.Fields {
		answers[f.Key] = f.Value
	}
	cmd, err := bot.ParseCommand("form " + line)
	if err != nil {
		return ask.CompleteForm(answers)
	}
	for k, v := range cmd.Named {
		answers[strings.ToLower(k)] = v
	}
	out := ask.CompleteForm(answers)
	for _, f := range cmd.Flags {
		out += " --" + f
	}
	return out
}

// takeAsk removes and returns the question awaiting the current
// technician's next line.
func (a *Adapter) takeAsk() (bot.Ask, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.actorLocked().ID
	ask, ok := a.asks[id]
	delete(a.asks, id)
	return ask, ok
}

// Do handles one command line as the current technician and returns when
// the bot has answered.
func (a *Adapter) Do(ctx context.Context, line string) {
	actor := a.Actor()
	if !a.Fancy {
		a.printf("%s> %s\n", actor.Name, line)
	}
	r := &responder{a: a, actor: actor}
	text, files, err := attachments(line)
	if err != nil {
		r.Private(ctx, bot.Message{Title: err.Error(), Tone: bot.ToneError})
		return
	}
	ev := bot.Event{Platform: Platform, Workspace: "console", Channel: a.channel(), Actor: actor, Text: text, Files: files}
	a.Handler.Handle(ctx, ev, r)
}

// attachments takes file=PATH words out of a command line and reads
// those files, the console's way of attaching a list of users. Only
// regular files in the working directory (or below it) can be attached:
// an absolute path, "..", or a link that leads out is refused, so that a
// command cannot read, and a reply cannot quote, a file from elsewhere.
func attachments(line string) (string, []bot.File, error) {
	var words []string
	var files []bot.File
	for _, w := range strings.Fields(line) {
		path, ok := strings.CutPrefix(w, "file=")
		if !ok {
			words = append(words, w)
			continue
		}
		data, err := readLocal(path)
		if err != nil {
			return "", nil, fmt.Errorf("cannot attach %s: %v", path, err)
		}
		files = append(files, bot.File{Name: filepath.Base(path), Data: data})
	}
	if len(files) == 0 {
		return line, nil, nil
	}
	return strings.Join(words, " "), files, nil
}

// errOutside refuses a file outside the working directory.
var errOutside = errors.New("only files in the working directory can be attached")

// readLocal reads a regular file of at most bot.MaxFileSize+1 bytes below
// the working directory.
func readLocal(path string) ([]byte, error) {
	if path == "" || filepath.IsAbs(path) || filepath.VolumeName(path) != "" || !filepath.IsLocal(path) {
		return nil, errOutside
	}
	root, err := os.OpenRoot(".")
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("no such file in the working directory")
		}
		return nil, errOutside // escapes through a link, or unreadable
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, bot.MaxFileSize+1))
	if err != nil {
		return nil, errors.New("could not be read")
	}
	return data, nil
}

func (a *Adapter) prompt() {
	if a.Fancy {
		a.printf("%s> ", a.Actor().Name)
	}
}

func (a *Adapter) switchTo(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.Personas, func(p Persona) bool { return strings.EqualFold(p.Name, name) })
	if i < 0 {
		names := make([]string, len(a.Personas))
		for j, p := range a.Personas {
			names[j] = p.Name
		}
		fmt.Fprintf(a.Out, "No technician %q here; try one of: %s\n", name, strings.Join(names, ", "))
		return
	}
	a.current = i
	fmt.Fprintf(a.Out, "You are now %s (%s).\n", a.Personas[i].Name, a.Personas[i].Note)
}

func (a *Adapter) printf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.Out, format, args...)
}

// Update implements bot.Chat: it prints the card again, marked updated.
func (a *Adapter) Update(ctx context.Context, channel, ref string, m bot.Message) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.Out, "[#%s, card %s updated] %s", channel, ref, a.render(m, false))
	return nil
}

// Notify implements bot.Chat: a private message to someone who may not be
// the current technician.
func (a *Adapter) Notify(ctx context.Context, channel string, user bot.Actor, m bot.Message) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.Out, "(only %s sees this) %s", user.Name, a.render(m, true))
	if m.Ask != nil {
		if a.asks == nil {
			a.asks = map[string]bot.Ask{}
		}
		a.asks[user.ID] = *m.Ask
		if len(m.Ask.Fields) > 0 {
			var names []string
			for _, f := range m.Ask.Fields {
				n := f.Key
				if f.Required {
					n += "*"
				}
				if f.Value != "" {
					n += "=" + f.Value
				}
				names = append(names, n)
			}
			fmt.Fprintf(a.Out, "    Form: %s\n    Type key=value pairs on the next line (* needed), or /cancel.\n", strings.Join(names, " "))
		} else {
			fmt.Fprintf(a.Out, "    %s? Type it on the next line, or /cancel.\n", m.Ask.Label)
		}
	}
	return nil
}

// responder answers one event.
type responder struct {
	a     *Adapter
	actor bot.Actor
}

func (r *responder) Private(ctx context.Context, m bot.Message) error {
	return r.a.Notify(ctx, r.a.channel(), r.actor, m)
}

func (r *responder) Public(ctx context.Context, m bot.Message) (string, error) {
	a := r.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(m.Secrets) > 0 {
		return "", fmt.Errorf("console: refusing to post a secret in the channel")
	}
	ref := ""
	if len(m.Buttons) > 0 {
		a.cards++
		ref = strconv.Itoa(a.cards)
	}
	fmt.Fprintf(a.Out, "[#%s] %s", a.channel(), a.render(m, false))
	return ref, nil
}

// render formats a message as a few short lines. Secrets are revealed only
// when private is true.
func (a *Adapter) render(m bot.Message, private bool) string {
	var b strings.Builder
	if a.Fancy {
		b.WriteString([]string{"ℹ️ ", "✅ ", "⚠️ ", "❌ "}[m.Tone])
	}
	b.WriteString(m.Title)
	b.WriteByte('\n')
	for _, l := range m.Lines {
		b.WriteString("    " + l + "\n")
	}
	if private {
		for _, s := range m.Secrets {
			fmt.Fprintf(&b, "    %s: %s\n", s.Label(), s.Reveal())
		}
	}
	if len(m.Buttons) > 0 {
		vals := make([]string, len(m.Buttons))
		for i, bt := range m.Buttons {
			vals[i] = "[" + bt.Label + ": type " + bt.Value + "]"
		}
		b.WriteString("    " + strings.Join(vals, "  ") + "\n")
	}
	return b.String()
}
