package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const socketWriteTimeout = 10 * time.Second

// sockConn is one Socket Mode WebSocket connection.
type sockConn struct {
	conn    *websocket.Conn
	writeMu sync.Mutex // serializes data frames
	done    chan struct{}
	once    sync.Once
}

func (c *sockConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.conn.Close()
	})
}

func (c *sockConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(socketWriteTimeout))
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

// envelope remembers what the server sent under an envelope ID.
type envelope struct {
	typ           string
	channel, user string
	// viewID is the view a view_submission envelope submits.
	viewID string
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // a URL from apps.connections.open is good once
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	sc := &sockConn{conn: conn, done: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sc.close()
		return
	}
	s.socks = append(s.socks, sc)
	n := len(s.socks)
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()

	go s.pingLoop(sc)
	defer s.wg.Done()
	defer s.dropSocket(sc)

	err = sc.writeJSON(map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info": map[string]any{
			"host":                        "fake",
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": AppID},
	})
	if err != nil {
		return
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		s.receiveFrame(data)
	}
}

func (s *Server) pingLoop(sc *sockConn) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		// WriteControl may be called concurrently with the data writes.
		if err := sc.conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(socketWriteTimeout)); err != nil {
			return
		}
		select {
		case <-sc.done:
			return
		case <-t.C:
		}
	}
}

func (s *Server) dropSocket(sc *sockConn) {
	sc.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.socks = slices.DeleteFunc(s.socks, func(c *sockConn) bool { return c == sc })
	s.notifyLocked()
}

// receiveFrame records an acknowledgement from the client.
func (s *Server) receiveFrame(data []byte) {
	var frame struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(data, &frame) != nil || frame.EnvelopeID == "" {
		return
	}
	if string(frame.Payload) == "null" {
		frame.Payload = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	env := s.envelopes[frame.EnvelopeID]
	s.acks = append(s.acks, Ack{
		EnvelopeID: frame.EnvelopeID,
		Type:       env.typ,
		Payload:    frame.Payload,
		At:         s.opts.Now(),
	})
	if env.typ == "slash_commands" && len(frame.Payload) > 0 {
		s.recordAckReplyLocked(env.channel, env.user, frame.Payload, true)
	}
	if v := s.viewIndex[env.viewID]; v != nil {
		s.answerViewLocked(v, true, frame.Payload)
	}
	s.notifyLocked()
}

// SocketModeSend sends an envelope of envelopeType ("slash_commands",
// "interactive", "events_api") carrying payload to the most recently
// connected Socket Mode client and returns its envelope ID. It fails if no
// client is connected.
//
// If the client acknowledges a slash_commands envelope with a payload
// holding text or blocks, that payload becomes a message as on Slack (Via
// "ack", ephemeral to the user unless response_type is in_channel).
func (s *Server) SocketModeSend(envelopeType string, payload json.RawMessage) (string, error) {
	return s.socketModeSend(envelopeType, payload, "")
}

// socketModeSend is SocketModeSend; viewID names the view a
// view_submission payload submits, so that the ack answers it.
func (s *Server) socketModeSend(envelopeType string, payload json.RawMessage, viewID string) (string, error) {
	s.mu.Lock()
	if len(s.socks) == 0 {
		s.mu.Unlock()
		return "", errors.New("fakeslack: no Socket Mode client connected")
	}
	sc := s.socks[len(s.socks)-1]
	id := envelopeID()
	env := envelope{typ: envelopeType, viewID: viewID}
	var who struct {
		ChannelID string `json:"channel_id"`
		UserID    string `json:"user_id"`
	}
	if json.Unmarshal(payload, &who) == nil {
		env.channel, env.user = who.ChannelID, who.UserID
	}
	s.envelopes[id] = env
	s.mu.Unlock()

	err := sc.writeJSON(map[string]any{
		"envelope_id":              id,
		"type":                     envelopeType,
		"payload":                  payload,
		"accepts_response_payload": envelopeType != "events_api",
		"retry_attempt":            0,
		"retry_reason":             "",
	})
	if err != nil {
		return "", fmt.Errorf("fakeslack: sending Socket Mode envelope: %w", err)
	}
	return id, nil
}

// SocketModeClickButton checks a click as ClickButton does and sends the
// block_actions payload to the Socket Mode client in an interactive
// envelope, returning its envelope ID.
func (s *Server) SocketModeClickButton(msg Message, actionID, value, user string) (string, error) {
	payload, err := s.blockActions(msg, actionID, value, user, true)
	if err != nil {
		return "", err
	}
	return s.SocketModeSend("interactive", payload)
}

// SocketModeSlashCommand checks that user is in channel, as SlashCommand
// does, and sends the slash command to the Socket Mode client in a
// slash_commands envelope, returning its envelope ID.
func (s *Server) SocketModeSlashCommand(command, text, channel, user string) (string, error) {
	s.mu.Lock()
	err := s.checkUserInChannelLocked(channel, user)
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	return s.SocketModeSend("slash_commands", s.SlashCommandPayload(command, text, channel, user))
}

// SocketModeDisconnect asks every connected Socket Mode client to
// reconnect, as Slack does before it recycles a connection, by sending
// {"type":"disconnect","reason":reason}.
func (s *Server) SocketModeDisconnect(reason string) {
	s.mu.Lock()
	socks := slices.Clone(s.socks)
	s.mu.Unlock()
	for _, sc := range socks {
		_ = sc.writeJSON(map[string]any{
			"type":       "disconnect",
			"reason":     reason,
			"debug_info": map[string]any{"host": "fake"},
		})
	}
}

// SocketAcks returns the Socket Mode acknowledgements received so far, in
// order.
func (s *Server) SocketAcks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ack, len(s.acks))
	for i, a := range s.acks {
		a.Payload = slices.Clone(a.Payload)
		out[i] = a
	}
	return out
}

// SocketConnections returns how many Socket Mode clients are connected.
func (s *Server) SocketConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.socks)
}

// WaitForSocketConnections waits until at least n Socket Mode clients are
// connected, or returns ctx's error.
func (s *Server) WaitForSocketConnections(ctx context.Context, n int) error {
	for {
		ch := s.changes()
		if s.SocketConnections() >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitForAck waits for the acknowledgement of envelopeID and returns it,
// or returns ctx's error.
func (s *Server) WaitForAck(ctx context.Context, envelopeID string) (Ack, error) {
	for {
		ch := s.changes()
		for _, a := range s.SocketAcks() {
			if a.EnvelopeID == envelopeID {
				return a, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Ack{}, ctx.Err()
		}
	}
}

// envelopeID returns a random UUID-shaped envelope ID.
func envelopeID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
