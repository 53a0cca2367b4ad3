package fakeslack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// reasonModal is the modal a bot opens to ask for a missing reason: a
// section, a required text input and an optional one with an initial
// value.
func reasonModal() slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Reason needed", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Continue", false, false),
		CallbackID:      "cipp_reason",
		PrivateMetadata: `{"request":42}`,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Reset password* for alice", false, false), nil, nil),
			slack.NewInputBlock("reason",
				slack.NewTextBlockObject(slack.PlainTextType, "Why?", false, false), nil,
				&slack.PlainTextInputBlockElement{Type: slack.METPlainTextInput, ActionID: "text", MinLength: 5, MaxLength: 200}),
			slack.InputBlock{Type: slack.MBTInput, BlockID: "ticket", Optional: true,
				Label: slack.NewTextBlockObject(slack.PlainTextType, "Ticket", false, false),
				Element: &slack.PlainTextInputBlockElement{Type: slack.METPlainTextInput, ActionID: "id",
					InitialValue: "INC-1"}},
		}},
	}
}

// clockAt returns a settable clock for Options.Now.
func clockAt(t0 time.Time) (func() time.Time, func(time.Duration)) {
	var mu sync.Mutex
	now := t0
	return func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}, func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
		}
}

// slashTrigger returns the trigger_id of a slash command by user.
func slashTrigger(t *testing.T, s *fakeslack.Server, user string) string {
	t.Helper()
	var cmd slack.SlashCommand
	if err := json.Unmarshal(s.SlashCommandPayload("/cipp", "reset alice", "C1", user), &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.TriggerID == "" {
		t.Fatal("no trigger_id")
	}
	return cmd.TriggerID
}

func onlyView(t *testing.T, s *fakeslack.Server) fakeslack.View {
	t.Helper()
	vs := s.Views()
	if len(vs) != 1 {
		t.Fatalf("got %d views, want 1: %+v", len(vs), vs)
	}
	return vs[0]
}

func TestViewsOpen(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	a, base := newApp(t)
	resp, err := s.SlashCommand(base+"/slack/commands", "/cipp", "reset alice", "C1", "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	trigger := a.commands[0].TriggerID

	api := botClient(s)
	got, err := api.OpenViewContext(context.Background(), trigger, reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	v := got.View
	if !strings.HasPrefix(v.ID, "V") || v.TeamID != fakeslack.DefaultTeamID || v.Type != slack.VTModal || v.Hash == "" ||
		v.State == nil || v.State.Values == nil || len(v.State.Values) != 0 || v.RootViewID != v.ID || v.AppID != fakeslack.AppID ||
		v.BotID != fakeslack.BotID || v.CallbackID != "cipp_reason" || v.PrivateMetadata != `{"request":42}` {
		t.Fatalf("view = %+v", v)
	}
	if v.Title.Text != "Reason needed" || v.Submit.Text != "Continue" || v.Close == nil || v.Close.Text != "Cancel" {
		t.Errorf("title %+v submit %+v close %+v", v.Title, v.Submit, v.Close)
	}
	if len(v.Blocks.BlockSet) != 3 {
		t.Errorf("blocks = %+v", v.Blocks.BlockSet)
	}
	var raw map[string]any
	_ = json.Unmarshal(s.CallsTo("views.open")[0].Response, &raw)
	if view, _ := raw["view"].(map[string]any); view == nil || view["previous_view_id"] != nil || view["state"] == nil {
		t.Errorf("answer = %s", s.CallsTo("views.open")[0].Response)
	}

	rec := onlyView(t, s)
	if rec.ID != v.ID || rec.TriggerID != trigger || rec.User != "UALICE" || rec.CallbackID != "cipp_reason" ||
		rec.PrivateMetadata != `{"request":42}` || rec.Submitted || rec.Closed || rec.Errors != nil || rec.Values != nil {
		t.Fatalf("recorded view = %+v", rec)
	}
	var fromJSON slack.View
	if err := json.Unmarshal(rec.JSON, &fromJSON); err != nil || fromJSON.ID != v.ID || fromJSON.Hash != v.Hash {
		t.Fatalf("View.JSON = %s (%v)", rec.JSON, err)
	}

	// A trigger opens one modal only.
	_, err = api.OpenViewContext(context.Background(), trigger, reasonModal())
	if got := slackErr(t, err); got != "exchanged_trigger_id" {
		t.Errorf("reused trigger: %q", got)
	}
	_, err = api.OpenViewContext(context.Background(), "1.2.deadbeef", reasonModal())
	if got := slackErr(t, err); got != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %q", got)
	}
	// The app token is not accepted.
	appAPI := slack.New(fakeslack.DefaultAppToken, slack.OptionAPIURL(s.APIURL()))
	_, err = appAPI.OpenViewContext(context.Background(), slashTrigger(t, s, "UALICE"), reasonModal())
	if got := slackErr(t, err); got != "not_allowed_token_type" {
		t.Errorf("app token: %q", got)
	}
	if n := len(s.Views()); n != 1 {
		t.Errorf("%d views after failed opens", n)
	}
}

func TestViewsOpenTriggerExpires(t *testing.T) {
	t.Parallel()
	now, advance := clockAt(time.Unix(1700000000, 0))
	s := newServer(t, fakeslack.Options{Now: now})
	api := botClient(s)
	ctx := context.Background()

	onTime := slashTrigger(t, s, "UALICE")
	late := slashTrigger(t, s, "UBOB")
	advance(3 * time.Second) // exactly 3 seconds is still in time
	if _, err := api.OpenViewContext(ctx, onTime, reasonModal()); err != nil {
		t.Fatalf("at 3s: %v", err)
	}
	advance(time.Millisecond)
	_, err := api.OpenViewContext(ctx, late, reasonModal())
	if got := slackErr(t, err); got != "expired_trigger_id" {
		t.Errorf("after 3s: %q", got)
	}
	if v := onlyView(t, s); v.User != "UALICE" {
		t.Errorf("view = %+v", v)
	}
}

func TestViewsOpenFromButtonClick(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	a, base := newApp(t)
	api := botClient(s)
	opened := make(chan error, 1)
	a.onClick = func(ic slack.InteractionCallback) {
		_, err := api.OpenViewContext(context.Background(), ic.TriggerID, reasonModal())
		opened <- err
	}
	msg := postApproval(t, s)
	resp, err := s.ClickButton(base+"/slack/interactive", msg, "cipp:approve", "approve 42", "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-opened; err != nil {
		t.Fatal(err)
	}
	if v := onlyView(t, s); v.User != "UBOB" || v.TriggerID != a.clicks[0].TriggerID {
		t.Fatalf("view = %+v", v)
	}
	// So does a Socket Mode payload.
	var ic slack.InteractionCallback
	if err := json.Unmarshal(s.BlockActionsPayload(msg, "cipp:deny", "deny 42", "UALICE"), &ic); err != nil {
		t.Fatal(err)
	}
	if _, err := api.OpenViewContext(context.Background(), ic.TriggerID, reasonModal()); err != nil {
		t.Fatal(err)
	}
}

func TestViewsOpenValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	trigger := slashTrigger(t, s, "UALICE")
	input := func(blockID, actionID string) slack.Block {
		return slack.NewInputBlock(blockID, slack.NewTextBlockObject(slack.PlainTextType, "Why?", false, false), nil,
			&slack.PlainTextInputBlockElement{Type: slack.METPlainTextInput, ActionID: actionID})
	}
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "x", false, false), nil, nil)
	for _, tc := range []struct {
		name    string
		edit    func(*slack.ModalViewRequest)
		pointer string
	}{
		{"home view", func(v *slack.ModalViewRequest) { v.Type = slack.VTHomeTab }, "/view/type"},
		{"no title", func(v *slack.ModalViewRequest) { v.Title = nil }, "/view/title"},
		{"long title", func(v *slack.ModalViewRequest) {
			v.Title = slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 25), false, false)
		}, "/view/title/text"},
		{"mrkdwn title", func(v *slack.ModalViewRequest) {
			v.Title = slack.NewTextBlockObject(slack.MarkdownType, "Why", false, false)
		}, "/view/title"},
		{"no submit with inputs", func(v *slack.ModalViewRequest) { v.Submit = nil }, "/view/submit"},
		{"long submit", func(v *slack.ModalViewRequest) {
			v.Submit = slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 25), false, false)
		}, "/view/submit/text"},
		{"long callback_id", func(v *slack.ModalViewRequest) { v.CallbackID = strings.Repeat("c", 256) }, "/view/callback_id"},
		{"long private_metadata", func(v *slack.ModalViewRequest) { v.PrivateMetadata = strings.Repeat("m", 3001) }, "/view/private_metadata"},
		{"input without block_id", func(v *slack.ModalViewRequest) {
			v.Blocks.BlockSet = []slack.Block{input("", "text")}
		}, "/view/blocks/0/block_id"},
		{"input without action_id", func(v *slack.ModalViewRequest) {
			v.Blocks.BlockSet = []slack.Block{input("reason", "")}
		}, "/view/blocks/0/element/action_id"},
		{"input without element", func(v *slack.ModalViewRequest) {
			v.Blocks.BlockSet = []slack.Block{slack.InputBlock{Type: slack.MBTInput, BlockID: "reason",
				Label: slack.NewTextBlockObject(slack.PlainTextType, "Why?", false, false)}}
		}, "/view/blocks/0/element"},
		{"max_length over 3000", func(v *slack.ModalViewRequest) {
			v.Blocks.BlockSet = []slack.Block{slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Why?", false, false), nil,
				&slack.PlainTextInputBlockElement{Type: slack.METPlainTextInput, ActionID: "text", MaxLength: 3001})}
		}, "/view/blocks/0/element/max_length"},
		{"101 blocks", func(v *slack.ModalViewRequest) {
			v.Blocks.BlockSet = nil
			for range 101 {
				v.Blocks.BlockSet = append(v.Blocks.BlockSet, section)
			}
		}, "/view/blocks]"},
	} {
		view := reasonModal()
		tc.edit(&view)
		_, err := api.OpenViewContext(context.Background(), trigger, view)
		var se slack.SlackErrorResponse
		if !errors.As(err, &se) || se.Err != "invalid_arguments" {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if msgs := strings.Join(se.ResponseMetadata.Messages, "\n"); !strings.Contains(msgs, "[json-pointer:"+tc.pointer) {
			t.Errorf("%s: messages %q, want pointer %s", tc.name, msgs, tc.pointer)
		}
	}
	// 100 blocks, no inputs and no submit button are fine, and the failed
	// calls did not use the trigger up.
	view := reasonModal()
	view.Submit = nil
	view.Blocks.BlockSet = nil
	for range 100 {
		view.Blocks.BlockSet = append(view.Blocks.BlockSet, section)
	}
	if _, err := api.OpenViewContext(context.Background(), trigger, view); err != nil {
		t.Fatal(err)
	}
	if v := onlyView(t, s); !strings.Contains(string(v.JSON), `"submit":null`) {
		t.Errorf("view without submit = %s", v.JSON)
	}
}

