package fakegraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Every v1.0 request, and every item of a v1.0 $batch, is held to
// Microsoft's published v1.0 schema (schema/graph-v1.0.csdl) before it is
// authorized and routed, and answered the way Graph's OData layer answers
// a request the schema does not allow: 400 BadRequest with its message.
// https://learn.microsoft.com/en-us/graph/traverse-the-graph describes the
// schema as the contract of every path and property;
// https://learn.microsoft.com/en-us/graph/query-parameters the query
// options checked here; https://learn.microsoft.com/en-us/graph/errors the
// error shape.
//
//   - Each path segment must resolve: an entity set or singleton, a key, a
//     structural or navigation property, a cast to the addressed type or
//     one derived from it, an action or function bound to the addressed
//     type (simple or namespace-qualified name), $ref, $count or $value.
//     A key may also address by path ("root:/a/b:", "{host}:/sites/x").
//   - $select, $filter, $orderby and $expand (with the options nested in
//     it) may name only properties of the addressed type; the properties of
//     a derived type only after a cast to it.
//   - A POST, PATCH or PUT body may carry only properties of the type it
//     writes (an "@odata.type" may name a derived type), complex values
//     only their own type's properties, and an action call only the
//     action's parameters. Annotations ("@odata.type", "@odata.id",
//     "members@odata.bind") are allowed, a "prop@..." one only for a
//     property of the type.
//
// Names are matched ignoring case, since Graph takes path resource
// names, query parameters, actions, functions and body parameters,
// property names included, as case-insensitive
// (https://learn.microsoft.com/en-us/graph/traverse-the-graph). An open
// complex type takes any member; an open entity type (the directory
// objects) only extension properties, whose names hold an underscore
// (https://learn.microsoft.com/en-us/graph/extensibility-overview).
//
// Beta requests are not checked: there is no beta schema here. The
// simulated tenant's own v1.0 answers are checked against the schema as
// well (checkV1Response), so that it never serves a property that v1.0
// does not have.

// schemaTarget is what a v1.0 request path addresses.
type schemaTarget struct {
	// typ is the entity or complex type addressed (of the elements, for
	// a collection); nil for a primitive, enum or untyped result.
	typ  *edmType
	coll bool
	// op is set when the last segment is a bound action or function.
	op *edmOperation
	// ref, count and value mark a final $ref, $count or $value.
	ref, count, value bool
	// prim is the primitive or enum type name when typ is nil.
	prim string
}

// schemaError is the 400 Graph answers for a request the schema does not
// allow.
func schemaError(format string, args ...any) *reply {
	return graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...))
}

// noProperty is the OData message for an unknown property name.
func noProperty(name string, t *edmType) *reply {
	return schemaError("Could not find a property named '%s' on type '%s'.", name, typeName(t))
}

// typeName names t for messages.
func typeName(t *edmType) string {
	if t == nil {
		return "Edm.Untyped"
	}
	return t.name
}

// checkV1Request resolves a v1.0 call's path against the schema and
// checks its query options and body; the target is nil for calls that are
// not checked (beta, the service root, $batch itself, $metadata).
func checkV1Request(c *call) (*schemaTarget, *reply) {
	if c.version != "v1.0" || len(c.segs) == 0 || c.seg(0) == "$batch" || c.seg(0) == "$metadata" {
		return nil, nil
	}
	m := v1Model()
	tgt, rep := m.resolvePath(c.segs)
	if rep != nil {
		return nil, rep
	}
	if rep := m.checkQuery(c, tgt); rep != nil {
		return nil, rep
	}
	if rep := m.checkRequestBody(c, tgt); rep != nil {
		return nil, rep
	}
	return tgt, nil
}

// splitCall splits a segment "name(args)" into its name and the text
// between the parentheses; hasArgs reports whether there were any.
func splitCall(seg string) (name, args string, hasArgs bool) {
	i := strings.IndexByte(seg, '(')
	if i <= 0 || !strings.HasSuffix(seg, ")") {
		return seg, "", false
	}
	return seg[:i], seg[i+1 : len(seg)-1], true
}

