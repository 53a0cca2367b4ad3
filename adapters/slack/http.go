package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// maxBody bounds a request from Slack; real ones are a few kilobytes.
const maxBody = 1 << 20

// Routes registers POST /slack/commands and POST /slack/interactions.
func (a *Adapter) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /slack/commands", a.serveCommand)
	mux.HandleFunc("POST /slack/interactions", a.serveInteraction)
}

// verified reads the body and checks Slack's signature over it (5-minute
// window, constant-time compare). On failure it answers 401 and returns
// nil: nothing is parsed or done for an unsigned request.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) []byte {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return nil
	}
	if a.cfg.SigningSecret == "" {
		a.log.Warn("refused a Slack request: no signing secret is configured", "path", r.URL.Path)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return nil
	}
	sv, err := slackapi.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		a.log.Warn("refused a Slack request with a bad signature", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return nil
	}
	return body
}

// formRequest rebuilds a request around a body already read, for slack-go's
// form parsers.
func formRequest(r *http.Request, body []byte) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Form, r2.PostForm = nil, nil
	return r2
}

// serveCommand acknowledges a slash command at once; the work runs after.
func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	body := a.verified(w, r)
	if body == nil {
		return
	}
	cmd, err := slackapi.SlashCommandParse(formRequest(r, body))
	if err != nil || cmd.UserID == "" || cmd.ChannelID == "" {
		http.Error(w, "bad slash command", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK) // the ack: an empty 200
	a.slash(cmd)
}

// serveInteraction acknowledges a button click or a form's submission at
// once.
func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body := a.verified(w, r)
	if body == nil {
		return
	}
	r2 := formRequest(r, body)
	if err := r2.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(r2.PostForm.Get("payload")), &ic); err != nil || ic.User.ID == "" {
		http.Error(w, "bad interaction payload", http.StatusBadRequest)
		return
	}
	if ic.Type == slackapi.InteractionTypeViewSubmission {
		// The answer to a form's submission is the HTTP response: empty
		// closes the modal, response_action "errors" keeps it open.
		if resp := a.answer(ic); resp != nil {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(resp)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)
	a.interaction(ic)
}

// ErrFatal wraps errors after which Socket Mode cannot go on (a refused
// token); the process should stop and say why.
var ErrFatal = errors.New("slack: fatal")

// RunSocketMode connects over Socket Mode and handles events until ctx
// ends (nil) or Slack refuses the app token (an error wrapping ErrFatal).
// slack-go reconnects by itself on disconnects and missed pings.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if a.client == nil || a.cfg.AppToken == "" {
		return fmt.Errorf("%w: Socket Mode needs SLACK_APP_TOKEN", ErrFatal)
	}
	sm := socketmode.New(a.client)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%w: socket mode stopped: %v (check SLACK_APP_TOKEN and its connections:write scope)", ErrFatal, err)
		case evt := <-sm.Events:
			if err := a.socketEvent(sm, evt); err != nil {
				return err
			}
		}
	}
}

func (a *Adapter) socketEvent(sm *socketmode.Client, evt socketmode.Event) error {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		a.socketUp.Store(true)
		a.log.Info("socket mode connected")
	case socketmode.EventTypeDisconnect, socketmode.EventTypeConnecting:
		a.socketUp.Store(false)
	case socketmode.EventTypeConnectionError:
		a.socketUp.Store(false)
		a.log.Warn("socket mode connection error; slack-go reconnects", "data", fmt.Sprint(evt.Data))
	case socketmode.EventTypeInvalidAuth:
		return fmt.Errorf("%w: Slack refused SLACK_APP_TOKEN (invalid_auth)", ErrFatal)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slackapi.SlashCommand)
		if !ok || evt.Request == nil {
			return nil
		}
		a.ack(sm, evt)
		a.slash(cmd)
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slackapi.InteractionCallback)
		if !ok || evt.Request == nil {
			return nil
		}
		if ic.Type == slackapi.InteractionTypeViewSubmission {
			// The ack's payload answers the submission, as the HTTP
			// response would.
			if resp := a.answer(ic); resp != nil {
				if err := sm.Ack(*evt.Request, resp); err != nil {
					a.log.Warn("socket mode ack failed", "err", err)
				}
				return nil
			}
			a.ack(sm, evt)
			return nil
		}
		a.ack(sm, evt)
		a.interaction(ic)
	default:
		if evt.Request != nil && strings.TrimSpace(evt.Request.EnvelopeID) != "" {
			a.ack(sm, evt) // unrelated envelopes are acknowledged, not redelivered
		}
	}
	return nil
}

func (a *Adapter) ack(sm *socketmode.Client, evt socketmode.Event) {
	if err := sm.Ack(*evt.Request); err != nil {
		a.log.Warn("socket mode ack failed", "err", err)
	}
}