// modalApp is an interactivity endpoint that verifies signatures, parses
// view_submission payloads with slack-go and answers with answer.
type modalApp struct {
	mu     sync.Mutex
	got    []slack.InteractionCallback
	answer func(slack.InteractionCallback) string
	hsURL  string
}

func newModalApp(t *testing.T, answer func(slack.InteractionCallback) string) *modalApp {
	t.Helper()
	m := &modalApp{answer: answer}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sv, err := slack.NewSecretsVerifier(r.Header, fakeslack.DefaultSigningSecret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_, _ = sv.Write(body)
		if err := sv.Ensure(); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		ic, err := slack.InteractionCallbackParse(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		m.got = append(m.got, ic)
		m.mu.Unlock()
		if a := m.answer(ic); a != "" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, a)
		}
	}))
	t.Cleanup(hs.Close)
	m.hsURL = hs.URL
	return m
}

func (m *modalApp) last(t *testing.T) slack.InteractionCallback {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) == 0 {
		t.Fatal("app received nothing")
	}
	return m.got[len(m.got)-1]
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSubmitView(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	app := newModalApp(t, func(ic slack.InteractionCallback) string {
		reason := ic.View.State.Values["reason"]["text"].Value
		if strings.Contains(reason, "because") {
			return ""
		}
		return jsonText(t, slack.NewErrorsViewSubmissionResponse(map[string]string{"reason": "Say why, starting with because"}))
	})
	trigger := slashTrigger(t, s, "UALICE")
	opened, err := botClient(s).OpenViewContext(context.Background(), trigger, reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	id := opened.View.ID

	// Submissions the user could not make are refused without sending.
	for _, tc := range []struct {
		name   string
		viewID string
		values map[string]map[string]string
		user   string
	}{
		{"unknown view", "V404", map[string]map[string]string{"reason": {"text": "because"}}, "UALICE"},
		{"another user", id, map[string]map[string]string{"reason": {"text": "because"}}, "UBOB"},
		{"unknown block", id, map[string]map[string]string{"why": {"text": "because"}}, "UALICE"},
		{"unknown action", id, map[string]map[string]string{"reason": {"value": "because"}}, "UALICE"},
		{"required input empty", id, map[string]map[string]string{"reason": {"text": ""}}, "UALICE"},
		{"required input missing", id, nil, "UALICE"},
		{"under min_length", id, map[string]map[string]string{"reason": {"text": "bc"}}, "UALICE"},
		{"over max_length", id, map[string]map[string]string{"reason": {"text": strings.Repeat("x", 201)}}, "UALICE"},
	} {
		if _, err := s.SubmitView(app.hsURL, tc.viewID, tc.values, tc.user); err == nil {
			t.Errorf("%s: submitted", tc.name)
		}
	}
	if len(app.got) != 0 || onlyView(t, s).Submitted {
		t.Fatal("a refused submission reached the app")
	}

	// A reason the app does not like: the modal stays open with an error.
	resp, err := s.SubmitView(app.hsURL, id, map[string]map[string]string{"reason": {"text": "user asked"}}, "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"response_action":"errors"`) {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	ic := app.last(t)
	if ic.Type != slack.InteractionTypeViewSubmission || ic.User.ID != "UALICE" || ic.User.Name != "ualice" ||
		ic.User.TeamID != fakeslack.DefaultTeamID || ic.Team.ID != fakeslack.DefaultTeamID || ic.Team.Domain != fakeslack.TeamDomain ||
		ic.APIAppID != fakeslack.AppID || ic.Token != fakeslack.VerificationToken || ic.TriggerID == "" || ic.TriggerID == trigger ||
		ic.IsEnterpriseInstall {
		t.Fatalf("callback = %+v", ic)
	}
	if ic.View.ID != id || ic.View.TeamID != fakeslack.DefaultTeamID || ic.View.Type != slack.VTModal || ic.View.CallbackID != "cipp_reason" ||
		ic.View.PrivateMetadata != `{"request":42}` || ic.View.Hash != opened.View.Hash || ic.View.Title.Text != "Reason needed" ||
		len(ic.View.Blocks.BlockSet) != 3 || ic.ResponseURLs == nil || len(ic.ResponseURLs) != 0 {
		t.Fatalf("view = %+v", ic.View)
	}
	values := ic.View.State.Values
	if len(values) != 2 || values["reason"]["text"].Type != "plain_text_input" || values["reason"]["text"].Value != "user asked" ||
		values["ticket"]["id"].Value != "INC-1" {
		t.Fatalf("state = %+v", values)
	}
	v := onlyView(t, s)
	if !v.Submitted || v.Closed || v.Errors["reason"] != "Say why, starting with because" || v.Values["reason"]["text"] != "user asked" ||
		v.Values["ticket"]["id"] != "INC-1" || !strings.Contains(string(v.Response), "errors") {
		t.Fatalf("view after errors = %+v", v)
	}

	// The view_submission trigger is not one views.open takes.
	if _, err := botClient(s).OpenViewContext(context.Background(), ic.TriggerID, reasonModal()); slackErr(t, err) != "invalid_trigger_id" {
		t.Errorf("view_submission trigger: %v", err)
	}

	// A good reason: the app answers an empty 200 and the modal closes.
	resp, err = s.SubmitView(app.hsURL, id, map[string]map[string]string{
		"reason": {"text": "because the user is locked out"},
		"ticket": {"id": ""},
	}, "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := app.last(t).View.State.Values["ticket"]["id"]; got.Type != "plain_text_input" || got.Value != "" {
		t.Errorf("cleared optional input = %+v", got)
	}
	v = onlyView(t, s)
	if !v.Closed || v.Errors != nil || v.Response != nil || v.Values["reason"]["text"] != "because the user is locked out" || v.Values["ticket"]["id"] != "" {
		t.Fatalf("view after close = %+v", v)
	}
	if _, err := s.SubmitView(app.hsURL, id, map[string]map[string]string{"reason": {"text": "because again"}}, "UALICE"); err == nil {
		t.Fatal("submitted a closed modal")
	}
}

func TestSubmitViewPayloadShape(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	var payload map[string]any
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		_ = json.Unmarshal([]byte(r.PostForm.Get("payload")), &payload)
	}))
	defer hs.Close()
	opened, err := botClient(s).OpenViewContext(context.Background(), slashTrigger(t, s, "UBOB"), reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.SubmitView(hs.URL, opened.View.ID, map[string]map[string]string{"reason": {"text": "because"}, "ticket": {"id": ""}}, "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, k := range []string{"type", "team", "user", "api_app_id", "token", "trigger_id", "view", "response_urls", "is_enterprise_install"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("payload has no %s", k)
		}
	}
	view, _ := payload["view"].(map[string]any)
	state, _ := view["state"].(map[string]any)
	vals, _ := state["values"].(map[string]any)
	reason, _ := vals["reason"].(map[string]any)["text"].(map[string]any)
	ticket, _ := vals["ticket"].(map[string]any)["id"].(map[string]any)
	if reason["type"] != "plain_text_input" || reason["value"] != "because" || ticket["value"] != nil {
		t.Errorf("state = %v", state)
	}
	if _, ok := ticket["value"]; !ok {
		t.Errorf("cleared input has no value field: %v", ticket)
	}
}

