package discord

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// maxBody bounds an interaction; real ones are a few kilobytes.
const maxBody = 1 << 20

// signatureWindow is how far X-Signature-Timestamp may be from now.
const signatureWindow = 5 * time.Minute

// Routes registers POST /discord/interactions, the interactions endpoint.
func (a *Adapter) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /discord/interactions", a.serveInteraction)
}

// serveInteraction checks the Ed25519 signature and its timestamp before
// reading anything, answers PING with PONG, and otherwise acknowledges by
// callback and answers 202, so the work can start once Discord has the ack.
func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !a.verify(r.Header, body) {
		a.log.Warn("refused a Discord request with a bad or stale signature", "remote", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var in discordgo.Interaction
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, "bad interaction", http.StatusBadRequest)
		return
	}
	if in.Type == discordgo.InteractionPing {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"type":1}`))
		return
	}
	a.HandleInteraction(&in)
	w.WriteHeader(http.StatusAccepted)
}

// verify checks X-Signature-Ed25519 over timestamp+body and that the
// timestamp is within signatureWindow of now.
func (a *Adapter) verify(h http.Header, body []byte) bool {
	if a.pub == nil {
		return false
	}
	sig, err := hex.DecodeString(h.Get("X-Signature-Ed25519"))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	ts := h.Get("X-Signature-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := a.now().Sub(time.Unix(sec, 0)); d > signatureWindow || d < -signatureWindow {
		return false
	}
	var msg bytes.Buffer
	msg.WriteString(ts)
	msg.Write(body)
	return ed25519.Verify(a.pub, msg.Bytes(), sig)
}