// resolvePath walks the path segments (without the version) through the
// schema.
func (m *edmModel) resolvePath(segs []string) (*schemaTarget, *reply) {
	name, _, keyed := splitCall(segs[0])
	src := m.sources[strings.ToLower(name)]
	if src == nil {
		return nil, segmentNotFound(segs[0])
	}
	tgt := &schemaTarget{typ: src.typ, coll: !src.singleton}
	if keyed {
		if src.singleton {
			return nil, segmentNotFound(segs[0])
		}
		tgt.coll = false
	}
	for i := 1; i < len(segs); i++ {
		seg := segs[i]
		if tgt.ref || tgt.count || tgt.value || tgt.op != nil && tgt.op.action {
			return nil, segmentNotFound(seg)
		}
		switch seg {
		case "$ref":
			if tgt.typ == nil || tgt.typ.kind != edmEntity {
				return nil, segmentNotFound(seg)
			}
			tgt.ref = true
			continue
		case "$count":
			if !tgt.coll {
				return nil, segmentNotFound(seg)
			}
			tgt.count = true
			continue
		case "$value":
			if tgt.coll {
				return nil, segmentNotFound(seg)
			}
			tgt.value = true
			continue
		}
		if tgt.typ == nil {
			return nil, segmentNotFound(seg)
		}
		if j := pathColon(seg); j > 0 {
			// Addressing by path: "{key}:/a/b:" in a collection,
			// "root:/a/b:" for a navigation property; the path runs to
			// the segment that ends in ':', or to the end.
			if tgt.coll {
				if tgt.typ.kind != edmEntity {
					return nil, segmentNotFound(seg)
				}
				tgt.coll = false
			} else {
				p := tgt.typ.property(seg[:j])
				if p == nil || !p.nav || p.ref.coll {
					return nil, segmentNotFound(seg)
				}
				tgt.typ = m.structured(p.ref)
			}
			tgt.op = nil
			if rest := seg[j+1:]; rest == "" || !strings.HasSuffix(rest, ":") {
				i = skipPathAddress(segs, i)
			}
			continue
		}
		name, args, hasArgs := splitCall(seg)
		if t := m.cast(name, tgt.typ); t != nil {
			tgt.typ, tgt.op = t, nil
			if hasArgs && tgt.coll {
				tgt.coll = false
			}
			continue
		}
		if op := m.boundOperation(name, tgt.typ, tgt.coll); op != nil {
			if rep := checkFunctionArgs(op, seg, args, hasArgs); rep != nil {
				return nil, rep
			}
			tgt.op = op
			tgt.typ, tgt.coll, tgt.prim = nil, false, ""
			if op.returns != nil {
				tgt.coll = op.returns.coll
				if tgt.typ = m.structured(*op.returns); tgt.typ == nil {
					tgt.prim = op.returns.name
				}
			}
			continue
		}
		tgt.op = nil
		if tgt.coll {
			if tgt.typ.kind != edmEntity {
				return nil, segmentNotFound(seg)
			}
			tgt.coll = false // a key
			continue
		}
		p := tgt.typ.property(name)
		if p == nil {
			return nil, segmentNotFound(seg)
		}
		tgt.coll = p.ref.coll
		if tgt.typ = m.structured(p.ref); tgt.typ == nil {
			tgt.prim = p.ref.name
		}
		if hasArgs && p.nav && tgt.coll {
			tgt.coll = false
		}
	}
	return tgt, nil
}

// pathColon returns the index of the ':' that starts addressing by path
// in a segment ("root:", "contoso.sharepoint.com:/sites/x"), or -1: one
// before any parenthesis, so that function arguments ("…T09:00:00")
// do not count.
func pathColon(seg string) int {
	j := strings.IndexByte(seg, ':')
	if p := strings.IndexByte(seg, '('); p >= 0 && p < j {
		return -1
	}
	return j
}

// skipPathAddress returns the index of the segment that ends the path
// address begun at segs[i] (which ends in ':'): the next one that ends in
// ':', or the last one.
func skipPathAddress(segs []string, i int) int {
	for j := i + 1; j < len(segs); j++ {
		if strings.HasSuffix(segs[j], ":") {
			return j
		}
	}
	return len(segs) - 1
}

