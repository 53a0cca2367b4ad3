package bot

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/cippbot/cippbot/actions"
)

// Command is one parsed chat command:
//
//	/cipp <verb> <target…> [word…] [key=value…] [--flag…] [reason="…"]
//
// Targets are the words that contain an @; other bare words are positional
// parameters. Order does not matter except among positional words.
//
// Command text is the one currency of requests: every way in reaches the
// engine as text in this grammar, and ParseCommand is its only reader.
// Slack's slash command and the console are typed text; Discord's typed
// options are written back into text by its adapter, each value quoted;
// every button carries a command (approve <id>, a follow-up, a choice
// that asks again); a form's answers complete a command (Ask); and a
// refusal's audit record keeps the command as it came. A structured
// command would need a second way in beside text for all of those, and
// two readers that must agree on every word. Text written by the program
// quotes each value with Quote, the one place that knows how, and a word
// that begins with a quote is only ever a word (a user, a name), never a
// flag or name=value: whatever a value holds, it cannot change what the
// command means.
type Command struct {
	Verb       string
	Targets    []string
	Positional []string
	Named      map[string]string
	Flags      []string
	Reason     string
}

// ParseCommand parses the text a technician typed after /cipp. It accepts
// straight and typographic quotes and the dashes phones put in for "--".
func ParseCommand(text string) (Command, error) {
	words, literal, err := splitWords(text)
	if err != nil {
		return Command{}, err
	}
	if len(words) > 0 && strings.EqualFold(words[0], "/cipp") && !literal[0] {
		words, literal = words[1:], literal[1:]
	}
	if len(words) == 0 {
		return Command{Verb: "help"}, nil
	}
	if strings.TrimSpace(words[0]) == "" {
		return Command{}, fmt.Errorf("the action is missing; /cipp help lists them")
	}
	c := Command{Verb: strings.ToLower(words[0]), Named: map[string]string{}}
	for i, w := range words[1:] {
		switch {
		case literal[i+1]:
			// A word that begins with a quote is only ever a word: a user,
			// a name, never a flag or name=value.
			if strings.Contains(w, "@") {
				c.Targets = append(c.Targets, strings.Trim(w, ",;"))
			} else {
				c.Positional = append(c.Positional, w)
			}
		case strings.HasPrefix(w, "--") && len(w) > 2:
			name := strings.ToLower(w[2:])
			if k, v, ok := strings.Cut(name, "="); ok { // --lifetime=60
				c.Named[k] = v
				continue
			}
			c.Flags = append(c.Flags, name)
		case isNamed(w):
			k, v, _ := strings.Cut(w, "=")
			k = strings.ToLower(k)
			if k == "reason" {
				if c.Reason != "" {
					return Command{}, fmt.Errorf("reason is given twice")
				}
				c.Reason = strings.TrimSpace(v)
				continue
			}
			if _, dup := c.Named[k]; dup {
				return Command{}, fmt.Errorf("%s is given twice", k)
			}
			c.Named[k] = v
		case strings.Contains(w, "@"):
			c.Targets = append(c.Targets, strings.Trim(w, ",;"))
		default:
			c.Positional = append(c.Positional, w)
		}
	}
	return c, nil
}

// isNamed reports whether w looks like key=value with a plain key.
func isNamed(w string) bool {
	k, _, ok := strings.Cut(w, "=")
	if !ok || k == "" {
		return false
	}
	for _, r := range k {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// splitWords splits text into words the way a shell would for quoting:
// "a b" and 'a b' are one word, quotes may start mid-word (reason="a b"),
// and a backslash escapes the next character inside double quotes. It
// also reports which words began with a quote.
// Outside quotes it also undoes what phone keyboards do: typographic
// quotes open and close words, an em or en dash starting a word stands for
// "--", and a no-break space separates. Inside quotes every character is
// kept as typed, so a reason may say 5” or Jan—Feb.
func splitWords(text string) ([]string, []bool, error) {
	var (
		words   []string
		literal []bool // the word began with a quote
		cur     strings.Builder
		close   []rune // the runes that end the open quote; nil when none is open
		open    rune   // the rune that opened it
		has     bool   // cur holds a word, possibly empty ("")
	)
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case close != nil && slices.Contains(close, r):
			close = nil
		case close != nil && open != '\'' && open != '\u2018' && r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
		case close != nil:
			cur.WriteRune(r)
		case r == '"':
			close, open = []rune{'"'}, r
			startQuote(&has, &literal)
		case r == '\u201c' || r == '\u201e' || r == '\u201d':
			close, open = []rune{'\u201d', '\u201c', '"'}, r
			startQuote(&has, &literal)
		case r == '\'':
			close, open = []rune{'\''}, r
			startQuote(&has, &literal)
		case r == '\u2018' && !has:
			close, open = []rune{'\u2019', '\''}, r
			startQuote(&has, &literal)
		case (r == '\u2014' || r == '\u2013') && !has:
			cur.WriteString("--")
			startWord(&has, &literal)
		case unicode.IsSpace(r):
			if has {
				words = append(words, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(r)
			startWord(&has, &literal)
		}
	}
	if close != nil {
		return nil, nil, fmt.Errorf("a %c quote is not closed", open)
	}
	if has {
		words = append(words, cur.String())
	}
	return words, literal, nil
}

// startWord notes a new word, unquoted, if none is under way.
func startWord(has *bool, literal *[]bool) {
	if !*has {
		*has = true
		*literal = append(*literal, false)
	}
}

// startQuote notes a quote: a word that begins with one is literal.
func startQuote(has *bool, literal *[]bool) {
	if !*has {
		*has = true
		*literal = append(*literal, true)
	}
}

// closest returns the candidate nearest to word by edit distance, if it is
// near enough to be a typo, or "".
func closest(word string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(word, c)
		if strings.HasPrefix(c, word) && len(word) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(word) <= 4 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each count one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Quote writes v as one literal word of the grammar: in double quotes,
// with backslashes and double quotes escaped. ParseCommand reads it back
// as v, and as a word only, never a flag or name=value. Everything that
// writes command text for the engine to read (buttons, forms, the Discord
// adapter) quotes values with it.
func Quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// rebuild writes a request back as command text, with param set to
// value if param is not "": what a choice button sends.
func rebuild(a *actions.Action, targets []string, p actions.Params, reason, param, value string) string {
	words := []string{a.Name}
	for _, t := range targets {
		words = append(words, Quote(t))
	}
	for _, prm := range a.Params {
		v, ok := p[prm.Name]
		if prm.Name == param {
			v, ok = value, true
		}
		if !ok {
			continue
		}
		if prm.Kind == actions.ParamBool {
			if v == "true" {
				words = append(words, "--"+prm.Name)
			}
			continue
		}
		words = append(words, prm.Name+"="+Quote(v))
	}
	if reason != "" {
		words = append(words, "reason="+Quote(reason))
	}
	return strings.Join(words, " ")
}
