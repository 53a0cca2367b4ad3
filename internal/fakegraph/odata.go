package fakegraph

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// collection describes how a collection route may be queried.
type collection struct {
	// entity is the Graph type name used in messages, e.g. "user".
	entity string
	// context is the @odata.context fragment, e.g. "users".
	context string
	// filterable lists the properties $filter may use.
	filterable []string
	// sortable lists the properties $orderby may use.
	sortable []string
	// pageSize is the default page size.
	pageSize int
	// maxTop is the largest $top accepted.
	maxTop int
	// operators, when set, lists for each property in filterable the
	// comparison operators ("eq", "ne", "in", "startsWith") its $filter
	// may use, as the resource's documentation states them; nil allows
	// eq, in and startsWith on every filterable property (and no ne,
	// which directory objects support only in advanced queries).
	operators map[string][]string
	// plainCount lets $count=true work without the ConsistencyLevel
	// header, for collections that are not directory objects.
	plainCount bool
	// skip accepts $skip, applied after $filter and $orderby.
	skip bool
}

// option returns the value of a normalized query option.
func (c *call) option(name string) (string, bool) {
	v, ok := c.query[name]
	if !ok || len(v) == 0 {
		return "", ok
	}
	return v[0], true
}

// parseSelect returns the properties named by $select (canonical case) or
// nil when $select is absent.
func parseSelect(c *call, entity string, known []string) ([]string, *reply) {
	v, ok := c.option("$select")
	if !ok {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == "*" {
			return slices.Clone(known), nil
		}
		i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, p) })
		if i < 0 {
			return nil, graphErr(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, entity))
		}
		out = append(out, known[i])
	}
	if len(out) == 0 {
		return nil, graphErr(http.StatusBadRequest, "BadRequest", "Invalid $select properties.")
	}
	return out, nil
}

// selectContext returns "users(a,b)" style context fragments for a
// selection.
func selectContext(set string, sel []string) string {
	if len(sel) == 0 {
		return set
	}
	return set + "(" + strings.Join(sel, ",") + ")"
}

// query applies $filter, $orderby, $count, $top and $skiptoken to items
// and returns the page, the next link (or "") and the total count.
func (c *call) queryCollection(items []obj, col collection) ([]obj, string, int, *reply) {
	if f, ok := c.option("$filter"); ok {
		expr, err := parseFilterOps(f, col.filterable, col.operators)
		if err != nil {
			return nil, "", 0, graphErr(http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error())
		}
		var kept []obj
		for _, it := range items {
			if expr.eval(it) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if ob, ok := c.option("$orderby"); ok {
		if err := orderBy(items, ob, col.sortable); err != nil {
			return nil, "", 0, graphErr(http.StatusBadRequest, "Request_UnsupportedQuery", "Sorting not supported for current query: "+err.Error())
		}
	}
	if cnt, ok := c.option("$count"); ok {
		switch strings.ToLower(cnt) {
		case "true", "false":
		default:
			return nil, "", 0, graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid value '%s' for $count query option found. The $count query option requires a Boolean value.", cnt))
		}
		if strings.EqualFold(cnt, "true") && !col.plainCount && !strings.EqualFold(c.header.Get("ConsistencyLevel"), "eventual") {
			return nil, "", 0, badRequest("$count is not currently supported.")
		}
	}
	total := len(items)
	if v, ok := c.option("$skip"); ok {
		n, err := strconv.Atoi(v)
		if !col.skip {
			return nil, "", 0, graphErr(http.StatusBadRequest, "BadRequest", "Query option '$skip' is not supported.")
		}
		if err != nil || n < 0 {
			return nil, "", 0, graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid value '%s' for $skip query option found.", v))
		}
		items = items[min(n, len(items)):]
	}
	size := col.pageSize
	if v, ok := c.option("$top"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > col.maxTop {
			return nil, "", 0, graphErr(http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, col.maxTop))
		}
		size = n
	}
	offset := 0
	if v, ok := c.option("$skiptoken"); ok {
		n, err := decodeSkipToken(v)
		if err != nil {
			return nil, "", 0, graphErr(http.StatusBadRequest, "Request_UnsupportedQuery", "Specified skip token is invalid.")
		}
		offset = n
	}
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+size, len(items))
	next := ""
	if end < len(items) {
		q, _ := url.ParseQuery(c.rawQuery)
		for k := range q {
			if strings.EqualFold(strings.TrimPrefix(k, "$"), "skiptoken") {
				q.Del(k)
			}
		}
		q.Set("$skiptoken", encodeSkipToken(end))
		next = c.base + c.path() + "?" + q.Encode()
	}
	return items[offset:end], next, total, nil
}

