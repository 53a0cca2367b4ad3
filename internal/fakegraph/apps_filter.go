package fakegraph

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// timeBound is one "prop op DateTimeOffset" clause of a $filter, e.g.
// "createdDateTime ge 2026-11-23T00:00:00Z".
type timeBound struct {
	prop string
	op   string
	at   time.Time
}

// holds reports whether the rendered value v satisfies the bound.
func (b timeBound) holds(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return false
	}
	switch b.op {
	case "ge":
		return !t.Before(b.at)
	case "gt":
		return t.After(b.at)
	case "le":
		return !t.After(b.at)
	case "lt":
		return t.Before(b.at)
	}
	return t.Equal(b.at)
}

// splitTopLevel splits a $filter expression on the keyword word ("and"
// or "or") where it is outside parentheses and string literals.
func splitTopLevel(expr, word string) []string {
	var parts []string
	depth, inQuote, start := 0, false, 0
	lower := strings.ToLower(expr)
	for i := 0; i < len(expr); i++ {
		switch ch := expr[i]; {
		case ch == '\'':
			inQuote = !inQuote
		case inQuote:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case depth == 0 && (ch == ' ' || ch == '\t'):
			rest := lower[i+1:]
			if strings.HasPrefix(rest, word) && len(rest) > len(word) && (rest[len(word)] == ' ' || rest[len(word)] == '\t') {
				parts = append(parts, expr[start:i])
				start = i + 1 + len(word)
				i = start - 1
			}
		}
	}
	return append(parts, expr[start:])
}

// takeTimeBounds removes from the call's $filter the top-level "and"
// clauses that compare one of props with a DateTimeOffset (ge, gt, le,
// lt, eq), which the general filter parser does not understand, and
// returns them; what is left stays in $filter for queryCollection. A
// filter with a top-level "or" is left alone. The next link keeps the
// original query, so every page is filtered the same way.
func (c *call) takeTimeBounds(props []string) ([]timeBound, *reply) {
	expr, ok := c.option("$filter")
	if !ok || len(splitTopLevel(expr, "or")) > 1 {
		return nil, nil
	}
	var bounds []timeBound
	var rest []string
	for _, clause := range splitTopLevel(expr, "and") {
		f := strings.Fields(clause)
		if len(f) != 3 || !containsFold(props, f[0]) {
			rest = append(rest, strings.TrimSpace(clause))
			continue
		}
		op := strings.ToLower(f[1])
		switch op {
		case "ge", "gt", "le", "lt", "eq":
		default:
			rest = append(rest, strings.TrimSpace(clause))
			continue
		}
		lit := strings.Trim(f[2], "'")
		at, err := time.Parse(time.RFC3339Nano, lit)
		if err != nil {
			return nil, graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf(
				"Invalid filter clause: The DateTimeOffset text '%s' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.", lit))
		}
		prop := props[0]
		for _, p := range props {
			if strings.EqualFold(p, f[0]) {
				prop = p
			}
		}
		bounds = append(bounds, timeBound{prop: prop, op: op, at: at})
	}
	if len(rest) == 0 {
		delete(c.query, "$filter")
	} else {
		c.query["$filter"] = []string{strings.Join(rest, " and ")}
	}
	return bounds, nil
}

// keepWithin returns the items that satisfy every bound.
func keepWithin(items []obj, bounds []timeBound) []obj {
	if len(bounds) == 0 {
		return items
	}
	var out []obj
	for _, it := range items {
		ok := true
		for _, b := range bounds {
			v, _ := it.get(b.prop)
			if !b.holds(v) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, it)
		}
	}
	return out
}