func TestSubmitViewUpdatePushClear(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	step := modalStep(func() slack.ModalViewRequest {
		m := reasonModal()
		m.CallbackID = "cipp_confirm"
		m.Title = slack.NewTextBlockObject(slack.PlainTextType, "Confirm", false, false)
		return m
	}())
	var answer string
	app := newModalApp(t, func(slack.InteractionCallback) string { return answer })
	opened, err := botClient(s).OpenViewContext(context.Background(), slashTrigger(t, s, "UALICE"), reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	root := opened.View.ID
	submit := func(id string) {
		t.Helper()
		resp, err := s.SubmitView(app.hsURL, id, map[string]map[string]string{"reason": {"text": "because"}}, "UALICE")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	answer = step.update
	submit(root)
	v := onlyView(t, s)
	if v.Closed || v.CallbackID != "cipp_confirm" || !strings.Contains(string(v.JSON), `"Confirm"`) || strings.Contains(string(v.JSON), opened.View.Hash) {
		t.Fatalf("after update = %+v", v)
	}

	answer = step.push
	submit(root)
	vs := s.Views()
	if len(vs) != 2 || vs[0].Closed || vs[1].Closed || vs[1].User != "UALICE" || vs[1].TriggerID != "" ||
		!strings.Contains(string(vs[1].JSON), `"previous_view_id":"`+root+`"`) || !strings.Contains(string(vs[1].JSON), `"root_view_id":"`+root+`"`) {
		t.Fatalf("after push = %+v", vs)
	}
	if _, err := s.SubmitView(app.hsURL, root, map[string]map[string]string{"reason": {"text": "because"}}, "UALICE"); err == nil {
		t.Fatal("submitted a view covered by a pushed one")
	}

	answer = `{"response_action":"clear"}`
	submit(vs[1].ID)
	for _, v := range s.Views() {
		if !v.Closed {
			t.Errorf("view %s still open after clear", v.ID)
		}
	}
}

type modalSteps struct{ update, push string }

func modalStep(m slack.ModalViewRequest) modalSteps {
	u, _ := json.Marshal(slack.NewUpdateViewSubmissionResponse(&m))
	p, _ := json.Marshal(slack.NewPushViewSubmissionResponse(&m))
	return modalSteps{update: string(u), push: string(p)}
}

func TestSubmitViewAppFailureKeepsModalOpen(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer hs.Close()
	opened, err := botClient(s).OpenViewContext(context.Background(), slashTrigger(t, s, "UALICE"), reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.SubmitView(hs.URL, opened.View.ID, map[string]map[string]string{"reason": {"text": "because"}}, "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := onlyView(t, s); v.Closed || !v.Submitted || v.Errors != nil || !strings.Contains(string(v.Response), "boom") {
		t.Fatalf("view = %+v", v)
	}
}

func TestSocketModeSubmitView(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	if _, err := s.SocketModeSubmitView("V1", nil, "UALICE"); err == nil {
		t.Fatal("submitted an unknown view")
	}
	sm, next := runSocketMode(t, s)
	next(socketmode.EventTypeHello) // sent once the server holds the connection; Connected can come first

	if _, err := s.SocketModeSlashCommand("/cipp", "reset alice", "C1", "UALICE"); err != nil {
		t.Fatal(err)
	}
	evt := next(socketmode.EventTypeSlashCommand)
	cmd := evt.Data.(slack.SlashCommand)
	if err := sm.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	opened, err := sm.OpenViewContext(context.Background(), cmd.TriggerID, reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	id := opened.View.ID
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := s.SocketModeSubmitView(id, map[string]map[string]string{"reason": {"nope": "because"}}, "UALICE"); err == nil {
		t.Fatal("submitted an unknown action")
	}
	envID, err := s.SocketModeSubmitView(id, map[string]map[string]string{"reason": {"text": "no idea"}}, "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	evt = next(socketmode.EventTypeInteractive)
	ic, ok := evt.Data.(slack.InteractionCallback)
	if !ok || ic.Type != slack.InteractionTypeViewSubmission || ic.View.ID != id || ic.View.State.Values["reason"]["text"].Value != "no idea" ||
		evt.Request.EnvelopeID != envID || !evt.Request.AcceptsResponsePayload {
		t.Fatalf("event = %+v", evt)
	}
	if err := sm.Ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{"reason": "Start with because"})); err != nil {
		t.Fatal(err)
	}
	v, err := s.WaitForView(ctx, func(v fakeslack.View) bool { return v.Errors != nil })
	if err != nil {
		t.Fatal(err)
	}
	if v.Closed || v.Errors["reason"] != "Start with because" {
		t.Fatalf("view = %+v", v)
	}
	if ack, err := s.WaitForAck(ctx, envID); err != nil || ack.Type != "interactive" {
		t.Fatalf("ack = %+v, %v", ack, err)
	}

	if _, err := s.SocketModeSubmitView(id, map[string]map[string]string{"reason": {"text": "because reasons"}}, "UALICE"); err != nil {
		t.Fatal(err)
	}
	evt = next(socketmode.EventTypeInteractive)
	if err := sm.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	v, err = s.WaitForView(ctx, func(v fakeslack.View) bool { return v.Closed })
	if err != nil {
		t.Fatal(err)
	}
	if v.Errors != nil || v.Values["reason"]["text"] != "because reasons" {
		t.Fatalf("closed view = %+v", v)
	}
}