// listReply builds a collection response.
func (c *call) listReply(contextFragment string, page []obj, next string, total int) *reply {
	body := obj{{"@odata.context", c.context(contextFragment)}}
	if cnt, _ := c.option("$count"); strings.EqualFold(cnt, "true") {
		body = append(body, field{"@odata.count", total})
	}
	if next != "" {
		body = append(body, field{"@odata.nextLink", next})
	}
	if page == nil {
		page = []obj{}
	}
	return okReply(append(body, field{"value", page}))
}

// encodeSkipToken makes an opaque paging token for an offset.
func encodeSkipToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

// decodeSkipToken reverses encodeSkipToken.
func decodeSkipToken(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, fmt.Errorf("skip token: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(b), "offset:") {
		return 0, errors.New("skip token: malformed")
	}
	return n, nil
}

// orderBy sorts items in place by a "$orderby" clause.
func orderBy(items []obj, clause string, sortable []string) error {
	type key struct {
		prop string
		desc bool
	}
	var keys []key
	for _, part := range strings.Split(clause, ",") {
		fields := strings.Fields(part)
		if len(fields) == 0 || len(fields) > 2 {
			return fmt.Errorf("malformed clause '%s'", strings.TrimSpace(part))
		}
		i := slices.IndexFunc(sortable, func(s string) bool { return strings.EqualFold(s, fields[0]) })
		if i < 0 {
			return fmt.Errorf("property '%s' cannot be sorted", fields[0])
		}
		k := key{prop: sortable[i]}
		if len(fields) == 2 {
			switch strings.ToLower(fields[1]) {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return fmt.Errorf("unknown direction '%s'", fields[1])
			}
		}
		keys = append(keys, k)
	}
	slices.SortStableFunc(items, func(a, b obj) int {
		for _, k := range keys {
			av, _ := a.get(k.prop)
			bv, _ := b.get(k.prop)
			r := strings.Compare(strings.ToLower(valueString(av)), strings.ToLower(valueString(bv)))
			if k.desc {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return 0
	})
	return nil
}

// valueString renders a JSON value for comparison in $filter and
// $orderby.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	default:
		return fmt.Sprint(x)
	}
}

// filterExpr is a parsed $filter expression.
type filterExpr interface {
	eval(o obj) bool
}

// orFilter matches when any part matches.
type orFilter []filterExpr

func (f orFilter) eval(o obj) bool {
	for _, p := range f {
		if p.eval(o) {
			return true
		}
	}
	return false
}

// andFilter matches when every part matches.
type andFilter []filterExpr

func (f andFilter) eval(o obj) bool {
	for _, p := range f {
		if !p.eval(o) {
			return false
		}
	}
	return true
}

// maxInValues is the most values an "in" takes.
const maxInValues = 15

// eqFilter matches when the property equals one of values (ignoring
// case); it serves both "eq" and "in".
type eqFilter struct {
	prop   string
	values []string
}

func (f eqFilter) eval(o obj) bool {
	v, _ := o.lookup(f.prop)
	s := valueString(v)
	for _, want := range f.values {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// neFilter matches when the property differs from value (ignoring
// case).
type neFilter struct {
	prop  string
	value string
}

func (f neFilter) eval(o obj) bool {
	v, _ := o.lookup(f.prop)
	return !strings.EqualFold(valueString(v), f.value)
}

// startsWithFilter matches a case-insensitive prefix.
type startsWithFilter struct {
	prop   string
	prefix string
}

func (f startsWithFilter) eval(o obj) bool {
	v, _ := o.lookup(f.prop)
	s, ok := v.(string)
	return ok && strings.HasPrefix(strings.ToLower(s), strings.ToLower(f.prefix))
}

// filterToken is one lexical token of a $filter expression.
type filterToken struct {
	kind byte // 'i' identifier, 's' string, or one of "(),", 0 at the end
	text string
	pos  int
}

// lexFilter splits a $filter expression into tokens.
func lexFilter(s string) ([]filterToken, error) {
	var out []filterToken
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case ch == '(' || ch == ')' || ch == ',':
			out = append(out, filterToken{kind: ch, text: string(ch), pos: i})
			i++
		case ch == '\'':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string literal at position %d", start)
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, filterToken{kind: 's', text: b.String(), pos: start})
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \t(),'", rune(s[i])) {
				i++
			}
			out = append(out, filterToken{kind: 'i', text: s[start:i], pos: start})
		}
	}
	return append(out, filterToken{pos: len(s)}), nil
}

// filterParser is a recursive-descent parser for the supported subset of
// OData $filter: eq, ne, in, startswith(), and, or and parentheses.
type filterParser struct {
	toks  []filterToken
	i     int
	props []string
	// ops, when set, lists the operators each property allows (see
	// collection.operators).
	ops map[string][]string
}

