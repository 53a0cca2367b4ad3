package fakegraph

import (
	"bytes"
	_ "embed" // the v1.0 schema
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// graphV1CSDL is Microsoft Graph's published v1.0 metadata, the
// schemas/v1.0-Prod.csdl file of github.com/microsoftgraph/msgraph-metadata
// (see schema/README.md; MIT licence in schema/LICENSE-msgraph-metadata).
//
//go:embed schema/graph-v1.0.csdl
var graphV1CSDL []byte

// edmKind is the kind of a named schema type.
type edmKind int

const (
	edmEntity edmKind = iota
	edmComplex
	edmEnum
)

// edmTypeRef is a reference to a type, as a property, parameter or
// return type names it: a qualified name ("microsoft.graph.user",
// "Edm.String") and whether it is a collection of that type.
type edmTypeRef struct {
	name string
	coll bool
}

// edmProp is a structural or navigation property.
type edmProp struct {
	name      string
	ref       edmTypeRef
	nav       bool
	contained bool
}

// edmType is an entity, complex or enum type of the schema.
type edmType struct {
	// name is the qualified name, e.g. "microsoft.graph.user".
	name     string
	kind     edmKind
	base     *edmType
	abstract bool
	open     bool
	// props holds the type's own properties by lower-case name.
	props map[string]*edmProp
	// order lists the type's own property names in schema order.
	order []string
	// derived lists the types whose base is this one.
	derived []*edmType

	baseName string
}

// edmParam is a parameter of an operation.
type edmParam struct {
	name string
	ref  edmTypeRef
}

// edmOperation is a bound action or function.
type edmOperation struct {
	// namespace and name, e.g. "microsoft.graph" and "restore".
	namespace string
	name      string
	action    bool
	// binding is the type of the binding parameter.
	binding edmTypeRef
	// params are the parameters after the binding parameter.
	params []edmParam
	// returns is the return type, nil for none.
	returns *edmTypeRef
}

// edmSource is an entity set or singleton of the entity container.
type edmSource struct {
	name      string
	typ       *edmType
	singleton bool
}

// edmModel is the part of a CSDL document the request checks need.
type edmModel struct {
	// types holds entity, complex and enum types by lower-case
	// qualified name.
	types map[string]*edmType
	// sources holds entity sets and singletons by lower-case name.
	sources map[string]*edmSource
	// bound holds bound operations by lower-case simple name.
	bound map[string][]*edmOperation
}

var (
	v1ModelOnce sync.Once
	v1ModelVal  *edmModel
)

// v1Model returns Graph's v1.0 schema, parsed once per process from the
// embedded CSDL.
func v1Model() *edmModel {
	v1ModelOnce.Do(func() {
		m, err := parseCSDL(bytes.NewReader(graphV1CSDL))
		if err != nil {
			// The document is compiled in; a test parses it.
			panic("fakegraph: the embedded Graph v1.0 schema does not parse: " + err.Error())
		}
		v1ModelVal = m
	})
	return v1ModelVal
}

// parseCSDL reads the types, properties, bound operations, entity sets
// and singletons of an EDMX/CSDL document.
func parseCSDL(r io.Reader) (*edmModel, error) {
	m := &edmModel{
		types:   map[string]*edmType{},
		sources: map[string]*edmSource{},
		bound:   map[string][]*edmOperation{},
	}
	type rawSource struct {
		name, typ string
		singleton bool
	}
	var (
		aliases  = map[string]string{}
		sources  []rawSource
		ops      []*edmOperation
		opRaw    = map[*edmOperation][]edmParam{}
		ns       string
		curType  *edmType
		curOp    *edmOperation
		bindings = map[*edmOperation]bool{}
	)
	d := xml.NewDecoder(r)
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			a := func(name string) string {
				for _, at := range el.Attr {
					if at.Name.Space == "" && at.Name.Local == name {
						return at.Value
					}
				}
				return ""
			}
			switch el.Name.Local {
			case "Schema":
				ns = a("Namespace")
				if al := a("Alias"); al != "" {
					aliases[al] = ns
				}
			case "EntityType", "ComplexType", "EnumType":
				t := &edmType{
					name:     ns + "." + a("Name"),
					baseName: a("BaseType"),
					abstract: a("Abstract") == "true",
					open:     a("OpenType") == "true",
					props:    map[string]*edmProp{},
				}
				switch el.Name.Local {
				case "EntityType":
					t.kind = edmEntity
				case "ComplexType":
					t.kind = edmComplex
				default:
					t.kind = edmEnum
				}
				key := strings.ToLower(t.name)
				if _, dup := m.types[key]; dup {
					return nil, fmt.Errorf("schema: type %s is defined twice", t.name)
				}
				m.types[key] = t
				if t.kind != edmEnum {
					curType = t
				}
			case "Property", "NavigationProperty":
				if curType == nil {
					continue
				}
				p := &edmProp{name: a("Name"), ref: parseTypeRef(a("Type")), nav: el.Name.Local == "NavigationProperty",
					contained: a("ContainsTarget") == "true"}
				key := strings.ToLower(p.name)
				if _, dup := curType.props[key]; dup {
					return nil, fmt.Errorf("schema: %s has two properties named %s", curType.name, p.name)
				}
				curType.props[key] = p
				curType.order = append(curType.order, p.name)
			case "Action", "Function":
				curOp = nil
				if a("IsBound") != "true" {
					continue
				}
				curOp = &edmOperation{namespace: ns, name: a("Name"), action: el.Name.Local == "Action"}
				ops = append(ops, curOp)
			case "Parameter":
				if curOp == nil {
					continue
				}
				p := edmParam{name: a("Name"), ref: parseTypeRef(a("Type"))}
				if !bindings[curOp] {
					curOp.binding = p.ref
					bindings[curOp] = true
					continue
				}
				opRaw[curOp] = append(opRaw[curOp], p)
			case "ReturnType":
				if curOp != nil {
					ref := parseTypeRef(a("Type"))
					curOp.returns = &ref
				}
			case "EntitySet":
				sources = append(sources, rawSource{name: a("Name"), typ: a("EntityType")})
			case "Singleton":
				sources = append(sources, rawSource{name: a("Name"), typ: a("Type"), singleton: true})
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "EntityType", "ComplexType":
				curType = nil
			case "Action", "Function":
				curOp = nil
			}
		}
	}
	if len(m.types) == 0 {
		return nil, errors.New("schema: no types")
	}
	qualify := func(name string) string {
		if strings.HasPrefix(name, "Edm.") {
			return name
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return name
		}
		if full, ok := aliases[name[:i]]; ok {
			return full + name[i:]
		}
		return name
	}
	resolve := func(name string) (*edmType, error) {
		t, ok := m.types[strings.ToLower(qualify(name))]
		if !ok {
			return nil, fmt.Errorf("schema: unknown type %s", name)
		}
		return t, nil
	}
	for _, t := range m.types {
		for _, p := range t.props {
			p.ref.name = qualify(p.ref.name)
		}
		if t.baseName == "" {
			continue
		}
		b, err := resolve(t.baseName)
		if err != nil {
			return nil, err
		}
		t.base = b
		b.derived = append(b.derived, t)
	}
	for _, op := range ops {
		op.binding.name = qualify(op.binding.name)
		for _, p := range opRaw[op] {
			p.ref.name = qualify(p.ref.name)
			op.params = append(op.params, p)
		}
		if op.returns != nil {
			op.returns.name = qualify(op.returns.name)
		}
		key := strings.ToLower(op.name)
		m.bound[key] = append(m.bound[key], op)
	}
	for _, s := range sources {
		t, err := resolve(s.typ)
		if err != nil {
			return nil, err
		}
		m.sources[strings.ToLower(s.name)] = &edmSource{name: s.name, typ: t, singleton: s.singleton}
	}
	return m, nil
}