// checkFunctionArgs checks the parameter names of a function call
// segment such as "reminderView(StartDateTime='…',EndDateTime='…')";
// actions take theirs in the body.
func checkFunctionArgs(op *edmOperation, seg, args string, hasArgs bool) *reply {
	if !hasArgs {
		return nil
	}
	if op.action {
		return segmentNotFound(seg)
	}
	for _, a := range splitTop(args, ',') {
		name, _, ok := strings.Cut(a, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		if op.param(name) == nil {
			return schemaError("The parameter '%s' is not in scope of the function '%s'.", name, op.name)
		}
	}
	return nil
}

// splitTop splits s on sep where it is outside parentheses and string
// literals.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\'':
			quoted = !quoted
		case quoted:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// checkQuery checks the property names of $select, $filter, $orderby
// and $expand against the addressed type.
func (m *edmModel) checkQuery(c *call, tgt *schemaTarget) *reply {
	t := tgt.typ
	for _, name := range []string{"$select", "$expand", "$filter", "$orderby"} {
		v, ok := c.option(name)
		if !ok {
			continue
		}
		if t == nil || tgt.value || tgt.ref && name != "$filter" && name != "$orderby" {
			return schemaError("Query option '%s' is not allowed for this request.", name)
		}
		if rep := m.checkOption(name, v, t); rep != nil {
			return rep
		}
	}
	return nil
}

// checkOption checks one query option's value against type t.
func (m *edmModel) checkOption(name, v string, t *edmType) *reply {
	switch name {
	case "$select":
		return m.checkSelect(v, t)
	case "$expand":
		return m.checkExpand(v, t)
	case "$filter":
		return m.checkFilter(v, t)
	case "$orderby":
		return m.checkOrderBy(v, t)
	}
	return nil
}

// dynamicAllowed reports whether name may be a dynamic property of t: any
// name on an open complex type, and on an open entity type (directory
// objects) the directory and schema extension properties, whose names
// hold an underscore ("extension_{appId}_{name}").
func dynamicAllowed(t *edmType, name string) bool {
	if t == nil || !t.open {
		return false
	}
	return t.kind == edmComplex || strings.Contains(name, "_")
}

// checkSelect checks "$select=a,b/c,microsoft.graph.user/d,*".
func (m *edmModel) checkSelect(v string, t *edmType) *reply {
	for _, item := range splitTop(v, ',') {
		item = strings.TrimSpace(item)
		if item == "" || item == "*" {
			continue
		}
		cur := t
		for _, seg := range strings.Split(item, "/") {
			if cur == nil {
				return schemaError("Found a path with multiple navigation properties or a bad complex property path in a select clause. Please reword your query such that each level of select or expand only contains either TypeSegments or Properties.")
			}
			if seg == "*" {
				break
			}
			if ct := m.cast(seg, cur); ct != nil {
				cur = ct
				continue
			}
			p := cur.property(seg)
			if p == nil {
				if dynamicAllowed(cur, seg) || m.boundOperation(seg, cur, false) != nil {
					cur = nil
					continue
				}
				return noProperty(seg, cur)
			}
			cur = m.structured(p.ref)
			if p.nav {
				cur = nil
			}
		}
	}
	return nil
}

// checkExpand checks "$expand=nav,nav/microsoft.graph.x($select=…;$expand=…),*".
func (m *edmModel) checkExpand(v string, t *edmType) *reply {
	for _, item := range splitTop(v, ',') {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		path, opts, _ := strings.Cut(item, "(")
		path = strings.TrimSpace(path)
		if path == "*" || path == "*/$ref" {
			continue
		}
		cur := t
		var target *edmType
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			if seg == "$ref" && i == len(segs)-1 && target != nil {
				break
			}
			if ct := m.cast(seg, cur); ct != nil && cur != nil {
				cur = ct
				if target != nil {
					target = ct
				}
				continue
			}
			if target != nil || cur == nil {
				return schemaError("Found a path with multiple navigation properties or a bad complex property path in an expand clause. Please reword your query such that each level of select or expand only contains either TypeSegments or Properties.")
			}
			p := cur.property(seg)
			if p == nil {
				return noProperty(seg, cur)
			}
			if !p.nav {
				st := m.structured(p.ref)
				if st == nil || st.kind != edmComplex {
					return schemaError("Property '%s' on type '%s' is not a navigation property or complex property. Only navigation properties can be expanded.", p.name, cur.name)
				}
				cur = st
				continue
			}
			target = m.structured(p.ref)
			cur = target
		}
		if target == nil {
			return schemaError("Property '%s' on type '%s' is not a navigation property or complex property. Only navigation properties can be expanded.", path, t.name)
		}
		if opts == "" {
			continue
		}
		opts = strings.TrimSuffix(strings.TrimSpace(opts), ")")
		for _, o := range splitTop(opts, ';') {
			k, val, _ := strings.Cut(strings.TrimSpace(o), "=")
			k = strings.ToLower(strings.TrimSpace(k))
			if !strings.HasPrefix(k, "$") {
				k = "$" + k
			}
			if rep := m.checkOption(k, val, target); rep != nil {
				return rep
			}
		}
	}
	return nil
}