// parseFilter parses expr, allowing only the listed properties.
func parseFilter(expr string, props []string) (filterExpr, error) {
	return parseFilterOps(expr, props, nil)
}

// parseFilterOps parses expr, allowing only the listed properties and,
// when ops is set, only the operators it lists for each.
func parseFilterOps(expr string, props []string, ops map[string][]string) (filterExpr, error) {
	toks, err := lexFilter(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, props: props, ops: ops}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 0 {
		return nil, fmt.Errorf("syntax error at position %d in '%s'", t.pos, expr)
	}
	return e, nil
}

func (p *filterParser) peek() filterToken { return p.toks[p.i] }

func (p *filterParser) next() filterToken {
	t := p.toks[p.i]
	if t.kind != 0 {
		p.i++
	}
	return t
}

func (p *filterParser) keyword(word string) bool {
	t := p.peek()
	if t.kind == 'i' && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}

func (p *filterParser) expect(kind byte) (filterToken, error) {
	t := p.next()
	if t.kind != kind {
		want := string(kind)
		switch kind {
		case 's':
			want = "a string literal"
		case 'i':
			want = "a property name"
		}
		got := t.text
		if t.kind == 0 {
			got = "end of expression"
		}
		return t, fmt.Errorf("expected %s at position %d but found '%s'", want, t.pos, got)
	}
	return t, nil
}

func (p *filterParser) or() (filterExpr, error) {
	var parts orFilter
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
		if !p.keyword("or") {
			break
		}
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts, nil
}

func (p *filterParser) and() (filterExpr, error) {
	var parts andFilter
	for {
		e, err := p.term()
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
		if !p.keyword("and") {
			break
		}
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts, nil
}

func (p *filterParser) property(t filterToken) (string, error) {
	i := slices.IndexFunc(p.props, func(s string) bool { return strings.EqualFold(s, t.text) })
	if i < 0 {
		return "", fmt.Errorf("filtering on property '%s' is not supported", t.text)
	}
	return p.props[i], nil
}

// allow checks that prop may be compared with op.
func (p *filterParser) allow(prop, op string) error {
	if p.ops == nil {
		if op == "ne" {
			return fmt.Errorf("operator '%s' is not supported", op)
		}
		return nil
	}
	if !containsFold(p.ops[prop], op) {
		return fmt.Errorf("operator '%s' is not supported on property '%s'", op, prop)
	}
	return nil
}

func (p *filterParser) literal() (string, error) {
	t := p.next()
	switch {
	case t.kind == 's':
		return t.text, nil
	case t.kind == 'i' && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false") || strings.EqualFold(t.text, "null")):
		return strings.ToLower(t.text), nil
	case t.kind == 'i' && isGUID(t.text):
		return t.text, nil
	}
	return "", fmt.Errorf("expected a literal at position %d", t.pos)
}

func (p *filterParser) term() (filterExpr, error) {
	if p.peek().kind == '(' {
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return e, nil
	}
	t, err := p.expect('i')
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(t.text, "startswith") {
		if _, err := p.expect('('); err != nil {
			return nil, err
		}
		pt, err := p.expect('i')
		if err != nil {
			return nil, err
		}
		prop, err := p.property(pt)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(','); err != nil {
			return nil, err
		}
		lit, err := p.expect('s')
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		if err := p.allow(prop, "startsWith"); err != nil {
			return nil, err
		}
		return startsWithFilter{prop, lit.text}, nil
	}
	if p.peek().kind == '(' {
		return nil, fmt.Errorf("function '%s' is not supported", t.text)
	}
	prop, err := p.property(t)
	if err != nil {
		return nil, err
	}
	op, err := p.expect('i')
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(op.text) {
	case "eq", "ne":
		name := strings.ToLower(op.text)
		if err := p.allow(prop, name); err != nil {
			return nil, err
		}
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		if name == "ne" {
			return neFilter{prop, v}, nil
		}
		return eqFilter{prop, []string{v}}, nil
	case "in":
		if err := p.allow(prop, "in"); err != nil {
			return nil, err
		}
		if _, err := p.expect('('); err != nil {
			return nil, err
		}
		var vals []string
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if p.peek().kind != ',' {
				break
			}
			p.next()
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		// "in" is limited to 15 expressions in the filter clause
		// (https://learn.microsoft.com/en-us/graph/filter-query-parameter#operators-and-functions-supported-in-filter-expressions).
		if len(vals) > maxInValues {
			return nil, fmt.Errorf("Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: %d.", len(vals), maxInValues)
		}
		return eqFilter{prop, vals}, nil
	}
	return nil, fmt.Errorf("operator '%s' is not supported", op.text)
}