// parseTypeRef reads "Collection(graph.x)" or "graph.x".
func parseTypeRef(s string) edmTypeRef {
	if inner, ok := strings.CutPrefix(s, "Collection("); ok {
		return edmTypeRef{name: strings.TrimSuffix(inner, ")"), coll: true}
	}
	return edmTypeRef{name: s}
}

// typeOf returns the named entity, complex or enum type (qualified name,
// any case), or nil for a primitive or unknown one.
func (m *edmModel) typeOf(name string) *edmType {
	return m.types[strings.ToLower(strings.TrimPrefix(name, "#"))]
}

// structured returns the entity or complex type a reference names, or
// nil for a primitive or enum type.
func (m *edmModel) structured(ref edmTypeRef) *edmType {
	t := m.typeOf(ref.name)
	if t == nil || t.kind == edmEnum {
		return nil
	}
	return t
}

// property finds a property of t or of one of its base types, ignoring
// case.
func (t *edmType) property(name string) *edmProp {
	key := strings.ToLower(name)
	for x := t; x != nil; x = x.base {
		if p, ok := x.props[key]; ok {
			return p
		}
	}
	return nil
}

// isA reports whether t is base or derives from it.
func (t *edmType) isA(base *edmType) bool {
	for x := t; x != nil; x = x.base {
		if x == base {
			return true
		}
	}
	return false
}

// allProps lists the names of the properties of t and its base types,
// base type first; navigation properties are included when nav is set.
func (t *edmType) allProps(nav bool) []string {
	var chain []*edmType
	for x := t; x != nil; x = x.base {
		chain = append([]*edmType{x}, chain...)
	}
	var out []string
	for _, x := range chain {
		for _, n := range x.order {
			if nav || !x.props[strings.ToLower(n)].nav {
				out = append(out, n)
			}
		}
	}
	return out
}

// cast returns the type a cast segment such as "microsoft.graph.group"
// names when it is from (or derives from it), and nil otherwise.
func (m *edmModel) cast(seg string, from *edmType) *edmType {
	if !strings.Contains(seg, ".") {
		return nil
	}
	t := m.typeOf(seg)
	if t == nil || t.kind == edmEnum || from == nil || !t.isA(from) {
		return nil
	}
	return t
}

// boundOperation finds the action or function named seg (simple or
// namespace-qualified, e.g. "restore" or "microsoft.graph.restore") that
// is bound to t, or to a collection of t when coll is set. An operation
// bound to a base type of t applies to t as well; the most derived
// binding wins.
func (m *edmModel) boundOperation(seg string, t *edmType, coll bool) *edmOperation {
	if t == nil {
		return nil
	}
	name, ns := seg, ""
	if i := strings.LastIndexByte(seg, '.'); i >= 0 {
		ns, name = seg[:i], seg[i+1:]
	}
	var best *edmOperation
	var bestDepth int
	for _, op := range m.bound[strings.ToLower(name)] {
		if op.binding.coll != coll || ns != "" && !strings.EqualFold(ns, op.namespace) {
			continue
		}
		bt := m.typeOf(op.binding.name)
		if bt == nil || !t.isA(bt) {
			continue
		}
		depth := 0
		for x := bt; x != nil; x = x.base {
			depth++
		}
		if best == nil || depth > bestDepth {
			best, bestDepth = op, depth
		}
	}
	return best
}

// param finds a parameter of op, ignoring case.
func (op *edmOperation) param(name string) *edmParam {
	for i := range op.params {
		if strings.EqualFold(op.params[i].name, name) {
			return &op.params[i]
		}
	}
	return nil
}