// checkOrderBy checks "$orderby=a/b desc,c".
func (m *edmModel) checkOrderBy(v string, t *edmType) *reply {
	for _, item := range splitTop(v, ',') {
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		if _, rep := m.filterPath(f[0], t, nil); rep != nil {
			return rep
		}
	}
	return nil
}

// filterScope is a lambda variable of a $filter ("x" in
// "assignedLicenses/any(x:x/skuId eq …)") and the type of what it
// ranges over; typ is nil for a primitive collection.
type filterScope struct {
	name string
	typ  *edmType
}

// filterRef is what a $filter path resolves to.
type filterRef struct {
	typ  *edmType
	coll bool
}

// filterPath resolves a property path of a $filter or $orderby, such as
// "displayName", "customer/tenantId", "x/skuId" (a lambda variable) or
// "microsoft.graph.user/mail", against t.
func (m *edmModel) filterPath(path string, t *edmType, scopes []filterScope) (filterRef, *reply) {
	segs := strings.Split(path, "/")
	cur := filterRef{typ: t}
	start := 0
	for i := len(scopes) - 1; i >= 0; i-- {
		if segs[0] == scopes[i].name {
			cur = filterRef{typ: scopes[i].typ}
			start = 1
			break
		}
	}
	if segs[0] == "$it" || segs[0] == "$this" {
		start = 1
	}
	for _, seg := range segs[start:] {
		if seg == "$count" && cur.coll {
			cur = filterRef{}
			continue
		}
		if cur.coll || cur.typ == nil {
			return cur, noProperty(seg, cur.typ)
		}
		if ct := m.cast(seg, cur.typ); ct != nil {
			cur.typ = ct
			continue
		}
		p := cur.typ.property(seg)
		if p == nil {
			if dynamicAllowed(cur.typ, seg) {
				return filterRef{}, nil
			}
			return cur, noProperty(seg, cur.typ)
		}
		cur = filterRef{typ: m.structured(p.ref), coll: p.ref.coll}
	}
	return cur, nil
}

// filterKeywords are the operators and literals of OData's $filter
// syntax that are not property names.
var filterKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
	"has": true, "in": true, "add": true, "sub": true, "mul": true, "div": true, "divby": true, "mod": true,
	"true": true, "false": true, "null": true, "inf": true, "-inf": true, "nan": true,
}

// isFilterLiteral reports whether an unquoted token is a literal: a
// keyword, a number, a date or time, or a GUID.
func isFilterLiteral(s string) bool {
	if filterKeywords[strings.ToLower(s)] || isGUID(s) {
		return true
	}
	c := s[0]
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.'
}

// checkFilter checks every property path a $filter expression names;
// it understands the OData syntax (operators, literals, function calls,
// any/all lambdas with their variables), not only what the simulated
// tenant can evaluate.
func (m *edmModel) checkFilter(expr string, t *edmType) *reply {
	toks, err := lexFilter(expr)
	if err != nil {
		return schemaError("Invalid filter clause: %s", err.Error())
	}
	w := &filterWalker{m: m, toks: toks, typ: t}
	w.walk()
	return w.rep
}

// filterWalker visits the tokens of a $filter expression.
type filterWalker struct {
	m      *edmModel
	toks   []filterToken
	i      int
	typ    *edmType
	scopes []filterScope
	rep    *reply
}

