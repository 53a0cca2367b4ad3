package fakediscord

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Modal is a modal the app showed a user by answering an interaction with
// a modal callback (type 9).
type Modal struct {
	// InteractionID is the interaction the modal answered.
	InteractionID string
	// For is the user who sees the modal: the user of that interaction.
	For string
	// CustomID is the modal's custom_id.
	CustomID string
	// Title is the modal's title.
	Title string
	// JSON is the callback's data object: the modal as the app sent it.
	JSON json.RawMessage
	// Submitted reports that SubmitModal built a submission of the modal.
	Submitted bool
	// Closed reports that a submission of the modal was answered (any
	// accepted initial response), which closes it on Discord; it cannot be
	// submitted again. A submission left unanswered leaves it open.
	Closed bool
}

// modalState is what the server keeps of a modal.
type modalState struct {
	Modal
	origin *interactionState
	inputs []textInput
}

// textInput is a text input of a modal.
type textInput struct {
	customID       string
	required       bool
	minLen, maxLen int
	value          string // prefilled value
}

// addModalLocked records the modal (checked callback data raw) that
// answered it.
func (s *Server) addModalLocked(it *interactionState, raw json.RawMessage) {
	var data struct {
		CustomID   string `json:"custom_id"`
		Title      string `json:"title"`
		Components []struct {
			Components []object `json:"components"`
		} `json:"components"`
	}
	_ = json.Unmarshal(raw, &data)
	ms := &modalState{
		Modal: Modal{
			InteractionID: it.id,
			For:           it.userID,
			CustomID:      data.CustomID,
			Title:         data.Title,
			JSON:          compact(raw),
		},
		origin: it,
	}
	for _, row := range data.Components {
		for _, c := range row.Components {
			in := textInput{required: true, maxLen: maxTextInputLength}
			in.customID, _ = str(c["custom_id"])
			in.value, _ = str(c["value"])
			if !isNull(c["required"]) {
				_ = json.Unmarshal(c["required"], &in.required)
			}
			if n, ok := optInt(c["min_length"]); ok {
				in.minLen = n
			}
			if n, ok := optInt(c["max_length"]); ok {
				in.maxLen = n
			}
			ms.inputs = append(ms.inputs, in)
		}
	}
	s.modals = append(s.modals, ms)
}

// Modals returns every modal the app showed, in order, as it currently
// stands.
func (s *Server) Modals() []Modal {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Modal, len(s.modals))
	for i, ms := range s.modals {
		m := ms.Modal
		m.JSON = slices.Clone(m.JSON)
		out[i] = m
	}
	return out
}

// SubmitModal builds the interaction Discord sends when user submits the
// modal with customID (type 5, MODAL_SUBMIT): data is {"custom_id":…,
// "components":[{"type":1,"components":[{"type":4,"custom_id":…,
// "value":…}]},…]}, one action row per text input of the modal, in order.
// values maps a text input's custom_id to what the user typed; an input
// not in values keeps its prefilled value (or ""). As for every modal
// submit, the payload has no message field. Its token works like any
// other: the initial response within CallbackDeadline (4 or 5; 6 or 7 too
// when the modal answered a component, acting on that component's
// message), webhooks for TokenLifetime.
//
// It fails unless the app answered an interaction of user in channel with
// a modal of that custom_id that is still open (the newest one if
// several), every key of values is the custom_id of one of its text
// inputs, and every value obeys the input as Discord's client enforces
// it (required unless "required":false, min_length, max_length).
func (s *Server) SubmitModal(channel, user string, customID string, values map[string]string) (Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms *modalState
	for i := len(s.modals) - 1; i >= 0; i-- {
		if m := s.modals[i]; m.For == user && m.CustomID == customID && !m.Closed {
			ms = m
			break
		}
	}
	if ms == nil {
		var open []string
		for _, m := range s.modals {
			if m.For == user && !m.Closed {
				open = append(open, m.CustomID)
			}
		}
		return Interaction{}, fmt.Errorf("fakediscord: user %s has no open modal %q (open modals: %q)", user, customID, open)
	}
	if ms.origin.channelID != channel {
		return Interaction{}, fmt.Errorf("fakediscord: modal %q was opened in channel %s, not %s", customID, ms.origin.channelID, channel)
	}
	ids := make([]string, len(ms.inputs))
	for i, in := range ms.inputs {
		ids[i] = in.customID
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !slices.Contains(ids, k) {
			return Interaction{}, fmt.Errorf("fakediscord: modal %q has no text input %q (inputs: %q)", customID, k, ids)
		}
	}
	rows := make([]any, 0, len(ms.inputs))
	for _, in := range ms.inputs {
		v, ok := values[in.customID]
		if !ok {
			v = in.value
		}
		switch n := runes(v); {
		case n == 0 && in.required:
			return Interaction{}, fmt.Errorf("fakediscord: text input %q of modal %q is required", in.customID, customID)
		case n > 0 && n < in.minLen:
			return Interaction{}, fmt.Errorf("fakediscord: text input %q of modal %q needs at least %d characters, got %d", in.customID, customID, in.minLen, n)
		case n > in.maxLen:
			return Interaction{}, fmt.Errorf("fakediscord: text input %q of modal %q takes at most %d characters, got %d", in.customID, customID, in.maxLen, n)
		}
		rows = append(rows, map[string]any{
			"type":       1,
			"components": []any{map[string]any{"type": 4, "custom_id": in.customID, "value": v}},
		})
	}
	data, err := json.Marshal(map[string]any{"custom_id": customID, "components": rows})
	if err != nil {
		return Interaction{}, fmt.Errorf("fakediscord: encoding modal submit: %w", err)
	}
	it := s.newInteractionLocked(interactionModalSubmit, channel, user)
	it.componentMsg = ms.origin.componentMsg
	it.modal = ms
	ms.Submitted = true
	s.notifyLocked()
	return it.export(s.payloadLocked(it, data, nil)), nil
}