// walk visits tokens up to the ')' that closes the current level, or the
// end.
func (w *filterWalker) walk() {
	depth := 0
	for w.rep == nil {
		t := w.toks[w.i]
		switch t.kind {
		case 0:
			return
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return
			}
			depth--
		case 'i':
			next := w.toks[w.i+1]
			switch {
			case next.kind == 's' && next.pos == t.pos+len(t.text):
				// A typed literal: duration'P1D', microsoft.graph.x'value'.
				w.i++
			case next.kind == '(' && isLambda(t.text):
				w.lambda(t.text)
				continue
			case next.kind == '(':
				// A function call: its arguments are visited as they come.
			case isFilterLiteral(t.text):
			default:
				w.path(t.text)
			}
		}
		w.i++
	}
}

// isLambda reports whether a token such as "assignedLicenses/any" opens
// a lambda.
func isLambda(s string) bool {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return false
	}
	op := strings.ToLower(s[i+1:])
	return op == "any" || op == "all"
}

// path checks one property path.
func (w *filterWalker) path(p string) {
	_, w.rep = w.m.filterPath(p, w.typ, w.scopes)
}

// lambda visits "coll/any(x:x/prop eq …)" starting at its first token.
func (w *filterWalker) lambda(text string) {
	coll := text[:strings.LastIndexByte(text, '/')]
	ref, rep := w.m.filterPath(coll, w.typ, w.scopes)
	if rep != nil {
		w.rep = rep
		return
	}
	w.i += 2 // the collection and '('
	t := w.toks[w.i]
	if t.kind == 'i' && strings.Contains(t.text, ":") {
		name, rest, _ := strings.Cut(t.text, ":")
		w.scopes = append(w.scopes, filterScope{name: name, typ: ref.typ})
		defer func() { w.scopes = w.scopes[:len(w.scopes)-1] }()
		if rest != "" {
			w.toks[w.i].text = rest
			w.toks[w.i].pos += len(name) + 1
		} else {
			w.i++
		}
	}
	w.walk()
	if w.rep == nil && w.toks[w.i].kind == ')' {
		w.i++
	}
}

// bodyProperty is the OData message for a body member the type does not
// have.
func bodyProperty(name string, t *edmType) *reply {
	return schemaError("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, typeName(t))
}

// checkRequestBody checks a POST, PATCH or PUT body against the type it
// writes or the parameters of the action it calls.
func (m *edmModel) checkRequestBody(c *call, tgt *schemaTarget) *reply {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	switch c.method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
	default:
		return nil
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(c.body, &body) != nil || body == nil {
		return nil // the handlers answer for a body that is not an object
	}
	switch {
	case tgt.op != nil:
		if !tgt.op.action {
			return nil
		}
		return m.checkParameters(tgt.op, body)
	case tgt.ref:
		for _, k := range sortedKeys(body) {
			if !strings.HasPrefix(k, "@") {
				return schemaError("The property '%s' is not allowed in an entity reference payload; only '@odata.id' is.", k)
			}
		}
		return nil
	case tgt.typ != nil && !tgt.count && !tgt.value:
		if c.method == http.MethodPost && !tgt.coll && tgt.typ.kind == edmEntity {
			// POST to a single entity is not a create; the handlers
			// answer for it.
			return nil
		}
		return m.checkObject(tgt.typ, body)
	}
	return nil
}

// sortedKeys returns the keys of a JSON object in order, so that the
// first violation reported does not depend on map order.
func sortedKeys[V any](o map[string]V) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkParameters checks the body of an action call.
func (m *edmModel) checkParameters(op *edmOperation, body map[string]json.RawMessage) *reply {
	for _, k := range sortedKeys(body) {
		if strings.HasPrefix(k, "@") {
			continue
		}
		p := op.param(k)
		if p == nil {
			return schemaError("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", k, op.name)
		}
		if rep := m.checkValue(p.ref, body[k]); rep != nil {
			return rep
		}
	}
	return nil
}

// checkObject checks the members of a JSON object written as type t.
func (m *edmModel) checkObject(t *edmType, o map[string]json.RawMessage) *reply {
	if raw, ok := o["@odata.type"]; ok {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			dt := m.typeOf(name)
			if dt == nil || dt.kind == edmEnum {
				return schemaError("A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", strings.TrimPrefix(name, "#"))
			}
			if !dt.isA(t) {
				return schemaError("A resource with type '%s' was found, but it is not assignable to the expected type '%s'. The type specified in the resource must be equal to either the expected type or a derived type.", dt.name, t.name)
			}
			t = dt
		}
	}
	for _, k := range sortedKeys(o) {
		if strings.HasPrefix(k, "@") {
			continue
		}
		if prop, _, annotated := strings.Cut(k, "@"); annotated {
			// "members@odata.bind" annotates a property of the type.
			if t.property(prop) == nil && !dynamicAllowed(t, prop) {
				return bodyProperty(prop, t)
			}
			continue
		}
		p := t.property(k)
		if p == nil {
			if dynamicAllowed(t, k) {
				continue
			}
			return bodyProperty(k, t)
		}
		if rep := m.checkValue(p.ref, o[k]); rep != nil {
			return rep
		}
	}
	return nil
}

// checkValue checks a JSON value written as ref: the members of objects
// of structured types. Values of other shapes are left to the handlers.
func (m *edmModel) checkValue(ref edmTypeRef, raw json.RawMessage) *reply {
	t := m.structured(ref)
	if t == nil {
		return nil
	}
	if ref.coll {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		for _, it := range items {
			if rep := m.checkValue(edmTypeRef{name: ref.name}, it); rep != nil {
				return rep
			}
		}
		return nil
	}
	var o map[string]json.RawMessage
	if json.Unmarshal(raw, &o) != nil || o == nil {
		return nil
	}
	return m.checkObject(t, o)
}

// checkV1Response checks a successful v1.0 answer of the simulated
// tenant against the schema: every member of every entity and complex
// value it renders must be a property of its type (or of the derived
// type its "@odata.type" names). A violation is a fault of the simulated
// tenant, not of the client, and is answered with a 500 that names it.
func checkV1Response(c *call, tgt *schemaTarget, rep *reply) *reply {
	if tgt == nil || rep == nil || rep.err != nil || rep.body == nil || rep.status >= 300 || tgt.ref || tgt.count || tgt.value {
		return rep
	}
	raw, err := json.Marshal(rep.body)
	if err != nil {
		return rep // writeGraph answers for it
	}
	var body map[string]any
	if json.Unmarshal(raw, &body) != nil || body == nil {
		return rep
	}
	m := v1Model()
	coll := tgt.coll
	if c.method == http.MethodPost && tgt.op == nil {
		coll = false // a create answers with the entity created
	}
	var bad string
	switch {
	case coll || tgt.typ == nil:
		for _, k := range sortedKeys(body) {
			if !strings.HasPrefix(k, "@") && k != "value" {
				bad = fmt.Sprintf("member '%s' beside 'value'", k)
				break
			}
		}
		if items, ok := body["value"].([]any); ok && bad == "" && tgt.typ != nil {
			for _, it := range items {
				if o, ok := it.(map[string]any); ok {
					if bad = m.responseObject(tgt.typ, o); bad != "" {
						break
					}
				}
			}
		}
	default:
		bad = m.responseObject(tgt.typ, body)
	}
	if bad == "" {
		return rep
	}
	return graphErr(http.StatusInternalServerError, "generalException",
		"The simulated tenant's answer to "+c.method+" "+c.path()+" does not follow the Graph v1.0 schema: "+bad+".")
}

// responseObject checks a rendered object of type t and returns what is
// wrong with it, "" if nothing.
func (m *edmModel) responseObject(t *edmType, o map[string]any) string {
	if name, ok := o["@odata.type"].(string); ok {
		dt := m.typeOf(name)
		if dt == nil || !dt.isA(t) {
			return fmt.Sprintf("@odata.type '%s' where '%s' is expected", name, t.name)
		}
		t = dt
	}
	for _, k := range sortedKeys(o) {
		if strings.Contains(k, "@") {
			continue
		}
		p := t.property(k)
		if p == nil {
			if dynamicAllowed(t, k) {
				continue
			}
			return fmt.Sprintf("property '%s' on type '%s'", k, t.name)
		}
		st := m.structured(p.ref)
		if st == nil {
			continue
		}
		vals := []any{o[k]}
		if p.ref.coll {
			vals, _ = o[k].([]any)
		}
		for _, v := range vals {
			if inner, ok := v.(map[string]any); ok {
				if bad := m.responseObject(st, inner); bad != "" {
					return bad
				}
			}
		}
	}
	return ""
}
